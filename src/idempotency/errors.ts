import { DependencyFailedError, InvalidInputError, OutcomeUnknownError } from '../failure/errors.js';

/**
 * The same idempotency key arrived with different input (Stripe answers this
 * with a 400): either a bug in key derivation or two operations sharing a
 * key. Running it could return the first operation's result for the second.
 */
export class IdempotencyKeyReusedError extends InvalidInputError {
  constructor(dependency: string | undefined) {
    const message = 'idempotency key already used with different input';
    super({
      failure: { kind: 'invalid_input', delivery: 'not_sent', code: 'key_reused', message, cause: undefined },
      issues: [{ path: '', message }],
      dependency,
      message: `${message}${dependency ? ` on ${dependency}` : ''}: not run`,
    });
  }
}

/**
 * A twin with the same key was still running when this call stopped waiting
 * for it: whether the operation takes effect is not known yet. Calling again
 * with the same key later gets its result.
 */
export class OperationInFlightError extends OutcomeUnknownError {
  constructor(dependency: string | undefined, reason: 'deadline' | 'cancelled' | 'taken_over') {
    const why =
      reason === 'deadline'
        ? 'the deadline passed'
        : reason === 'cancelled'
          ? 'the caller cancelled'
          : "this call's claim lapsed before it ran (its process was paused past its lease, or a store restarted without persistence forgot it)";
    super({
      failure: {
        kind: reason === 'deadline' ? 'timeout' : reason === 'cancelled' ? 'cancelled' : 'unknown',
        delivery: 'not_sent',
        code: 'in_flight',
        message: `${why} while another call with the same idempotency key was in flight`,
        cause: undefined,
      },
      dependency,
      message: `outcome unknown${dependency ? ` on ${dependency}` : ''}: ${why} while another call with the same idempotency key was still in flight; call again with the same key to get its result`,
    });
  }
}

/**
 * An earlier call with this key may have taken effect and nobody could find
 * out. Running again could do it twice, so the ledger refuses.
 */
export class PreviousOutcomeUnknownError extends OutcomeUnknownError {
  constructor(dependency: string | undefined, reason: string) {
    super({
      failure: {
        kind: 'unknown',
        delivery: 'not_sent',
        code: 'previous_outcome_unknown',
        message: reason,
        cause: undefined,
      },
      dependency,
      message: `outcome unknown${dependency ? ` on ${dependency}` : ''}: an earlier call with this idempotency key may have taken effect (${reason}); not running it again`,
    });
  }
}

/** The earlier call succeeded, but its result could not be stored, so it cannot be replayed. */
export class ReplayUnavailableError extends DependencyFailedError {
  constructor(dependency: string | undefined) {
    const message = 'an earlier call with this idempotency key succeeded, but its result could not be stored';
    super({
      failure: {
        kind: 'unknown',
        delivery: 'not_sent',
        code: 'replay_unavailable',
        message,
        cause: undefined,
      },
      dependency,
      message: `${message}${dependency ? ` (${dependency})` : ''}; not running it again`,
    });
  }

  override get retryable(): boolean {
    return false;
  }
}

/** The state store did not answer: without the ledger, a keyed operation is not run. */
export class LedgerUnavailableError extends DependencyFailedError {
  constructor(
    dependency: string | undefined,
    cause: unknown,
    why: { code: string; message: string } = {
      code: 'ledger_unavailable',
      message: 'the idempotency ledger is unavailable',
    },
  ) {
    super({
      failure: { kind: 'unknown', delivery: 'not_sent', code: why.code, message: why.message, cause },
      dependency,
    });
  }
}

/**
 * The in-process ledger holds as many records as it may, and every one is a
 * claim in flight, an unknown outcome or the result of an operation unsafe
 * to repeat: a new key cannot be recorded, so the call is not run.
 * Retryable: claims end, and records expire.
 */
export class LedgerFullError extends LedgerUnavailableError {
  constructor(dependency: string | undefined, cause: unknown) {
    super(dependency, cause, {
      code: 'ledger_full',
      message:
        "the idempotency ledger is full of calls in flight and outcomes it must not forget; not run (raise the store's maxEntries, or use a shared store)",
    });
  }
}
