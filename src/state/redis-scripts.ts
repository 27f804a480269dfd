/**
 * Lua run atomically inside Redis: every read-modify-write on shared state is
 * one script, so two workers can never interleave halfway through a
 * decision (two probes admitted for one slot, a trip counted twice). Every
 * script touches exactly one key (KEYS[1]), so each runs on a Redis Cluster.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** The ioredis clients the store runs on: one Redis, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** A script on one key: its arguments, its reply. */
export type Script = (key: string, ...args: string[]) => Promise<unknown>;

/**
 * A script registered with ioredis's `defineCommand`: sent whole (`EVAL`) the
 * first time on each connection and by its SHA (`EVALSHA`) after, loaded
 * again by ioredis when Redis answers `NOSCRIPT` (a restart, `SCRIPT
 * FLUSH`), so the body is not resent on every call. The command is named
 * after the script's SHA: two different bodies (two copies of breakwater on
 * one client) never replace each other's.
 */
export function defineScript(client: RedisClient, label: string, lua: string): Script {
  const name = `breakwater_${label}_${createHash('sha1').update(lua).digest('hex').slice(0, 12)}`;
  const defined = client as unknown as Record<string, unknown>;
  if (typeof defined[name] !== 'function') client.defineCommand(name, { numberOfKeys: 1, lua });
  const run = defined[name] as (this: RedisClient, key: string, ...args: string[]) => Promise<unknown>;
  return (key, ...args) => run.call(client, key, ...args);
}

/**
 * Redis's own clock in milliseconds, for scripts that refuse a write arriving
 * after its caller gave up (ARGV notAfter, on this clock; 0 for no limit).
 */
const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1]; ARGV: value, ttlMs, notAfter. Returns {0} after writing, {1,
 * current} when the key holds something, {2} (nothing written) when it ran
 * after notAfter.
 */
export const CLAIM_IF_ABSENT = `${NOW_MS}
local limit = tonumber(ARGV[3])
if limit > 0 and now > limit then return {2} end
local current = redis.call('GET', KEYS[1])
if current then return {1, current} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {0}`;

/** KEYS[1]; ARGV: expected, value, ttlMs, notAfter. Returns 1 when written, 0 when not, 2 when late. */
export const COMPARE_AND_SET_BEFORE = `${NOW_MS}
local limit = tonumber(ARGV[4])
if limit > 0 and now > limit then return 2 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** KEYS[1]; ARGV: expected, value, ttlMs. */
export const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** KEYS[1]; ARGV: expected. */
export const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;
