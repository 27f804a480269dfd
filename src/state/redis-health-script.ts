/**
 * One dependency's shared health in one hash, read and written by one Lua
 * script so that two workers never interleave halfway through a decision (two
 * probes admitted for one slot, a trip counted twice). The same state machine
 * as the in-process breaker and budget (src/policy/breaker.ts,
 * retry-budget.ts, sliding-window.ts), kept equal by a differential property
 * test: closed, open, half-open, isolated, disabled; consecutive or window
 * mode; the cooldown; the retry budget.
 *
 * Time: ARGV[1] is empty in production, and the script reads Redis `TIME`,
 * so that every process agrees on when a breaker reopens whatever its own
 * clock says. (A test passes its virtual clock's time instead.) Durations go
 * back to the process relative to that time (`openForMs`, `cooldownForMs`),
 * never as instants.
 *
 * KEYS[1]: the hash. ARGV[1]: now (ms) or ''. ARGV[2]: action (view | admit |
 * record | cooldown | retry | isolate | release | disable | reset).
 * ARGV[3]: JSON config. ARGV[4]: JSON argument.
 */
export const HEALTH = `
local key = KEYS[1]
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local action = ARGV[2]
local cfg = cjson.decode(ARGV[3])
local arg = cjson.decode(ARGV[4])
local raw = redis.call('HGETALL', key)
local h = {}
for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
local function num(k) return tonumber(h[k] or '0') end
local st = h['st'] or 'closed'
local rs = h['rs'] or 'manual'
local ou, hs, gen, pt, pok, tr, cf, cd = num('ou'), num('hs'), num('gen'), num('pt'), num('pok'), num('tr'), num('cf'), num('cd')
local b = cfg['breaker']
if b == cjson.null then b = nil end
local budget = cfg['budget']
if budget == cjson.null then budget = nil end
local dels = {}

-- Buckets start at multiples of their width, as the in-process window's do.
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
local function bucketOf(bb) return math.max(1, bb['windowMs'] / bb['buckets']) end

local function trip(reason)
  tr = tr + 1
  local ms = math.min(b['maxOpenMs'], b['openMs'] * (b['openMultiplier'] ^ (tr - 1)))
  st = 'open'; rs = reason; ou = now + ms; gen = gen + 1; pt = 0; pok = 0
end
local function close(reason)
  st = 'closed'; rs = reason; cf = 0; tr = 0; gen = gen + 1; pt = 0; pok = 0
  for k, _ in pairs(h) do
    local p = string.sub(k, 1, 2)
    if p == 'c:' or p == 'f:' or p == 's:' then table.insert(dels, k); h[k] = nil end
  end
end
local function evaluate()
  if b['mode'] == 'consecutive' then
    if cf >= b['consecutiveFailures'] then trip('failures') end
    return
  end
  local bucketMs = bucketOf(b)
  local calls = windowSum('c:', bucketMs, b['buckets'])
  if calls < b['minimumThroughput'] or calls == 0 then return end
  if windowSum('f:', bucketMs, b['buckets']) / calls >= b['failureRatio'] then trip('failure_ratio')
  elseif b['slowCallMs'] ~= cjson.null and windowSum('s:', bucketMs, b['buckets']) / calls >= b['slowCallRatio'] then trip('slow_calls') end
end
-- One ending of an ordinary call (not a probe) while closed, as CircuitBreaker.success / failure.
local function ordinary(outcome, durationMs)
  if st ~= 'closed' then return end
  local slow = b['slowCallMs'] ~= cjson.null and durationMs >= b['slowCallMs']
  if outcome == 'success' then cf = 0 else cf = cf + 1 end
  if b['mode'] == 'window' then
    local bucketMs = bucketOf(b)
    windowAdd('c:', bucketMs, 1)
    if outcome == 'failure' then windowAdd('f:', bucketMs, 1) end
    if outcome == 'success' and slow then windowAdd('s:', bucketMs, 1) end
  end
  if outcome == 'failure' or slow then evaluate() end
end

if b ~= nil then
  if st == 'open' and now >= ou then
    st = 'half_open'; rs = 'open_elapsed'; hs = now; gen = gen + 1; pt = 0; pok = 0
  elseif st == 'half_open' and now - hs >= b['halfOpenMaxWaitMs'] then
    trip('probe_timeout')
  end
end

-- Successes are batched by each process and arrive with its next script call.
local succ = arg['successes'] or 0
if b ~= nil and succ > 0 and st == 'closed' then
  cf = 0
  if b['mode'] == 'window' then
    windowAdd('c:', bucketOf(b), succ)
    if (arg['slow'] or 0) > 0 then windowAdd('s:', bucketOf(b), arg['slow']); evaluate() end
  end
end

if budget ~= nil and (arg['firsts'] or 0) > 0 then
  windowAdd('bf:', budget['windowMs'] / 10, arg['firsts'])
end

local admitted, probe, retryOk = 0, 0, 0
if action == 'admit' then
  if b == nil or st == 'closed' or st == 'disabled' then admitted = 1
  -- pt counts probes taken (out and answered), as probesOut + probesOk does in process.
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
        if pok >= b['halfOpenProbes'] then close('probes_succeeded') end
      elseif outcome == 'failure' then trip('probe_failed')
      else pt = math.max(0, pt - 1) end
    end
  elseif outcome ~= 'neutral' then
    ordinary(outcome, arg['durationMs'] or 0)
  end
elseif action == 'cooldown' then
  local untilMs = now + math.min(arg['forMs'], cfg['maxCooldownMs'])
  if untilMs > cd then cd = untilMs end
elseif action == 'retry' then
  if budget == nil then retryOk = 1
  else
    local bucketMs = budget['windowMs'] / 10
    local firsts = windowSum('bf:', bucketMs, 10)
    local retries = windowSum('br:', bucketMs, 10)
    local allowed = firsts * budget['ratio'] + budget['minPerSecond'] * budget['windowMs'] / 1000
    if retries + 1 <= allowed then retryOk = 1; windowAdd('br:', bucketMs, 1) end
  end
elseif action == 'isolate' and b ~= nil then
  st = 'isolated'; rs = 'manual'
elseif action == 'release' and b ~= nil then
  if st == 'isolated' then close('manual') end
elseif action == 'disable' and b ~= nil then
  st = 'disabled'; rs = 'manual'
elseif action == 'reset' and b ~= nil then
  close('manual')
end

local wc, wf = 0, 0
if b ~= nil and b['mode'] == 'window' and st == 'closed' then
  wc = windowSum('c:', bucketOf(b), b['buckets'])
  wf = windowSum('f:', bucketOf(b), b['buckets'])
end
if #dels > 0 then redis.call('HDEL', key, unpack(dels)) end
redis.call('HSET', key, 'st', st, 'rs', rs, 'ou', ou, 'hs', hs, 'gen', gen, 'pt', pt, 'pok', pok, 'tr', tr, 'cf', cf, 'cd', cd)
redis.call('PEXPIRE', key, cfg['ttlMs'])
local openForMs, halfOpenForMs = 0, 0
if st == 'open' then openForMs = math.max(0, ou - now) end
if st == 'half_open' and b ~= nil then halfOpenForMs = math.max(0, hs + b['halfOpenMaxWaitMs'] - now) end
return cjson.encode({ state = st, reason = rs, openForMs = openForMs, halfOpenForMs = halfOpenForMs,
  cooldownForMs = math.max(0, cd - now), admitted = admitted, probe = probe, retryOk = retryOk,
  consecutive = cf, trips = tr, windowCalls = wc, windowFailures = wf })`;
