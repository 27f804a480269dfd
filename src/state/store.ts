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
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<SetIfAbsentResult>;
  /** The value under `key`, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Replaces the value with `value` for `ttlMs`, only if the key still holds `expected`. */
  compareAndSet(key: string, expected: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key, only if it still holds `expected`. */
  compareAndDelete(key: string, expected: string): Promise<boolean>;
}

export type SetIfAbsentResult =
  | { readonly written: true }
  | { readonly written: false; readonly current: string };

/** A TTL that a store can honor: a positive, finite number of milliseconds. */
export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs: expected a positive number of milliseconds, got ${ttlMs}`);
  }
}
