/**
 * Lua run atomically inside Redis: every read-modify-write on shared state is
 * one script, so two workers can never interleave halfway through a
 * decision (two probes admitted for one slot, a trip counted twice).
 */

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
