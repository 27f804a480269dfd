import type { Clock } from './clock.js';
import type { Profile } from './profile.js';

/**
 * Health that many processes share about one dependency: its breaker, its
 * Retry-After cooldown and its retry budget. When one worker learns that a
 * provider is down or rate limited, every worker must know it, or N workers
 * hammer it N times over.
 *
 * The policy layer defines this interface and a store implements it (Redis,
 * in `breakwater/redis`), so the policy knows nothing of where the state
 * lives. An implementation answers from a short-lived cache when it can (no
 * I/O on the happy path), falls back to process-local state when its store
 * fails (fail open: a breaker must never stop calls because Redis is down),
 * and recovers when the store returns.
 */
export interface SharedHealth {
  /** May a call go now? Synchronous when the cached view is fresh enough to decide. */
  admit(now: number): SharedAdmission | Promise<SharedAdmission>;
  /** How the admitted call ended. `neutral`: it says nothing about health (a 4xx, a cancel). */
  record(
    permit: SharedPermit,
    outcome: 'success' | 'failure' | 'neutral',
    durationMs: number,
    now: number,
  ): Promise<void> | undefined;
  /** A 429's Retry-After: pause every caller in every process until `until`. */
  cooldown(until: number, now: number): Promise<void> | undefined;
  /** The latest cooldown any process asked for, as far as this one knows. */
  cooldownUntil(now: number): number;
  /** Counts a first attempt towards the shared retry budget (batched; no I/O of its own). */
  firstAttempt(now: number): void;
  /** Takes one retry from the shared budget if there is one left. */
  tryRetry(now: number): boolean | Promise<boolean>;
}

/** Hand back to `record`; opaque to the pipeline. */
export interface SharedPermit {
  /** The half-open generation this call probes, 0 when it is an ordinary call. */
  readonly probe: number;
  /** Admitted by the process-local fallback while the store was unavailable. */
  readonly local?: unknown;
}

export type SharedAdmission =
  | { readonly admitted: true; readonly permit: SharedPermit }
  | { readonly admitted: false; readonly reason: 'circuit_open' | 'cooldown'; readonly retryAfterMs: number };

/** Where shared health comes from: one `SharedHealth` per dependency. */
export interface SharedHealthSource {
  health(dependency: string, profile: Profile, clock: Clock): SharedHealth;
}

/** Recognizes a store that can also share health (a Redis store does; the in-process one need not). */
export function isSharedHealthSource(value: unknown): value is SharedHealthSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { health?: unknown }).health === 'function'
  );
}
