import { performance } from 'node:perf_hooks';
import {
  CLAIM_IF_ABSENT,
  COMPARE_AND_DELETE,
  COMPARE_AND_SET_BEFORE,
  defineScript,
  type RedisClient,
} from './redis-scripts.js';
import { checkTtl, type SetIfAbsentResult, type StateStore, type WriteOptions } from './store.js';

/** Sends one command, bounded in time (the store's `command`): by `limitMs` when given, else the store's timeout. */
export type Command = <T>(operation: string, send: () => Promise<T>, limitMs?: number) => Promise<T>;

/** A write reached Redis after its caller had given up on it, so Redis refused it. */
export class LateWriteError extends Error {
  constructor(readonly operation: string) {
    super(`redis store: ${operation} reached Redis after its caller gave up, so it was not applied`);
    this.name = 'LateWriteError';
  }
}

/** How often the local estimate of Redis's clock is measured again. */
const RESYNC_MS = 60_000;

/**
 * Where Redis's clock stands against this process's monotonic clock, known
 * to within half the round trip of the `TIME` that measured it.
 */
interface Offset {
  readonly offset: number;
  readonly error: number;
  readonly at: number;
}

/**
 * The ledger's four operations on Redis, written so that no ghost is left:
 * a write whose caller was told it failed must never land later (a command
 * held by a stalled server, replayed by ioredis's offline queue after a
 * restart, or resent after a reconnect). Each claiming write carries the
 * latest time, on Redis's own clock, at which its caller is surely still
 * waiting for it; the script reads `TIME` and refuses the write past it.
 * That is what makes ioredis's offline queue safe here: whatever it replays
 * after the deadline is refused inside Redis.
 */
export function redisLedger(
  client: RedisClient,
  prefix: string,
  timeoutMs: number,
  command: Command,
): Pick<StateStore, 'setIfAbsent' | 'get' | 'compareAndSet' | 'compareAndDelete' | 'now'> {
  const claimIfAbsent = defineScript(client, 'claim', CLAIM_IF_ABSENT);
  const compareAndSetBefore = defineScript(client, 'cas', COMPARE_AND_SET_BEFORE);
  const compareAndDelete = defineScript(client, 'cad', COMPARE_AND_DELETE);

  let offset: Offset | undefined;
  let measuring: Promise<Offset> | undefined;

  async function measure(): Promise<Offset> {
    const sent = performance.now();
    const [s, us] = await command('time', () => client.time());
    const received = performance.now();
    const redisMs = Number(s) * 1000 + Number(us) / 1000;
    return { offset: redisMs - (sent + received) / 2, error: (received - sent) / 2, at: received };
  }

  async function currentOffset(): Promise<Offset> {
    const o = offset;
    if (o !== undefined && performance.now() - o.at < RESYNC_MS) return o;
    measuring ??= measure().then(
      (m) => {
        measuring = undefined;
        // The tighter of two recent measurements wins: a slow round trip only widens the doubt.
        if (o === undefined || m.error <= o.error * 2 || m.at - o.at >= RESYNC_MS) offset = m;
        return offset ?? m;
      },
      (err: unknown) => {
        measuring = undefined;
        throw err;
      },
    );
    return measuring;
  }

  /**
   * A write, with the Redis time past which it must not apply: the moment
   * this process gives up on it (its timeout), moved earlier by the doubt in
   * the clock estimate, so that a write applied at or before it is one the
   * caller is still waiting for.
   */
  async function beforeGivingUp<T>(
    operation: string,
    options: WriteOptions | undefined,
    send: (notAfter: string) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    // The caller's own limit (its deadline) may come before the store's timeout: whichever is first.
    const callerMs = options?.timeoutMs;
    const limitMs = callerMs === undefined ? timeoutMs : Math.max(0, Math.min(timeoutMs, callerMs));
    const o = await currentOffset();
    const leftMs = limitMs - (performance.now() - started);
    if (leftMs <= 0) throw new LateWriteError(operation);
    return command(
      operation,
      () => {
        const notAfter = performance.now() + leftMs + o.offset - o.error;
        return send(String(Math.floor(notAfter)));
      },
      leftMs,
    );
  }

  return {
    async setIfAbsent(key, value, ttlMs, options): Promise<SetIfAbsentResult> {
      checkTtl(ttlMs);
      const r = (await beforeGivingUp('setIfAbsent', options, (notAfter) =>
        claimIfAbsent(prefix + key, value, String(Math.ceil(ttlMs)), notAfter),
      )) as [number, string?];
      if (r[0] === 2) throw new LateWriteError('setIfAbsent');
      return r[0] === 0 ? { written: true } : { written: false, current: String(r[1]) };
    },
    async get(key) {
      const v = await command('get', () => client.get(prefix + key));
      return v ?? undefined;
    },
    async compareAndSet(key, expected, value, ttlMs, options) {
      checkTtl(ttlMs);
      const r = await beforeGivingUp('compareAndSet', options, (notAfter) =>
        compareAndSetBefore(prefix + key, expected, value, String(Math.ceil(ttlMs)), notAfter),
      );
      if (r === 2) throw new LateWriteError('compareAndSet');
      return r === 1;
    },
    async compareAndDelete(key, expected) {
      const r = await command('compareAndDelete', () => compareAndDelete(prefix + key, expected));
      return r === 1;
    },
    /**
     * Redis's clock as this process estimates it (to within half a round trip, measured again every
     * minute): leases written by processes whose own clocks disagree are read on one clock.
     */
    async now() {
      const o = await currentOffset();
      return performance.now() + o.offset;
    },
  };
}

/** A problem with how Redis keeps the ledger, or undefined when it would survive a restart. */
export type PersistenceWarning = string;

/**
 * Whether the ledger would survive a Redis restart and memory pressure:
 * append-only file on, and no eviction. Without AOF a restart loses every
 * claim and unknown outcome since the last snapshot, and a re-delivered
 * call then runs again; an eviction policy may drop them at any time.
 */
export async function checkPersistence(client: RedisClient, command: Command): Promise<PersistenceWarning[]> {
  const problems: string[] = [];
  let config: Record<string, string>;
  try {
    const [aof, save, policy] = await Promise.all(
      ['appendonly', 'save', 'maxmemory-policy'].map(
        (name) => command(`config get ${name}`, () => client.config('GET', name)) as Promise<unknown>,
      ),
    );
    config = {};
    for (const r of [aof, save, policy]) {
      const list = r as string[];
      for (let i = 0; i + 1 < list.length; i += 2) config[list[i]!] = list[i + 1]!;
    }
  } catch {
    return [
      'could not read the Redis configuration (CONFIG GET refused or failed): make sure it runs with appendonly yes and maxmemory-policy noeviction, or the ledger may forget calls on a restart and run them twice',
    ];
  }
  if (config.appendonly !== 'yes') {
    const snapshots = config.save
      ? ` (RDB snapshots "${config.save}" lose every write since the last one)`
      : '';
    problems.push(
      `appendonly is off${snapshots}: a Redis restart loses claims and unknown outcomes, and a re-delivered non-idempotent call then runs again; set appendonly yes (appendfsync always for no loss at all)`,
    );
  }
  const policy = config['maxmemory-policy'];
  if (policy !== undefined && policy !== 'noeviction')
    problems.push(
      `maxmemory-policy is ${policy}: under memory pressure Redis may evict ledger records (every one has a TTL), and a re-delivered call then runs again; set noeviction`,
    );
  return problems;
}
