import { CancelledError, GateRejectedError, RateLimitedError, TimeoutError } from '../../failure/errors.js';

/** The typed errors a caller leaves the gate with when it is not admitted. */

/** The gate cannot admit the caller before it gives up: it goes at once, so a router can move on. */
export function unreachable(waitMs: number, why: string, dependency: string | undefined): RateLimitedError {
  return new RateLimitedError({
    failure: {
      kind: 'rate_limited',
      delivery: 'not_sent',
      retryAfterMs: waitMs,
      message: `${why} for ${waitMs} ms, longer than this call may wait`,
      cause: undefined,
    },
    dependency,
  });
}

export function queueFull(maxQueue: number, dependency: string | undefined): GateRejectedError {
  return new GateRejectedError({
    reason: 'queue_full',
    failure: gateFailure(`queue full (${maxQueue} waiting)`),
    dependency,
  });
}

export function queueTimeout(
  queueTimeoutMs: number | null,
  dependency: string | undefined,
): GateRejectedError {
  return new GateRejectedError({
    reason: 'queue_timeout',
    failure: gateFailure(`no slot within ${queueTimeoutMs} ms`),
    dependency,
  });
}

export function deadlineInQueue(dependency: string | undefined): TimeoutError {
  return new TimeoutError({
    scope: 'deadline',
    failure: {
      kind: 'timeout',
      delivery: 'not_sent',
      code: 'deadline',
      message: 'deadline reached while waiting in the gate queue',
      cause: undefined,
    },
    dependency,
  });
}

export function cancelled(reason: unknown, dependency: string | undefined): CancelledError {
  return new CancelledError({
    failure: {
      kind: 'cancelled',
      delivery: 'not_sent',
      message: 'cancelled while waiting for the gate',
      cause: reason,
    },
    dependency,
  });
}

function gateFailure(message: string) {
  return { kind: 'gate_rejected', delivery: 'not_sent', message, cause: undefined } as const;
}
