import { type Clock, systemClock } from '../policy/clock.js';
import {
  checkTtl,
  type SetIfAbsentResult,
  type StateStore,
  StoreFullError,
  type WriteOptions,
} from './store.js';

export interface MemoryStoreOptions {
  /**
   * Most keys held at once. Beyond it, expired keys go first, then the least
   * recently written of those that may be forgotten: memory stays bounded, at
   * the price of forgetting the oldest replayable results early. Records
   * written pinned (the ledger's claims in flight, unknown outcomes, and the
   * results of operations unsafe to repeat) are never evicted before they
   * expire; when only they are left, a new key is refused with
   * `StoreFullError`. Size it for the unsafe keyed calls made within one TTL.
   */
  readonly maxEntries?: number;
  /** Expiry is read from this clock, so tests can move time. */
  readonly clock?: Clock;
}

export interface MemoryStore extends StateStore {
  /** Keys held now, expired ones included until they are next touched. */
  readonly size: number;
  clear(): void;
  /** Its clock: the one every registry sharing the store reads leases on. */
  now(): Promise<number>;
}

interface Entry {
  readonly value: string;
  readonly expiresAt: number;
}

/**
 * The in-process default. Expiry is lazy (checked on access and when room is
 * needed), so the store owns no timer and never keeps the process alive.
 * Every operation completes in one synchronous step, which is what makes the
 * conditional ones atomic here.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries: expected a positive integer, got ${maxEntries}`);
  }
  const clock = options.clock ?? systemClock;
  // Two maps, so that eviction never has to step over records it may not touch. A Map iterates
  // in insertion order; re-inserting on write keeps `evictable` ordered by last write.
  const evictable = new Map<string, Entry>();
  const pinned = new Map<string, Entry>();
  // The earliest expiry among pinned records: a full store sweeps them only once one can have expired.
  let pinnedDueAt = Number.POSITIVE_INFINITY;
  const size = () => evictable.size + pinned.size;

  function live(key: string, now: number): Entry | undefined {
    const map = pinned.has(key) ? pinned : evictable;
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      map.delete(key);
      return undefined;
    }
    return e;
  }

  function write(key: string, value: string, ttlMs: number, now: number, o: WriteOptions | undefined): void {
    evictable.delete(key);
    pinned.delete(key);
    if (size() >= maxEntries) makeRoom(now);
    const entry = { value, expiresAt: now + ttlMs };
    if (o?.pin === true) {
      pinned.set(key, entry);
      if (entry.expiresAt < pinnedDueAt) pinnedDueAt = entry.expiresAt;
    } else evictable.set(key, entry);
  }

  // Room is made in batches, so that a full store pays for its sweep once per batch, not on every write.
  const target = Math.min(maxEntries - 1, Math.floor(maxEntries * 0.9));

  function makeRoom(now: number): void {
    for (const [k, e] of evictable) if (e.expiresAt <= now) evictable.delete(k);
    if (now >= pinnedDueAt) {
      pinnedDueAt = Number.POSITIVE_INFINITY;
      for (const [k, e] of pinned) {
        if (e.expiresAt <= now) pinned.delete(k);
        else if (e.expiresAt < pinnedDueAt) pinnedDueAt = e.expiresAt;
      }
    }
    for (const k of evictable.keys()) {
      if (size() <= target) break;
      evictable.delete(k);
    }
    if (size() >= maxEntries) throw new StoreFullError(maxEntries);
  }

  return {
    get size() {
      return size();
    },
    clear() {
      evictable.clear();
      pinned.clear();
      pinnedDueAt = Number.POSITIVE_INFINITY;
    },
    async setIfAbsent(key, value, ttlMs, o): Promise<SetIfAbsentResult> {
      checkTtl(ttlMs);
      const now = clock.now();
      const current = live(key, now);
      if (current !== undefined) return { written: false, current: current.value };
      write(key, value, ttlMs, now, o);
      return { written: true };
    },
    async get(key) {
      return live(key, clock.now())?.value;
    },
    // Every registry sharing this store reads leases on the store's clock, whatever clocks they were given.
    async now() {
      return clock.now();
    },
    async compareAndSet(key, expected, value, ttlMs, o) {
      checkTtl(ttlMs);
      const now = clock.now();
      if (live(key, now)?.value !== expected) return false;
      write(key, value, ttlMs, now, o);
      return true;
    },
    async compareAndDelete(key, expected) {
      if (live(key, clock.now())?.value !== expected) return false;
      evictable.delete(key);
      pinned.delete(key);
      return true;
    },
  };
}
