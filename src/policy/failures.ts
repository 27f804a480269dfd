import {
  type BreakwaterError,
  CancelledError,
  CircuitOpenError,
  DependencyFailedError,
  GateRejectedError,
  OutcomeUnknownError,
  RateLimitedError,
  TimeoutError,
} from '../failure/errors.js';
import type { AttemptRecord, Failure } from '../failure/failure.js';
import { resultRejectedError } from './result-failure.js';

/**
 * The failures the policy itself produces (it refused, waited too long, was
 * cancelled), built in one place so that every stage says "circuit open" the
 * same way, and the one mapping from a failure to the typed error thrown.
 */

/** Why a call met an open breaker, for its message. */
export type OpenBreakerMoment = 'before' | 'queued' | 'retrying';

export function circuitOpen(retryAfterMs: number, moment: OpenBreakerMoment, cause?: unknown): Failure {
  const message =
    moment === 'queued'
      ? `breaker opened while queued; open for another ${retryAfterMs} ms`
      : moment === 'retrying'
        ? `breaker open for another ${retryAfterMs} ms: not retrying`
        : `breaker open for another ${retryAfterMs} ms`;
  return { kind: 'circuit_open', delivery: 'not_sent', retryAfterMs, message, cause };
}

export function deadlineBeforeAttempt(): Failure {
  return {
    kind: 'timeout',
    delivery: 'not_sent',
    code: 'deadline',
    message: 'deadline reached before the attempt',
    cause: undefined,
  };
}

/** The caller aborted while nothing was in flight: nothing was sent. */
export function cancelledWhile(doing: string, reason: unknown): Failure {
  return { kind: 'cancelled', delivery: 'not_sent', message: `cancelled ${doing}`, cause: reason };
}

/** A result `retryOnResult` turned down: tried again like a failure that reached the dependency. */
export const RESULT_REJECTED: Failure = Object.freeze({
  kind: 'unknown',
  delivery: 'processed',
  code: 'result_rejected',
  message: 'result rejected by retryOnResult',
  cause: undefined,
});

export interface ErrorContext {
  readonly attempts: readonly AttemptRecord[];
  readonly dependency: string;
  /** The call may have taken effect and nothing settled it: the truth is "unknown". */
  readonly unknown?: boolean;
}

/** The typed error for a failure that ends an operation. */
export function errorFor(failure: Failure, context: ErrorContext): BreakwaterError {
  const o = { failure, attempts: context.attempts, dependency: context.dependency };
  if (context.unknown) return new OutcomeUnknownError(o);
  const rejected = resultRejectedError(failure, o);
  if (rejected !== undefined) return rejected;
  switch (failure.kind) {
    case 'timeout':
      return new TimeoutError({ ...o, scope: failure.code === 'deadline' ? 'deadline' : 'attempt' });
    case 'cancelled':
      return new CancelledError(o);
    case 'rate_limited':
      return new RateLimitedError(o);
    case 'circuit_open':
      return new CircuitOpenError(o);
    case 'gate_rejected':
      return new GateRejectedError({
        ...o,
        reason: failure.code === 'queue_timeout' ? 'queue_timeout' : 'queue_full',
      });
    default:
      return new DependencyFailedError(o);
  }
}

/**
 * For an attempt that awaited something of its own between its admission and
 * its request (a ledger's claim check, a deployment's quota): the breaker
 * that admitted it may have opened meanwhile, on another call's failure, and
 * a call must not reach a dependency whose breaker is open. Throws the
 * `circuit_open` refusal (not sent) then; the pipeline releases the permit
 * as for any refusal.
 */
export function refuseIfOpened(
  breaker: { readonly state: string; retryAfterMs(now: number): number } | undefined,
  now: number,
  dependency: string,
): void {
  if (breaker === undefined || (breaker.state !== 'open' && breaker.state !== 'isolated')) return;
  throw errorFor(circuitOpen(breaker.retryAfterMs(now), 'before'), { attempts: [], dependency });
}
