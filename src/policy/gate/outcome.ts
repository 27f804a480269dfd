import type { Failure } from '../../failure/failure.js';

/**
 * How a call that held a slot ended, for what the gate learns of the
 * dependency's rate limit: it answered, or it refused with a 429. A string,
 * not an object, because every call on the happy path says it.
 */
export type GateOutcome = 'answered' | 'rate_limited';

/**
 * What an attempt that ended with `failure` (undefined: it succeeded) tells
 * the gate. Only an answer says the dependency took the call into its
 * allowance; an attempt that timed out, lost its connection or was never
 * sent teaches nothing, and counting it as accepted would have the pacer
 * learn an allowance the dependency never granted.
 */
export function gateOutcomeOf(failure: Failure | undefined): GateOutcome | undefined {
  if (failure === undefined) return 'answered';
  // Never sent, so not the dependency's 429 (a local quota held it): it teaches nothing either.
  if (failure.kind === 'rate_limited') return failure.delivery === 'not_sent' ? undefined : 'rate_limited';
  return failure.delivery === 'processed' || failure.delivery === 'not_processed' ? 'answered' : undefined;
}
