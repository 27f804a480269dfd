import {
  type BreakwaterError,
  FallbackFailedError,
  type InputIssue,
  isBreakwaterError,
} from '../failure/errors.js';
import { FAILURE_KINDS, type FailureKind } from '../failure/failure.js';
import type { PolicyParts } from './operation.js';

/** What a fallback function is given besides the error. */
export interface FallbackContext {
  /** The caller's signal, if any: a fallback that does I/O should pass it on. */
  readonly signal: AbortSignal | undefined;
}

interface FallbackRule {
  /**
   * The failure kinds it answers. Default: every kind but `cancelled` (the
   * caller asked to stop) and `invalid_input` (a mistake to fix, not to hide).
   */
  readonly kinds?: readonly FailureKind[];
  /**
   * Whether it may answer a call that may have taken effect (`outcome:
   * 'unknown'`: a payment that timed out after it was sent; any failure of a
   * non-idempotent call whose answer was rejected). Default `'throw'`: the
   * caller must hear that the effect may have happened, not get a stand-in
   * that says it did not. `'fallback'` only when the stand-in is harmless
   * either way (a placeholder image).
   */
  readonly unknownOutcome?: 'throw' | 'fallback';
}

/** Answer with this value instead of the failure. */
export interface FallbackValue<T> extends FallbackRule {
  readonly value: T;
}

/** Answer with what this function returns, given the error that ended the operation. */
export interface FallbackRun<T> extends FallbackRule {
  run(error: BreakwaterError, context: FallbackContext): T | Promise<T>;
}

/**
 * The last stage of a policy, outside retries and the breaker (cockatiel's
 * and opossum's `fallback`, Polly's fallback strategy): a value, or a
 * function of the error, for the failure kinds chosen.
 */
export type Fallback<T> = FallbackValue<T> | FallbackRun<T>;

const DEFAULT_KINDS: ReadonlySet<FailureKind> = new Set(
  FAILURE_KINDS.filter((k) => k !== 'cancelled' && k !== 'invalid_input'),
);
const KNOWN_KINDS: ReadonlySet<string> = new Set(FAILURE_KINDS);

/** Every problem with a fallback, each naming its field under `path` (`fallback` in run options, a tool spec). */
export function fallbackIssues(fallback: unknown, path = 'fallback'): InputIssue[] {
  if (typeof fallback !== 'object' || fallback === null)
    return [{ path, message: 'must be { value } or { run }' }];
  const f = fallback as Record<string, unknown>;
  const issues: InputIssue[] = [];
  const hasValue = Object.hasOwn(f, 'value');
  const hasRun = f.run !== undefined;
  if (hasValue === hasRun)
    issues.push({ path, message: 'must have exactly one of value (an answer) and run (a function)' });
  if (hasRun && typeof f.run !== 'function')
    issues.push({ path: `${path}.run`, message: 'must be a function' });
  if (f.kinds !== undefined) {
    if (!Array.isArray(f.kinds) || f.kinds.length === 0)
      issues.push({ path: `${path}.kinds`, message: 'must be a non-empty array of failure kinds' });
    else
      for (const [i, k] of f.kinds.entries())
        if (typeof k !== 'string' || !KNOWN_KINDS.has(k))
          issues.push({
            path: `${path}.kinds.${i}`,
            message: `must be one of ${FAILURE_KINDS.join(', ')}`,
          });
  }
  if (f.unknownOutcome !== undefined && f.unknownOutcome !== 'throw' && f.unknownOutcome !== 'fallback')
    issues.push({ path: `${path}.unknownOutcome`, message: 'must be "throw" or "fallback"' });
  return issues;
}

/** Whether the fallback answers `err`. */
function answers(fallback: Fallback<unknown>, err: unknown): err is BreakwaterError {
  if (!isBreakwaterError(err)) return false;
  if (err.outcome === 'unknown' && fallback.unknownOutcome !== 'fallback') return false;
  const kind = err.failure.kind;
  return fallback.kinds === undefined ? DEFAULT_KINDS.has(kind) : fallback.kinds.includes(kind);
}

/**
 * The fallback stage: the operation's failure, if the fallback answers it,
 * becomes the fallback's answer (an event says so); a fallback that throws
 * ends the operation with `FallbackFailedError`, the original as its cause.
 */
export async function withFallback<T>(
  parts: PolicyParts,
  running: Promise<T>,
  fallback: Fallback<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  try {
    return await running;
  } catch (err) {
    if (!answers(fallback as Fallback<unknown>, err)) throw err;
    parts.emit({
      type: 'fallback_used',
      dependency: parts.dependency,
      failure: err.failure,
      outcome: err.outcome,
    });
    if ('value' in fallback) return fallback.value;
    try {
      return await fallback.run(err, { signal });
    } catch (thrown) {
      throw new FallbackFailedError(err, thrown);
    }
  }
}
