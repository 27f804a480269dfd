/**
 * Lua run atomically inside Redis: every read-modify-write on shared state is
 * one script, so two workers can never interleave halfway through a
 * decision (two probes admitted for one slot, a trip counted twice).
 */

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
