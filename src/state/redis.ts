import { type Clock, systemClock } from '../policy/clock.js';
import type { Health, HealthSource } from '../policy/health.js';
import type { Profile } from '../policy/profile.js';
import { RedisHealth } from './redis-health.js';
import { HEALTH } from './redis-health-script.js';
import { checkPersistence, redisLedger } from './redis-ledger.js';
import { defineScript, type RedisClient } from './redis-scripts.js';
import type { StateStore } from './store.js';

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
  /**
   * Read Redis's persistence and eviction settings at start, and warn once
   * (per client) when the ledger would not survive a restart or memory
   * pressure: `appendonly` off, `maxmemory-policy` other than `noeviction`.
   * Default true.
   */
  readonly checkPersistence?: boolean;
  /** Where that warning goes. Default `process.emitWarning` (code `BREAKWATER_LEDGER_PERSISTENCE`). */
  readonly warn?: (message: string) => void;
}

/**
 * The hash that holds one dependency's shared health (breaker, cooldown,
 * budget): `bw:health:{dependency}` with the default prefix. Ledger keys
 * read `bw:ledger:…`: the ledger names them and the store adds its prefix.
 */
function healthKey(prefix: string, dependency: string): string {
  return `${prefix}health:{${dependency}}`;
}

/** Clients already checked: the warning is given once, however many stores share a client. */
const checked = new WeakSet<RedisClient>();

function emitPersistenceWarning(message: string): void {
  process.emitWarning(message, { code: 'BREAKWATER_LEDGER_PERSISTENCE' });
}

/** Per client: how many times its connection closed (or, for a Cluster, a node went away). */
const epochs = new WeakMap<RedisClient, { value: number }>();

/**
 * Bumped whenever a connection to Redis closes: the Redis that answers next
 * may be one restarted without persistence, that forgot every claim, so the
 * ledger must ask it again before trusting a claim (see `fresh` in
 * `holdLease`). One listener per client, however many stores share it.
 */
function epochOf(client: RedisClient): { value: number } {
  let e = epochs.get(client);
  if (e === undefined) {
    const counter = { value: 0 };
    const bump = () => {
      counter.value++;
    };
    client.on('close', bump);
    // A Cluster: one of its nodes went away (it may come back empty, or a replica that was behind take over).
    client.on('-node', bump);
    epochs.set(client, counter);
    e = counter;
  }
  return e;
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
 * Failure behavior: every command has a timeout. Shared health fails open —
 * while Redis is unavailable each process decides on its own local breaker,
 * cooldown and budget, and goes back to Redis after `retryRedisAfterMs`. The
 * ledger fails closed: its errors reach the registry, which refuses a
 * non-idempotent call it cannot record rather than risk running it twice.
 */
export function createRedisStore(client: RedisClient, options: RedisStoreOptions = {}): RedisStore {
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

  /**
   * One command, bounded in time. The command itself may still complete
   * later and is ignored then; the ledger's writes are refused inside Redis
   * when that happens (see `redisLedger`).
   */
  function command<T>(operation: string, send: () => Promise<T>, limitMs = timeoutMs): Promise<T> {
    commands++;
    return bounded(operation, send, limitMs);
  }

  function bounded<T>(operation: string, send: () => Promise<T>, limitMs = timeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreUnavailableError(operation, new Error(`no answer within ${limitMs} ms`))),
        limitMs,
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

  if (options.checkPersistence !== false && !checked.has(client)) {
    checked.add(client);
    const warn = options.warn ?? emitPersistenceWarning;
    const check = () =>
      void checkPersistence(client, bounded).then((problems) => {
        if (problems.length > 0)
          warn(`breakwater: the idempotency ledger's Redis is not safe: ${problems.join('; ')}`);
      });
    // Once connected: a client still connecting would time the check out and warn for nothing.
    if (client.status === 'ready') check();
    else client.once('ready', check);
  }

  const epoch = epochOf(client);

  const healthScript = defineScript(client, 'health', HEALTH);
  const store: RedisStore = {
    prefix,
    get commands() {
      return commands;
    },
    ...redisLedger(client, prefix, timeoutMs, command),
    epoch: () => epoch.value,
    health(dependency: string, profile: Profile, clock: Clock): Health {
      // The dependency is a Cluster hash tag: whatever keys a dependency's health ever spans stay on one slot.
      const key = healthKey(prefix, dependency);
      // Redis's own time, so processes agree; a test's virtual clock is passed instead, to drive it.
      const useClock = options.time === 'clock' || (options.time === undefined && clock !== systemClock);
      return new RedisHealth(profile, clock, {
        syncMs,
        retryAfterMs: retryAfter,
        eval: (action, json, arg) =>
          command(`health ${action}`, () =>
            healthScript(key, useClock ? String(clock.now()) : '', action, json, arg),
          ),
      });
    },
  };
  return store;
}
