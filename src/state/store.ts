/**
 * Where state shared between calls lives. The operations are the few a
 * single Redis command or Lua script can do atomically, so that a Redis
 * store can follow the in-process one without changing its callers:
 *
 * - `setIfAbsent`: `SET key value NX PX ttl GET` (Redis 7), one round trip;
 * - `get`: `GET key`;
 * - `compareAndSet` / `compareAndDelete`: a short Lua script comparing the
 *   current value before writing or deleting.
 *
 * Values are strings (JSON, by convention) because that is what crosses a
 * network; the in-process store keeps them as strings too, so nothing that
 * works in memory can break when the store moves out of the process.
 */
export interface StateStore {
  /**
   * Writes `value` under `key` for `ttlMs`, only if the key holds nothing.
   * Otherwise writes nothing and returns what the key holds.
   */
  setIfAbsent(key: string, value: string, ttlMs: number, options?: WriteOptions): Promise<SetIfAbsentResult>;
  /** The value under `key`, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Replaces the value with `value` for `ttlMs`, only if the key still holds `expected`. */
  compareAndSet(
    key: string,
    expected: string,
    value: string,
    ttlMs: number,
    options?: WriteOptions,
  ): Promise<boolean>;
  /** Deletes the key, only if it still holds `expected`. */
  compareAndDelete(key: string, expected: string): Promise<boolean>;
  /**
   * The store's own time in milliseconds, the one clock every process sharing
   * the store agrees on (Redis's `TIME`). A lease written by one process is
   * read by another: stamped with either process's clock, a skew between
   * hosts larger than the lease grace would make a live claim look abandoned.
   * A store used by one process only may leave it out; the ledger then uses
   * its own clock.
   */
  now?(): Promise<number>;
  /**
   * A number that changes whenever the store may have forgotten what it held
   * (the Redis store: its connection closed, and a Redis restarted without
   * persistence comes back empty). The ledger trusts a claim it confirmed
   * less than a lease ago only while this has not changed; past a change it
   * asks the store again before the next attempt. A store that cannot forget
   * (the in-process one) leaves it out.
   */
  epoch?(): number;
}

/**
 * The contract every write keeps besides its options: a write whose promise
 * rejected never takes effect later. A caller that was told "failed" acts on
 * it (the ledger tells its caller nothing ran), so a write landing after
 * that would leave a record for something that never happened.
 */
export interface WriteOptions {
  /**
   * The record must not be forgotten before its TTL: a store that makes room
   * by evicting (the in-process one) evicts only unpinned records, and
   * refuses a new key with `StoreFullError` when only pinned ones are left.
   */
  readonly pin?: boolean;
  /**
   * How long the caller waits for this write (what is left of its deadline).
   * A store that answers over a network rejects by then, and refuses the
   * write should it arrive later; an in-process store answers at once.
   */
  readonly timeoutMs?: number;
}

/** A bounded store holds only records it must not forget: a new key cannot be written until some expire. */
export class StoreFullError extends Error {
  constructor(readonly maxEntries: number) {
    super(
      `state store full: all ${maxEntries} entries are records that must not be forgotten before they expire (claims in flight, outcomes unknown)`,
    );
    this.name = 'StoreFullError';
  }
}

export type SetIfAbsentResult =
  | { readonly written: true }
  | { readonly written: false; readonly current: string };

/** A TTL that a store can honor: a positive, finite number of milliseconds. */
export function checkTtl(ttlMs: number): void {
  // Bounded above: what Redis takes as PX (its expiry must fit in 64 bits) and what a double holds exactly.
  if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `ttlMs: expected a positive number of milliseconds up to ${Number.MAX_SAFE_INTEGER}, got ${ttlMs}`,
    );
  }
}
