import type { Clock } from '../policy/clock.js';
import type { StateStore, WriteOptions } from '../state/store.js';

/**
 * Replaces a claim with `value` (or deletes it when `value` is undefined),
 * trying each text the claim may hold: a renewal whose answer was lost may or
 * may not have landed.
 */
export async function replaceClaim(
  store: StateStore,
  key: string,
  claims: readonly string[],
  value: string | undefined,
  ttlMs: number,
  options: WriteOptions | undefined,
): Promise<boolean> {
  for (const c of claims) {
    const ok =
      value === undefined
        ? await store.compareAndDelete(key, c)
        : await store.compareAndSet(key, c, value, ttlMs, options);
    if (ok) return true;
  }
  return false;
}

/** When a write was sent, on both of the process's clocks and in the store's epoch: see `fresh` in `holdLease`. */
export interface SentAt {
  readonly mono: number;
  readonly wall: number | undefined;
  readonly epoch: number | undefined;
}

export function sentNow(clock: Clock, store: StateStore): SentAt {
  return { mono: clock.now(), wall: clock.wallNow?.(), epoch: store.epoch?.() };
}

export interface LeaseOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly key: string;
  /** The claim as written. */
  readonly first: string;
  /** When the write of `first` was sent, on `clock`: the claim holds for a lease from then. */
  readonly sentAt: SentAt;
  readonly leaseMs: number;
  /** The claim's text renewed from now (same owner, a later `until`, on the store's clock). */
  readonly renewed: () => Promise<string>;
  readonly ttlMs: number;
  /** Options of each renewal (pinned, bounded by what is left of the deadline). */
  readonly write: () => WriteOptions | undefined;
}

export interface Lease {
  /**
   * Whether the claim is surely still ours, checked just before acting on it.
   * Answered at once while a write confirmed it less than a lease ago (on
   * this process's clock, so no other clock is trusted); past that — the
   * process was paused, its renewals late — the claim is renewed first, and
   * false means another call has taken the key over.
   */
  confirm(): Promise<boolean>;
  /** Ends the renewals; gives the texts the claim may hold now. */
  stop(): Promise<readonly string[]>;
}

/**
 * Renews a claim every third of its lease while its operation runs, so that
 * a long operation is not taken for abandoned by a twin in another process.
 */
export function holdLease(o: LeaseOptions): Lease {
  let claims: string[] = [o.first];
  let stopped = false;
  let lost = false;
  // When the last write that confirmed the claim was sent: it held from then for a whole lease.
  let confirmedAt = o.sentAt;
  let timer: unknown;
  let renewing: Promise<void> = Promise.resolve();
  /**
   * Whether a lease has not passed since the last confirming write, by both
   * clocks: the monotonic one stops while the host is suspended, so after a
   * laptop's sleep it alone would call a claim fresh that the store (whose
   * clock went on) has long let lapse, and another process taken over. A wall
   * clock that stepped (either way) only costs a renewal.
   *
   * Nor is a claim fresh once the store may have forgotten it (a Redis
   * restarted without persistence comes back empty, and a twin arriving then
   * finds the key free and runs): the next attempt asks the store first, and
   * a claim that is no longer there is lost, never assumed.
   */
  const fresh = () => {
    if (o.store.epoch?.() !== confirmedAt.epoch) return false;
    if (o.clock.now() - confirmedAt.mono >= o.leaseMs) return false;
    const wall = o.clock.wallNow?.();
    if (wall === undefined || confirmedAt.wall === undefined) return true;
    const elapsed = wall - confirmedAt.wall;
    return elapsed >= 0 && elapsed < o.leaseMs;
  };
  const every = Math.max(1, o.leaseMs / 3);
  const schedule = () => {
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      renewing = renew();
    }, every);
  };
  const renew = async () => {
    try {
      const sentAt = sentNow(o.clock, o.store);
      const next = await o.renewed();
      try {
        if (await replaceClaim(o.store, o.key, claims, next, o.ttlMs, o.write())) {
          claims = [next];
          confirmedAt = sentAt;
        } else {
          // The claim is no longer ours (recorded or taken over): stop writing to it.
          stopped = true;
          lost = true;
        }
      } catch {
        // Its answer was lost: the key holds one of these, and the next write will find out which.
        claims = [next, ...claims];
      }
    } catch {
      // The store's clock could not be read: nothing was written; the next renewal tries again.
    }
    if (!stopped) schedule();
  };
  schedule();
  return {
    async confirm() {
      await renewing;
      if (lost) return false;
      if (fresh()) return true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      timer = undefined;
      renewing = renew();
      await renewing;
      return !lost && fresh();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      await renewing;
      return claims;
    },
  };
}
