/**
 * How a call that held a slot ended, for what the gate learns of the
 * dependency's rate limit: it answered, or it refused with a 429. A string,
 * not an object, because every call on the happy path says it.
 */
export type GateOutcome = 'answered' | 'rate_limited';
