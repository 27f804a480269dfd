import type { AttemptRecord, Failure } from './failure.js';

/**
 * A brand that survives a package installed twice (two copies of this module
 * mean two `BreakwaterError` classes, and `instanceof` fails across them).
 */
const BRAND = Symbol.for('breakwater.error');

export type BreakwaterErrorCode =
  | 'timeout'
  | 'cancelled'
  | 'circuit_open'
  | 'rate_limited'
  | 'gate_rejected'
  | 'retry_budget_exhausted'
  | 'outcome_unknown'
  | 'dependency_failed'
  | 'fallback_failed'
  | 'invalid_input';

/** How an operation ended, in the words of promise 4. */
export type Outcome = 'failed' | 'unknown';

export interface BreakwaterErrorOptions {
  readonly failure: Failure;
  readonly attempts?: readonly AttemptRecord[];
  readonly dependency?: string;
  readonly message?: string;
  /**
   * Overrides the outcome the code implies: a cancel whose attempt may have
   * reached the dependency is a cancel, and its outcome is `unknown`.
   */
  readonly outcome?: Outcome;
}

/**
 * The base of every error a policy throws. It carries the classified failure
 * of the last attempt, the history of every attempt, and `outcome`: whether
 * the operation may have taken effect.
 */
export class BreakwaterError extends Error {
  readonly [BRAND] = true;
  readonly code: BreakwaterErrorCode;
  readonly failure: Failure;
  readonly attempts: readonly AttemptRecord[];
  readonly dependency: string | undefined;
  private readonly outcomeGiven: Outcome | undefined;

  constructor(code: BreakwaterErrorCode, options: BreakwaterErrorOptions) {
    super(options.message ?? describe(code, options), { cause: options.failure.cause });
    this.code = code;
    this.failure = options.failure;
    this.attempts = options.attempts ?? [];
    this.dependency = options.dependency;
    this.outcomeGiven = options.outcome;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** `unknown` only when the operation may have taken effect and we could not find out. */
  get outcome(): Outcome {
    return this.outcomeGiven ?? (this.code === 'outcome_unknown' ? 'unknown' : 'failed');
  }

  /** Whether the same call, made again later, could succeed. */
  get retryable(): boolean {
    switch (this.failure.kind) {
      case 'client_error':
      case 'auth':
      case 'invalid_input':
      case 'cancelled':
        return false;
      default:
        return this.outcome !== 'unknown' && this.failure.shouldRetry !== false;
    }
  }
}

function describe(code: BreakwaterErrorCode, o: BreakwaterErrorOptions): string {
  const on = o.dependency ? ` on ${o.dependency}` : '';
  const n = o.attempts?.length ?? 0;
  const after = n > 1 ? ` after ${n} attempts` : '';
  const why = o.failure.message;
  switch (code) {
    case 'timeout':
      return `timed out${on}${after}: ${why}`;
    case 'cancelled':
      return `cancelled by the caller${on}${after}`;
    case 'circuit_open':
      return `circuit open${on}: call not attempted`;
    case 'rate_limited':
      return `rate limited${on}${after}: ${why}`;
    case 'gate_rejected':
      return `rejected by the gate${on}: ${why}`;
    case 'retry_budget_exhausted':
      return `retry budget exhausted${on}${after}: ${why}`;
    case 'outcome_unknown':
      return `outcome unknown${on}${after}: the operation may have taken effect (${why})`;
    case 'invalid_input':
      return `invalid input${on}: ${why}`;
    case 'dependency_failed':
      return `failed${on}${after}: ${why}`;
    case 'fallback_failed':
      return `the fallback failed${on}, after: ${why}`;
  }
}

export class TimeoutError extends BreakwaterError {
  /** Which clock ran out: one attempt's, or the whole operation's deadline. */
  readonly scope: 'attempt' | 'deadline';
  constructor(options: BreakwaterErrorOptions & { scope: 'attempt' | 'deadline' }) {
    super('timeout', options);
    this.scope = options.scope;
  }
}

export class CancelledError extends BreakwaterError {
  constructor(options: BreakwaterErrorOptions) {
    super('cancelled', options);
  }
}

export class CircuitOpenError extends BreakwaterError {
  /** When the breaker will next admit a probe, from now. */
  readonly retryAfterMs: number | undefined;
  constructor(options: BreakwaterErrorOptions) {
    super('circuit_open', options);
    this.retryAfterMs = options.failure.retryAfterMs;
  }
}

export class RateLimitedError extends BreakwaterError {
  readonly retryAfterMs: number | undefined;
  constructor(options: BreakwaterErrorOptions) {
    super('rate_limited', options);
    this.retryAfterMs = options.failure.retryAfterMs;
  }
}

export type GateRejection = 'queue_full' | 'queue_timeout';

export class GateRejectedError extends BreakwaterError {
  readonly reason: GateRejection;
  constructor(options: BreakwaterErrorOptions & { reason: GateRejection }) {
    super('gate_rejected', options);
    this.reason = options.reason;
  }
}

export class RetryBudgetExhaustedError extends BreakwaterError {
  constructor(options: BreakwaterErrorOptions) {
    super('retry_budget_exhausted', options);
  }
}

export class OutcomeUnknownError extends BreakwaterError {
  constructor(options: BreakwaterErrorOptions) {
    super('outcome_unknown', options);
  }
}

export class DependencyFailedError extends BreakwaterError {
  constructor(options: BreakwaterErrorOptions) {
    super('dependency_failed', options);
  }
}

/** Where a rejected result is kept: off the error's own properties, so that logging the error never prints it. */
const REJECTED_RESULTS = new WeakMap<object, unknown>();

/**
 * The dependency answered, and a result predicate (`failOnResult`) said the
 * answer is a failure: an image API's 200 without an image, a model's empty
 * answer. `failure.kind` is the kind the predicate chose; `result` is the
 * answer itself (not shown when the error is logged: it is content). For a
 * non-idempotent call the call did happen, so its outcome is `unknown` and
 * it is never repeated.
 */
export class ResultRejectedError extends DependencyFailedError {
  constructor(options: BreakwaterErrorOptions & { readonly result: unknown }) {
    super(options);
    REJECTED_RESULTS.set(this, options.result);
  }

  /** The answer the predicate rejected. */
  get result(): unknown {
    return REJECTED_RESULTS.get(this);
  }
}

/**
 * A fallback threw. The caller sees this, never a fallback's bare error: it
 * keeps the original failure (`failure`, `attempts`, and `outcome`, so a
 * call that may have taken effect still says so), its `cause` is the
 * original error, and `fallbackError` is what the fallback threw (whose
 * message is not copied: it may quote content).
 */
export class FallbackFailedError extends BreakwaterError {
  readonly fallbackError: unknown;

  constructor(original: BreakwaterError, fallbackError: unknown) {
    super('fallback_failed', {
      failure: original.failure,
      attempts: original.attempts,
      ...(original.dependency !== undefined ? { dependency: original.dependency } : {}),
      outcome: original.outcome,
      message: `the fallback threw ${thrownName(fallbackError)}${original.dependency ? ` on ${original.dependency}` : ''}, after: ${original.message}`,
    });
    Object.defineProperty(this, 'cause', {
      value: original,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    this.fallbackError = fallbackError;
  }
}

function thrownName(value: unknown): string {
  if (value instanceof Error) return value.name || 'Error';
  return value === null ? 'null' : typeof value;
}

export interface InputIssue {
  /** Dotted path of the offending field, `''` for the whole input. */
  readonly path: string;
  readonly message: string;
}

export class InvalidInputError extends BreakwaterError {
  readonly issues: readonly InputIssue[];
  constructor(options: BreakwaterErrorOptions & { issues: readonly InputIssue[] }) {
    super('invalid_input', options);
    this.issues = options.issues;
  }
}

/** Recognizes a breakwater error from any copy of the package; narrows by code when given. */
export function isBreakwaterError(value: unknown): value is BreakwaterError;
export function isBreakwaterError<C extends BreakwaterErrorCode>(
  value: unknown,
  code: C,
): value is BreakwaterError & { code: C };
export function isBreakwaterError(value: unknown, code?: BreakwaterErrorCode): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}
