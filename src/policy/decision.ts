import type { Failure } from '../failure/failure.js';

export type Effect = 'idempotent' | 'non-idempotent';

/**
 * `reconcile`: the operation may have taken effect and must not be blindly
 * repeated; ask the tool's reconcile hook, else report *outcome unknown*.
 */
export type RetryVerdict = 'retry' | 'stop' | 'reconcile';

/**
 * The retry decision table (docs/policies.md), as a pure function. Limits (attempts,
 * budget, deadline) are applied by the retry loop on top of it.
 */
export function decideRetry(failure: Failure, effect: Effect, keyHonored: boolean): RetryVerdict {
  const safe = effect === 'idempotent' || keyHonored;
  switch (failure.kind) {
    case 'cancelled':
    case 'invalid_input':
    case 'circuit_open':
    case 'gate_rejected':
      return 'stop';
    case 'conflict':
      // The same key still in flight upstream: only a repeat under that key is safe.
      return safe ? 'retry' : 'stop';
    default:
      break;
  }
  // A rejected result: the call surely happened and answered. Only a safe effect repeats it, and not a
  // definite refusal; never reconcile (the effect is not in doubt, only the answer is bad).
  if (failure.code === 'result_rejected')
    return safe && failure.kind !== 'client_error' && failure.kind !== 'auth' ? 'retry' : 'stop';
  if (failure.shouldRetry === false) return 'stop';
  switch (failure.delivery) {
    case 'not_sent':
    case 'not_processed':
      return 'retry';
    case 'unknown':
      return safe ? 'retry' : 'reconcile';
    case 'processed':
      return 'stop';
  }
}
