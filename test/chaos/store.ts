/**
 * A state store that fails the way a shared Redis does, on the virtual
 * clock, around a bounded in-process store (eviction pressure): a command
 * refused at once, a stall (a paused or overloaded server) answered late or
 * not before the caller gives up, a reply lost after the write was applied,
 * and a restart during which every command is refused (the data survives,
 * as with AOF). It keeps the contract the real Redis store keeps: a write
 * that was answered "failed" because its caller gave up never lands later.
 */
import type { Clock } from '../../src/policy/clock.js';
import { sleep } from '../../src/policy/sleep.js';
import { createMemoryStore } from '../../src/state/memory.js';
import type { StateStore, WriteOptions } from '../../src/state/store.js';

export type StoreFault = 'ok' | 'fail' | 'stall' | 'lost_reply' | 'down';

export interface StoreStep {
  readonly fault: StoreFault;
  readonly latencyMs: number;
}

export interface StoreSpec {
  /** A small bound puts the ledger under eviction pressure; undefined for the default. */
  readonly maxEntries: number | undefined;
  readonly steps: readonly StoreStep[];
}

/** The Redis store's default command timeout. */
export const STORE_TIMEOUT_MS = 250;

class StoreFailure extends Error {
  constructor(what: string) {
    super(`chaos store: ${what}`);
    this.name = 'StoreFailure';
  }
}

export function chaosStore(spec: StoreSpec, clock: Clock): StateStore {
  const inner = createMemoryStore({
    clock,
    ...(spec.maxEntries !== undefined ? { maxEntries: spec.maxEntries } : {}),
  });
  const steps = [...spec.steps];
  let downUntil = Number.NEGATIVE_INFINITY;

  /** One command: `apply` runs the real operation; `write` says whether a late arrival must be refused. */
  async function command<T>(
    apply: () => Promise<T>,
    write: boolean,
    o: WriteOptions | undefined,
  ): Promise<T> {
    if (clock.now() < downUntil) throw new StoreFailure('restarting');
    const step = steps.shift() ?? { fault: 'ok', latencyMs: 0 };
    switch (step.fault) {
      case 'ok':
        return apply();
      case 'fail':
        throw new StoreFailure('refused');
      case 'down':
        downUntil = clock.now() + step.latencyMs;
        throw new StoreFailure('restarting');
      case 'lost_reply':
        await apply().catch(() => undefined);
        throw new StoreFailure('reply lost');
      case 'stall': {
        const limit = write ? Math.min(STORE_TIMEOUT_MS, o?.timeoutMs ?? STORE_TIMEOUT_MS) : STORE_TIMEOUT_MS;
        if (step.latencyMs < limit) {
          await sleep(clock, step.latencyMs);
          return apply();
        }
        await sleep(clock, limit);
        // A delete may land late (harmless: it only removes what the caller expected); a write is refused.
        if (!write) clock.setTimeout(() => void apply().catch(() => undefined), step.latencyMs - limit);
        throw new StoreFailure(`no answer within ${limit} ms`);
      }
    }
  }

  return {
    setIfAbsent: (key, value, ttlMs, o) => command(() => inner.setIfAbsent(key, value, ttlMs, o), true, o),
    get: (key) => command(() => inner.get(key), false, undefined),
    compareAndSet: (key, expected, value, ttlMs, o) =>
      command(() => inner.compareAndSet(key, expected, value, ttlMs, o), true, o),
    compareAndDelete: (key, expected) =>
      command(() => inner.compareAndDelete(key, expected), false, undefined),
    // The store's own clock, as Redis's TIME is: one for every process, whatever their clocks say.
    now: () => inner.now(),
  };
}
