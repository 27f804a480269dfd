import type { Redis } from 'ioredis';
import { type Clock, systemClock } from '../policy/clock.js';
import type { Health, HealthSource } from '../policy/health.js';
import type { Profile } from '../policy/profile.js';
import { RedisHealth } from './redis-health.js';
import { HEALTH } from './redis-health-script.js';
import { COMPARE_AND_DELETE, COMPARE_AND_SET } from './redis-scripts.js';
import { checkTtl, type SetIfAbsentResult, type StateStore } from './store.js';

export interface RedisStoreOptions {
  /** Namespaces every key, so several applications can share one Redis. Default `bw:`. */
  readonly prefix?: string;
  /**
   * The longest any Redis command may take. A slow or partitioned Redis must
   * not stall calls: past this the command counts as failed. Default 250 ms.
   */
  readonly commandTimeoutMs?: number;
  /**
   * How long a process may decide from its cached view of a breaker before
   * asking Redis again: a trip in another process is seen within this time,
   * or on the next call after it. 0 asks on every call. Default 100 ms.
   */
  readonly syncMs?: number;
  /** After a Redis failure, how long to run on local state before trying Redis again. Default 1 000 ms. */
  readonly retryRedisAfterMs?: number;
  /**
   * Whose time shared health runs on: `redis` (its `TIME`, so that every
   * process agrees on when a breaker reopens or a pause ends) or `clock` (the
   * policy's clock: for tests on a virtual clock). Default: `redis` with the
   * system clock, `clock` with any other.
   */
  readonly time?: 'redis' | 'clock';
}

/** Redis did not answer in time, or answered with an error. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`redis store: ${operation} failed`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export interface RedisStore extends StateStore, HealthSource {
  readonly prefix: string;
  /** Commands sent so far, for measuring round trips per call. */
  readonly commands: number;
}

/**
 * State shared by every process through Redis (ioredis): the idempotency
 * ledger (`SET NX PX GET`, compare-and-set scripts) and each dependency's
 * health (breaker, cooldown, retry budget) in one atomic Lua script.
 *
 * Failure behaviour: every command has a timeout. Shared health fails open —
 * while Redis is unavailable each process decides on its own local breaker,
 * cooldown and budget, and goes back to Redis after `retryRedisAfterMs`. The
 * ledger fails closed: its errors reach the registry, which refuses a
 * non-idempotent call it cannot record rather than risk running it twice.
 */
export function redisStore(client: Redis, options: RedisStoreOptions = {}): RedisStore {
  const prefix = options.prefix ?? 'bw:';
  const timeoutMs = options.commandTimeoutMs ?? 250;
  const syncMs = options.syncMs ?? 100;
  const retryAfter = options.retryRedisAfterMs ?? 1_000;
  for (const [name, v] of [
    ['commandTimeoutMs', timeoutMs],
    ['syncMs', syncMs],
    ['retryRedisAfterMs', retryAfter],
  ] as const) {
    if (!Number.isFinite(v) || v < 0)
      throw new RangeError(`${name}: expected a non-negative number of milliseconds, got ${v}`);
  }
  let commands = 0;

  /** One command, bounded in time; the command itself may still complete later, and is ignored then. */
  function command<T>(operation: string, send: () => Promise<T>): Promise<T> {
    commands++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreUnavailableError(operation, new Error(`no answer within ${timeoutMs} ms`))),
        timeoutMs,
      );
      send().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(new StoreUnavailableError(operation, err));
        },
      );
    });
  }

  const store: RedisStore = {
    prefix,
    get commands() {
      return commands;
    },
    async setIfAbsent(key, value, ttlMs): Promise<SetIfAbsentResult> {
      checkTtl(ttlMs);
      // Redis 7: NX with GET returns the value already there (and writes nothing), or null after writing.
      const previous = await command('setIfAbsent', () =>
        client.set(prefix + key, value, 'PX', Math.ceil(ttlMs), 'NX', 'GET'),
      );
      return previous === null ? { written: true } : { written: false, current: previous };
    },
    async get(key) {
      const v = await command('get', () => client.get(prefix + key));
      return v ?? undefined;
    },
    async compareAndSet(key, expected, value, ttlMs) {
      checkTtl(ttlMs);
      const r = await command('compareAndSet', () =>
        client.eval(COMPARE_AND_SET, 1, prefix + key, expected, value, String(Math.ceil(ttlMs))),
      );
      return r === 1;
    },
    async compareAndDelete(key, expected) {
      const r = await command('compareAndDelete', () =>
        client.eval(COMPARE_AND_DELETE, 1, prefix + key, expected),
      );
      return r === 1;
    },
    health(dependency: string, profile: Profile, clock: Clock): Health {
      const key = `${prefix}health:${dependency}`;
      // Redis's own time, so processes agree; a test's virtual clock is passed instead, to drive it.
      const useClock = options.time === 'clock' || (options.time === undefined && clock !== systemClock);
      return new RedisHealth(profile, clock, {
        syncMs,
        retryAfterMs: retryAfter,
        eval: (action, json, arg) =>
          command(`health ${action}`, () =>
            client.eval(HEALTH, 1, key, useClock ? String(clock.now()) : '', action, json, arg),
          ),
      });
    },
  };
  return store;
}
