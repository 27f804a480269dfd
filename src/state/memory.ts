import { type Clock, systemClock } from '../policy/clock.js';
import { checkTtl, type SetIfAbsentResult, type StateStore } from './store.js';

export interface MemoryStoreOptions {
  /**
   * Most keys held at once. Beyond it, expired keys go first, then the least
   * recently written: memory stays bounded, at the price of forgetting the
   * oldest records early. Size it for the keys written within one TTL.
   */
  readonly maxEntries?: number;
  /** Expiry is read from this clock, so tests can move time. */
  readonly clock?: Clock;
}

export interface MemoryStore extends StateStore {
  /** Keys held now, expired ones included until they are next touched. */
  readonly size: number;
  clear(): void;
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
  // A Map iterates in insertion order; re-inserting on write keeps it ordered by last write.
  const entries = new Map<string, Entry>();

  function live(key: string, now: number): Entry | undefined {
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      entries.delete(key);
      return undefined;
    }
    return e;
  }

  function write(key: string, value: string, ttlMs: number, now: number): void {
    entries.delete(key);
    if (entries.size >= maxEntries) makeRoom(now);
    entries.set(key, { value, expiresAt: now + ttlMs });
  }

  // Room is made in batches, so that a full store pays for its sweep once per batch, not on every write.
  const target = Math.min(maxEntries - 1, Math.floor(maxEntries * 0.9));

  function makeRoom(now: number): void {
    for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
    for (const k of entries.keys()) {
      if (entries.size <= target) break;
      entries.delete(k);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
    async setIfAbsent(key, value, ttlMs): Promise<SetIfAbsentResult> {
      checkTtl(ttlMs);
      const now = clock.now();
      const current = live(key, now);
      if (current !== undefined) return { written: false, current: current.value };
      write(key, value, ttlMs, now);
      return { written: true };
    },
    async get(key) {
      return live(key, clock.now())?.value;
    },
    async compareAndSet(key, expected, value, ttlMs) {
      checkTtl(ttlMs);
      const now = clock.now();
      if (live(key, now)?.value !== expected) return false;
      write(key, value, ttlMs, now);
      return true;
    },
    async compareAndDelete(key, expected) {
      if (live(key, clock.now())?.value !== expected) return false;
      entries.delete(key);
      return true;
    },
  };
}
