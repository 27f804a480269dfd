import type { Redis } from 'ioredis';
import { CircuitBreaker } from '../policy/breaker.js';
import type { Clock } from '../policy/clock.js';
import type { Profile } from '../policy/profile.js';
import { RetryBudget } from '../policy/retry-budget.js';
import type { SharedAdmission, SharedHealth, SharedHealthSource, SharedPermit } from '../policy/shared.js';
import { checkPersistence, redisLedger } from './redis-ledger.js';
import { HEALTH } from './redis-scripts.js';
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
   * Read Redis's persistence and eviction settings at start, and warn once
   * (per client) when the ledger would not survive a restart or memory
   * pressure: `appendonly` off, `maxmemory-policy` other than `noeviction`.
   * Default true.
   */
  readonly checkPersistence?: boolean;
  /** Where that warning goes. Default `process.emitWarning` (code `BREAKWATER_LEDGER_PERSISTENCE`). */
  readonly warn?: (message: string) => void;
}

/** Clients already checked: the warning is given once, however many stores share a client. */
const checked = new WeakSet<Redis>();

function emitPersistenceWarning(message: string): void {
  process.emitWarning(message, { code: 'BREAKWATER_LEDGER_PERSISTENCE' });
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

export interface RedisStore extends StateStore, SharedHealthSource {
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
export function createRedisStore(client: Redis, options: RedisStoreOptions = {}): RedisStore {
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

  const store: RedisStore = {
    prefix,
    get commands() {
      return commands;
    },
    ...redisLedger(client, prefix, timeoutMs, command),
    health(dependency: string, profile: Profile, clock: Clock): SharedHealth {
      return new RedisHealth(`${prefix}health:${dependency}`, profile, clock, {
        syncMs,
        retryAfter,
        eval: (action, json, arg) =>
          command(`health ${action}`, () =>
            client.eval(HEALTH, 1, `${prefix}health:${dependency}`, String(clock.now()), action, json, arg),
          ),
      });
    },
  };
  return store;
}

interface View {
  readonly state: 'closed' | 'open' | 'half_open';
  readonly openUntil: number;
  readonly cooldownUntil: number;
  readonly admitted: 0 | 1;
  readonly probe: number;
  readonly retryOk: 0 | 1;
}

type Action = 'view' | 'admit' | 'record' | 'cooldown' | 'retry';

interface Transport {
  readonly syncMs: number;
  readonly retryAfter: number;
  eval(action: Action, config: string, arg: string): Promise<unknown>;
}

const ORDINARY: SharedPermit = Object.freeze({ probe: 0 });

/**
 * One dependency's health, decided in Redis and cached for `syncMs`, with a
 * process-local breaker and budget to fall back on while Redis is away.
 */
class RedisHealth implements SharedHealth {
  private view: View | undefined;
  private viewAt = Number.NEGATIVE_INFINITY;
  private degradedUntil = 0;
  private pendingFirsts = 0;
  private pendingSuccesses = 0;
  private pendingSlow = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly config: string;
  private readonly local: CircuitBreaker | undefined;
  private readonly localBudget: RetryBudget | undefined;
  private localCooldown = 0;

  constructor(
    readonly key: string,
    private readonly profile: Profile,
    private readonly clock: Clock,
    private readonly transport: Transport,
  ) {
    const b = profile.breaker;
    const budget = profile.retry.budget;
    const ttlMs = Math.max(
      b === false ? 0 : Math.max(b.windowMs, b.maxOpenMs, b.halfOpenMaxWaitMs),
      budget === false ? 0 : budget.windowMs,
      60_000,
    );
    this.config = JSON.stringify({
      breaker: b === false ? null : b,
      budget: budget === false ? null : budget,
      ttlMs: 2 * ttlMs,
    });
    this.local = b === false ? undefined : new CircuitBreaker(b, clock);
    this.localBudget = budget === false ? undefined : new RetryBudget(budget, clock);
  }

  private degraded(now: number): boolean {
    return now < this.degradedUntil;
  }

  /** Sends one script call; on failure, switches to local state for a while. Never rejects. */
  private async call(action: Action, arg: Record<string, unknown>, now: number): Promise<View | undefined> {
    const firsts = this.pendingFirsts;
    const successes = this.pendingSuccesses;
    const slow = this.pendingSlow;
    this.pendingFirsts = 0;
    this.pendingSuccesses = 0;
    this.pendingSlow = 0;
    try {
      const raw = await this.transport.eval(
        action,
        this.config,
        JSON.stringify({ ...arg, firsts, successes, slow }),
      );
      const view = JSON.parse(String(raw)) as View;
      this.view = view;
      this.viewAt = this.clock.now();
      return view;
    } catch {
      // Counts that did not reach Redis are dropped, not replayed: they are stale by the time it returns.
      this.degradedUntil = now + this.transport.retryAfter;
      return undefined;
    }
  }

  /**
   * Successes on the happy path cost no round trip of their own: they are
   * counted here and travel with the next script call, or after `syncMs`.
   */
  private batchSuccess(durationMs: number): void {
    this.pendingSuccesses++;
    const slowMs = this.profile.breaker === false ? null : this.profile.breaker.slowCallMs;
    if (slowMs !== null && durationMs >= slowMs) this.pendingSlow++;
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(
        () => {
          this.flushTimer = undefined;
          if (this.pendingSuccesses > 0 || this.pendingFirsts > 0)
            void this.call('view', {}, this.clock.now());
        },
        Math.max(1, this.transport.syncMs),
      );
      // A background flush must not hold the process open.
      this.flushTimer.unref();
    }
  }

  admit(now: number): SharedAdmission | Promise<SharedAdmission> {
    if (this.profile.breaker === false) return { admitted: true, permit: ORDINARY };
    if (this.degraded(now)) return this.admitLocally(now);
    const v = this.view;
    if (v !== undefined && now - this.viewAt < this.transport.syncMs) {
      // Fresh enough to decide without a round trip, except when a probe must be taken atomically.
      if (v.state === 'closed') return { admitted: true, permit: ORDINARY };
      if (v.state === 'open' && now < v.openUntil) {
        return { admitted: false, reason: 'circuit_open', retryAfterMs: v.openUntil - now };
      }
    }
    return this.call('admit', {}, now).then((view) => {
      if (view === undefined) return this.admitLocally(now);
      if (view.admitted === 1)
        return { admitted: true, permit: view.probe > 0 ? { probe: view.probe } : ORDINARY };
      const retryAfterMs = view.state === 'open' ? Math.max(0, view.openUntil - now) : 0;
      return { admitted: false, reason: 'circuit_open', retryAfterMs };
    });
  }

  private admitLocally(now: number): SharedAdmission {
    const permit = this.local?.tryAcquire(now);
    if (this.local && permit === undefined) {
      return { admitted: false, reason: 'circuit_open', retryAfterMs: this.local.retryAfterMs(now) };
    }
    return { admitted: true, permit: { probe: 0, local: permit } };
  }

  record(
    permit: SharedPermit,
    outcome: 'success' | 'failure' | 'neutral',
    durationMs: number,
    now: number,
  ): Promise<void> | undefined {
    if (permit.local !== undefined || this.degraded(now)) {
      const p = permit.local as { probe: number } | undefined;
      if (this.local && p) {
        if (outcome === 'success') this.local.success(p, durationMs, now);
        else if (outcome === 'failure') this.local.failure(p, now);
        else this.local.release(p);
      }
      return undefined;
    }
    if (this.profile.breaker === false) return undefined;
    if (outcome === 'success' && permit.probe === 0) {
      this.batchSuccess(durationMs);
      return undefined;
    }
    if (outcome === 'neutral' && permit.probe === 0) return undefined;
    return this.call('record', { outcome, probe: permit.probe, durationMs }, now).then(() => undefined);
  }

  cooldown(until: number, now: number): Promise<void> | undefined {
    if (until > this.localCooldown) this.localCooldown = until;
    if (this.degraded(now)) return undefined;
    return this.call('cooldown', { until }, now).then(() => undefined);
  }

  cooldownUntil(_now: number): number {
    return Math.max(this.localCooldown, this.view?.cooldownUntil ?? 0);
  }

  firstAttempt(now: number): void {
    this.localBudget?.recordFirstAttempt(now);
    if (this.profile.retry.budget !== false) this.pendingFirsts++;
  }

  tryRetry(now: number): boolean | Promise<boolean> {
    if (this.profile.retry.budget === false) return true;
    if (this.degraded(now)) return this.localBudget?.tryAcquireRetry(now) ?? true;
    return this.call('retry', {}, now).then((view) =>
      view === undefined ? (this.localBudget?.tryAcquireRetry(now) ?? true) : view.retryOk === 1,
    );
  }
}
