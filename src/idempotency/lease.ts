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

export interface LeaseOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly key: string;
  /** The claim as written. */
  readonly first: string;
  readonly leaseMs: number;
  /** The claim's text renewed from now (same owner, a later `until`). */
  readonly renewed: () => string;
  readonly ttlMs: number;
  /** Options of each renewal (pinned, bounded by what is left of the deadline). */
  readonly write: () => WriteOptions | undefined;
}

export interface Lease {
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
  let timer: unknown;
  let renewing: Promise<void> = Promise.resolve();
  const every = Math.max(1, o.leaseMs / 3);
  const schedule = () => {
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      renewing = renew();
    }, every);
  };
  const renew = async () => {
    const next = o.renewed();
    try {
      if (await replaceClaim(o.store, o.key, claims, next, o.ttlMs, o.write())) claims = [next];
      else stopped = true; // The claim is no longer ours (recorded or taken over): stop writing to it.
    } catch {
      // Its answer was lost: the key holds one of these, and the next write will find out which.
      claims = [next, ...claims];
    }
    if (!stopped) schedule();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      await renewing;
      return claims;
    },
  };
}
