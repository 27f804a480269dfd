import { ResultRejectedError } from '../failure/errors.js';
import type { Failure, FailureKind } from '../failure/failure.js';
import type { Effect } from './decision.js';

/**
 * The kinds a rejected result may be counted as: what a dependency's answer
 * can mean. Not the kinds the policy itself produces (`circuit_open`,
 * `gate_rejected`, `cancelled`) nor `invalid_input` (input refused before
 * anything ran): a result exists, so the call ran.
 */
export type ResultFailureKind = Exclude<
  FailureKind,
  'circuit_open' | 'gate_rejected' | 'cancelled' | 'invalid_input'
>;

/** The kinds a result can be counted as (and a chaos fault can inject). */
export const RESULT_FAILURE_KINDS: readonly ResultFailureKind[] = [
  'timeout',
  'rate_limited',
  'overloaded',
  'server_error',
  'network',
  'conflict',
  'client_error',
  'auth',
  'unknown',
];

export function isResultFailureKind(value: unknown): value is ResultFailureKind {
  return typeof value === 'string' && (RESULT_FAILURE_KINDS as readonly string[]).includes(value);
}

/** What a result predicate says of a bad answer: the kind to count it as, and why (our words, no content). */
export interface ResultFailure {
  /** Default `unknown`, which every built-in profile's breaker counts. */
  readonly kind?: ResultFailureKind;
  /** Shown in the error and to a model: write it free of the answer's content. */
  readonly message?: string;
}

/**
 * Says whether an answer is a failure (Polly's `ShouldHandle` on results,
 * cockatiel's `handleResultType`): `false` or `undefined` for a good answer,
 * `true` (kind `unknown`) or a `ResultFailure` for a bad one.
 */
export type FailOnResult<T> = (value: T) => boolean | ResultFailure | undefined;

/** The code of every failure made from a rejected result (and of `retryOnResult`'s). */
export const RESULT_REJECTED_CODE = 'result_rejected';

interface Rejected {
  readonly value: unknown;
  readonly effect: Effect;
}

/**
 * The answer and the effect behind each failure made from a result, off the
 * failure itself: a failure is data that telemetry and logs read, the answer
 * is content.
 */
const REJECTED = new WeakMap<Failure, Rejected>();

function failureFrom(
  kind: ResultFailureKind,
  message: string,
  cause: unknown,
  value: unknown,
  effect: Effect,
): Failure {
  // `processed`: the dependency surely answered. The retry decision then repeats it only for a safe effect.
  const f: Failure = { kind, delivery: 'processed', code: RESULT_REJECTED_CODE, message, cause };
  REJECTED.set(f, { value, effect });
  return f;
}

/**
 * The failure a predicate makes of `value`, or undefined for a good answer.
 * A predicate that throws, or answers something it may not, rejects the
 * result (an answer that cannot be judged cannot be trusted), saying so.
 */
export function judgeResult<T>(predicate: FailOnResult<T>, value: T, effect: Effect): Failure | undefined {
  let verdict: ReturnType<FailOnResult<T>>;
  try {
    verdict = predicate(value);
  } catch (err) {
    const name = err instanceof Error ? err.name : typeof err;
    return failureFrom('unknown', `failOnResult threw ${name}`, err, value, effect);
  }
  if (verdict === false || verdict === undefined) return undefined;
  if (verdict === true)
    return failureFrom('unknown', 'result rejected by failOnResult', undefined, value, effect);
  if (typeof verdict !== 'object' || verdict === null)
    return failureFrom(
      'unknown',
      `failOnResult answered ${verdict === null ? 'null' : typeof verdict}, not a boolean or { kind, message }`,
      undefined,
      value,
      effect,
    );
  const kind = verdict.kind ?? 'unknown';
  if (!isResultFailureKind(kind))
    return failureFrom(
      'unknown',
      `failOnResult answered kind "${String(kind).slice(0, 32)}", not one a result can have (${RESULT_FAILURE_KINDS.join(', ')})`,
      undefined,
      value,
      effect,
    );
  const message =
    typeof verdict.message === 'string' && verdict.message !== ''
      ? `result rejected: ${verdict.message}`
      : 'result rejected by failOnResult';
  return failureFrom(kind, message, undefined, value, effect);
}

/** The typed error for a failure made from a result; undefined for any other failure. */
export function resultRejectedError(
  failure: Failure,
  context: { readonly attempts: ResultRejectedError['attempts']; readonly dependency: string },
): ResultRejectedError | undefined {
  const r = REJECTED.get(failure);
  if (r === undefined) return undefined;
  return new ResultRejectedError({
    failure,
    attempts: context.attempts,
    dependency: context.dependency,
    result: r.value,
    // A non-idempotent call that answered did happen: it may have taken effect, whatever its answer said.
    outcome: r.effect === 'non-idempotent' ? 'unknown' : 'failed',
  });
}
