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

/**
 * One dependency's shared health in one hash: the breaker (state, open-until,
 * half-open generation and probes, trips in a row, consecutive failures, a
 * bucketed window of calls, failures and slow calls), the cooldown, and the
 * retry budget's window of first attempts and retries.
 *
 * KEYS[1]: the hash. ARGV[1]: now (ms). ARGV[2]: action (view | admit |
 * record | cooldown | retry). ARGV[3]: JSON config. ARGV[4]: JSON argument.
 * Returns { state, openUntil, cooldownUntil, admitted, probe, retryOk }.
 */
export const HEALTH = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local action = ARGV[2]
local cfg = cjson.decode(ARGV[3])
local arg = cjson.decode(ARGV[4])
local raw = redis.call('HGETALL', key)
local h = {}
for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
local function num(k) return tonumber(h[k] or '0') end
local st = h['st'] or 'closed'
local ou, hs, gen, pt, pok, tr, cf, cd = num('ou'), num('hs'), num('gen'), num('pt'), num('pok'), num('tr'), num('cf'), num('cd')
local b = cfg['breaker']
if b == cjson.null then b = nil end
local budget = cfg['budget']
if budget == cjson.null then budget = nil end
local dels = {}

local function windowSum(prefix, bucketMs, buckets)
  local idx = math.floor(now / bucketMs)
  local total = 0
  local plen = string.len(prefix)
  for k, v in pairs(h) do
    if string.sub(k, 1, plen) == prefix then
      local i = tonumber(string.sub(k, plen + 1))
      if i ~= nil and i > idx - buckets then total = total + tonumber(v)
      else table.insert(dels, k); h[k] = nil end
    end
  end
  return total
end
local function windowAdd(prefix, bucketMs, n)
  local k = prefix .. math.floor(now / bucketMs)
  h[k] = tostring(tonumber(h[k] or '0') + n)
  redis.call('HINCRBYFLOAT', key, k, n)
end

local function trip()
  tr = tr + 1
  local ms = math.min(b['maxOpenMs'], b['openMs'] * (b['openMultiplier'] ^ (tr - 1)))
  st = 'open'; ou = now + ms; gen = gen + 1; pt = 0; pok = 0
end
local function close()
  st = 'closed'; cf = 0; tr = 0; gen = gen + 1; pt = 0; pok = 0
  for k, _ in pairs(h) do
    local p = string.sub(k, 1, 2)
    if p == 'c:' or p == 'f:' or p == 's:' then table.insert(dels, k); h[k] = nil end
  end
end

if b ~= nil then
  if st == 'open' and now >= ou then
    st = 'half_open'; hs = now; gen = gen + 1; pt = 0; pok = 0
  elseif st == 'half_open' and now - hs >= b['halfOpenMaxWaitMs'] then
    trip()
  end
end

-- Successes are batched by each process and arrive with its next script call.
local succ = arg['successes'] or 0
if b ~= nil and succ > 0 and st == 'closed' then
  cf = 0
  if b['mode'] == 'window' then
    local bucketMs = b['windowMs'] / b['buckets']
    windowAdd('c:', bucketMs, succ)
    if (arg['slow'] or 0) > 0 then windowAdd('s:', bucketMs, arg['slow']) end
  end
end

if budget ~= nil and (arg['firsts'] or 0) > 0 then
  windowAdd('bf:', budget['windowMs'] / 10, arg['firsts'])
end

local admitted, probe, retryOk = 0, 0, 0
if action == 'admit' then
  if b == nil or st == 'closed' then admitted = 1
  elseif st == 'half_open' and pt < b['halfOpenProbes'] then
    pt = pt + 1; admitted = 1; probe = gen
  end
elseif action == 'record' and b ~= nil then
  local outcome = arg['outcome']
  local p = arg['probe'] or 0
  if p > 0 then
    if p == gen and st == 'half_open' then
      if outcome == 'success' then
        pok = pok + 1
        if pok >= b['halfOpenProbes'] then close() end
      elseif outcome == 'failure' then trip()
      else pt = math.max(0, pt - 1) end
    end
  elseif st == 'closed' and outcome ~= 'neutral' then
    local bucketMs = b['windowMs'] / b['buckets']
    if outcome == 'success' then cf = 0 else cf = cf + 1 end
    if b['mode'] == 'consecutive' then
      if cf >= b['consecutiveFailures'] then trip() end
    else
      windowAdd('c:', bucketMs, 1)
      if outcome == 'failure' then windowAdd('f:', bucketMs, 1) end
      local slow = b['slowCallMs'] ~= cjson.null and (arg['durationMs'] or 0) >= b['slowCallMs']
      if slow then windowAdd('s:', bucketMs, 1) end
      local calls = windowSum('c:', bucketMs, b['buckets'])
      if calls >= b['minimumThroughput'] and calls > 0 then
        if windowSum('f:', bucketMs, b['buckets']) / calls >= b['failureRatio'] then trip()
        elseif b['slowCallMs'] ~= cjson.null and windowSum('s:', bucketMs, b['buckets']) / calls >= b['slowCallRatio'] then trip() end
      end
    end
  end
elseif action == 'cooldown' then
  if arg['until'] > cd then cd = arg['until'] end
elseif action == 'retry' then
  if budget == nil then retryOk = 1
  else
    local bucketMs = budget['windowMs'] / 10
    local firsts = windowSum('bf:', bucketMs, 10)
    local retries = windowSum('br:', bucketMs, 10)
    local allowed = firsts * budget['ratio'] + budget['minPerSecond'] * budget['windowMs'] / 1000
    if retries + 1 <= allowed then retryOk = 1; windowAdd('br:', bucketMs, 1) end
  end
end

if #dels > 0 then redis.call('HDEL', key, unpack(dels)) end
redis.call('HSET', key, 'st', st, 'ou', ou, 'hs', hs, 'gen', gen, 'pt', pt, 'pok', pok, 'tr', tr, 'cf', cf, 'cd', cd)
redis.call('PEXPIRE', key, cfg['ttlMs'])
return cjson.encode({ state = st, openUntil = ou, cooldownUntil = cd, admitted = admitted, probe = probe, retryOk = retryOk })`;
