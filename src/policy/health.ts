import type { BreakerSnapshot, BreakerState, BreakerTransition } from './breaker.js';
import type { Clock } from './clock.js';
import type { Profile } from './profile.js';

/** Hand back to `record` exactly once; opaque to the pipeline. */
export interface HealthPermit {
  /** The half-open generation this call probes; 0 for an ordinary call. */
  readonly probe: number;
}

export type Admission =
  | { readonly admitted: true; readonly permit: HealthPermit }
  | { readonly admitted: false; readonly retryAfterMs: number };

/** What an attempt's ending says of the dependency's health. `neutral`: nothing (a 4xx, a cancel). */
export type HealthVerdict = 'success' | 'failure' | 'neutral';

/**
 * One dependency's health: its breaker, its Retry-After cooldown and its
 * retry budget. The pipeline knows only this contract, so it has one path
 * whether the state lives in this process (`localHealth`) or is shared by
 * every process through a store (Redis, in `breakwater/redis`).
 *
 * Calls are synchronous when the answer is known here (the happy path: no
 * I/O, no allocation); a shared implementation returns a promise when it must
 * ask its store, and fails open (decides locally) when the store is away.
 */
export interface Health {
  /** The breaker's state (`closed` when the profile has no breaker). */
  readonly state: BreakerState;
  /** May a call go now? */
  admit(now: number): Admission | Promise<Admission>;
  /**
   * After a wait in the gate's queue: may the admitted call still go? False
   * when the breaker opened meanwhile (and the permit is then released).
   */
  stillAdmitted(permit: HealthPermit, now: number): boolean;
  /**
   * How the admitted call ended. A failure's record is returned, to be awaited before the call reports it.
   * It should not reject (health fails open); if it does, the call's own outcome stands and its slot is freed.
   */
  record(
    permit: HealthPermit,
    verdict: HealthVerdict,
    durationMs: number,
    now: number,
  ): Promise<void> | undefined;
  /** Until an open breaker admits a probe, from now; 0 when it is not open. */
  retryAfterMs(now: number): number;
  /**
   * A 429's Retry-After: pause every caller (in every process, when shared)
   * for `ms`, capped at `gate.maxCooldownMs`. Returns the pause applied.
   */
  cooldown(ms: number, now: number): { readonly ms: number; readonly recorded: Promise<void> | undefined };
  /** The end of the latest pause any caller asked for, as far as this process knows. */
  cooldownUntil(now: number): number;
  /** Counts a first attempt towards the retry budget. */
  firstAttempt(now: number): void;
  /** Takes one retry from the budget if there is one left. */
  tryRetry(now: number): boolean | Promise<boolean>;
  /** Every change of the breaker's state seen by this process (shared ones included). */
  onTransition(listener: (t: BreakerTransition) => void): () => void;
  snapshot(now?: number): BreakerSnapshot;
  /** Holds the breaker open until the returned function is called (cockatiel's `isolate`). */
  isolate(): () => void;
  /** Stops the breaker from opening (Resilience4j's DISABLED); `reset()` re-arms it. */
  disable(): void;
  reset(): void;
  /** One failure observed outside an attempt (a stream that broke after its 200): counts against the breaker. */
  failure(now?: number): void;
}

/** Where health comes from: a store that shares it between processes implements this. */
export interface HealthSource {
  health(dependency: string, profile: Profile, clock: Clock): Health;
}

/** Recognizes a store that can also share health (a Redis store does; the in-process one need not). */
export function isHealthSource(value: unknown): value is HealthSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { health?: unknown }).health === 'function'
  );
}

/**
 * A Retry-After is capped for everyone else: one `Retry-After: 86399` must
 * not pause every caller for a day. The caller that received it decides for
 * itself (`retry.maxRetryAfterMs`).
 */
export function cappedCooldown(ms: number, profile: Profile): number {
  const cap = profile.gate === false ? DEFAULT_MAX_COOLDOWN_MS : profile.gate.maxCooldownMs;
  return Math.min(ms, cap);
}

/**
 * A minute: rate limits that reset within it (per-minute quotas, the usual
 * 429) are honored in full; a longer Retry-After (a daily quota, a bad
 * header) is met with a probe a minute, which costs the dependency nothing.
 */
export const DEFAULT_MAX_COOLDOWN_MS = 60_000;
