/**
 * Node's longest timer (2^31 − 1 ms, about 24.8 days). A longer delay is not
 * honored: the timer fires after 1 ms with a TimeoutOverflowWarning. The
 * gate's waits are clamped to it; one that fires early only re-checks.
 */
export const LONGEST_TIMER_MS = 2_147_483_647;
