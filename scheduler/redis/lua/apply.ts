/**
 * The apply script: scheduler/engine/reducer.ts in Lua, run atomically by Redis. It must implement
 * the reducer's rules exactly (the RunStore conformance suite compares effects and states after
 * every step). Kept as a TS string so it ships inside dist/ with no asset copying.
 */
import { MAX_FAILED_ATTEMPTS } from '../../model.js';

/** The most ids (dispatched instances + their plan deps) an apply reply carries statuses for. */
export const REPLY_STATUSES_MAX = 128;

export const APPLY_LUA = String.raw`
--[[
  apply — applies a batch of run events to one run atomically; the twin of reducer.ts.

  KEYS[1]  meta     hash  phase, startedAt, finishedAt, cancelRequested (0|1), seq
  KEYS[2]  cnt      hash  instance state -> count
  KEYS[3]  st       hash  id -> status JSON (InstanceStatus + pendingDeps, no result)
  KEYS[4]  res      hash  id -> InstanceResult JSON (opaque; decoded only for an iterate metric)
  KEYS[5]  plan     hash  id -> {"i":order,"t":task,"d":[deps],"dn":[dependents],"r":round,"n":rounds,"m":metric?,"b":"<task>.<stage>"?,
                        "s":stageIndex (work instances only)}
  KEYS[6]  order    list  ids in plan order
  KEYS[7]  rounds   hash  "<task>.<stage>.r<round>" -> JSON array of ids
  KEYS[8]  policy   hash  task -> {"retries":n,"backoffMs":n,"backoffMaxMs":n}
  KEYS[9]  backoff  zset  ids whose status has notBefore (score = plan order)
  KEYS[10] active   set   ids in state queued or running
  KEYS[11] fa       hash  id -> JSON array of its failed attempts {attempt, at, code, error, log?}, oldest
                          first, the last MAX_FAILED_ATTEMPTS (kept across resets)
  ARGV[1]  JSON array of events: RunEvent, except that 'succeeded' carries "ri" (the ARGV index
           of its result's JSON, stored verbatim: never escaped into ARGV[1], never decoded here)
           and "memo" (result.memoized), and "pr" (result.prune, when not empty) instead of
           "result". Every "at" is integer milliseconds.
  ARGV[2]  comma-separated error codes that are never retried (NON_RETRYABLE_CODES)
  ARGV[3]  V, the number of view ids that follow; "V+" also asks for the dispatched instances'
           statuses (below)
  ARGV[4 .. 3+V]  instance ids: also return their status JSON after the batch (workers'
           "started" + "may I run it?" in one round trip, for every job of a batch)
  ARGV[4+V ..]    result JSON texts, referenced by the events' "ri"

  Returns { dispatchIds, abortIds, wakeAt ('' if none), finishedPhase ('' if none), phase,
  cancelRequested ('1'|'0'), { status JSON of each view id, in order ('' where none) },
  { id, status JSON, result JSON or '', failed attempts JSON or '', ... } }: the merged effects of
  the batch exactly as reducer.applyEvents computes them, then the run's phase; or an error reply
  "RUN_NOT_FOUND" when the run does not exist. The last list (only with "V+", and empty when the
  dispatched instances and their plan deps are more than KNOWN_MAX ids together) holds each
  dispatched instance and its plan deps as they are after the batch: the dispatcher builds their
  jobs from it alone when it covers all they need (JobResolver.needs), so the process that applied
  the batch enqueues a chain's successor without another round trip.
  Writes only what changed: touched statuses, changed counters, changed meta fields (the fixed
  cost of a call matters: workers call it once per batch of completions).
  Replaying an applied completion is a no-op: it names an attempt that is no longer queued/running.
  Atomic: Redis runs the script alone; it only raises (leaving partial writes) on a broken
  invariant the pure reducer would also throw on (an unknown instance in the plan).
]]
local metaKey, cntKey, stKey, resKey, planKey, orderKey, roundsKey, policyKey, backoffKey, activeKey, faKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]

local m = redis.call('HMGET', metaKey, 'phase', 'startedAt', 'finishedAt', 'cancelRequested', 'seq')
if not m[1] then return redis.error_reply('RUN_NOT_FOUND') end
local phase = m[1]
local startedAt = tonumber(m[2])
local finishedAt = tonumber(m[3])
local cancelRequested = m[4] == '1'
local seq = tonumber(m[5]) or 0

local EVENTS = cjson.decode(ARGV[1])
local NONRETRY = {}
for c in string.gmatch(ARGV[2], '[^,]+') do NONRETRY[c] = true end

local TERMINAL = { succeeded = true, failed = true, upstream_failed = true, skipped = true, cancelled = true }
local DONE_OK = { succeeded = true, skipped = true }
local STATES = { 'pending', 'queued', 'running', 'succeeded', 'failed', 'upstream_failed', 'skipped', 'cancelled' }

-- Status JSON with exact numbers (cjson would round to 14 digits) and a fixed field order.
local FIELDS = { 'state', 'attempts', 'pendingDeps', 'queuedAt', 'startedAt', 'finishedAt', 'notBefore', 'error', 'errorCode', 'skipReason', 'worker' }
local function num(v) return string.format('%.17g', v) end
local function enc(s)
  local parts = {}
  for _, f in ipairs(FIELDS) do
    local v = s[f]
    if v ~= nil then
      if type(v) == 'number' then parts[#parts + 1] = '"' .. f .. '":' .. num(v)
      else parts[#parts + 1] = '"' .. f .. '":' .. cjson.encode(v) end
    end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- Counters as read (CNT0) and as changed (CNT): only changed fields are written back.
local CNT, CNT0 = {}, {}
do
  local raw = redis.call('HMGET', cntKey, unpack(STATES))
  for i, s in ipairs(STATES) do
    CNT[s] = tonumber(raw[i]) or 0
    CNT0[s] = raw[i] and CNT[s] or nil
  end
end
local phase0, startedAt0, finishedAt0, cancel0 = phase, startedAt, finishedAt, cancelRequested

local S, DIRTY = {}, {}
local function find(id)
  local s = S[id]
  if s == nil then
    local raw = redis.call('HGET', stKey, id)
    if not raw then return nil end
    s = cjson.decode(raw)
    S[id] = s
  end
  return s
end
local function get(id)
  local s = find(id)
  if s == nil then error('reducer: unknown instance ' .. id) end
  return s
end
local function touch(id) DIRTY[id] = true end

local P = {}
local function plan(id)
  local p = P[id]
  if p == nil then
    local raw = redis.call('HGET', planKey, id)
    if not raw then return nil end
    p = cjson.decode(raw)
    P[id] = p
  end
  return p
end

local ORDER = nil
local function order()
  if ORDER == nil then ORDER = redis.call('LRANGE', orderKey, 0, -1) end
  return ORDER
end

local function setState(id, s, new)
  local old = s.state
  if old == new then return end
  CNT[old] = CNT[old] - 1
  CNT[new] = CNT[new] + 1
  s.state = new
  if new == 'queued' or new == 'running' then redis.call('SADD', activeKey, id)
  elseif old == 'queued' or old == 'running' then redis.call('SREM', activeKey, id) end
  touch(id)
end

-- Effects, merged over the batch like reducer.mergeEffects.
local FX_D, FX_A = {}, {}
local wakeAt, finished = nil, nil
local function wake(at) if wakeAt == nil or at < wakeAt then wakeAt = at end end

local function dispatchIfReady(id, at)
  local s = get(id)
  if s.state ~= 'pending' or s.pendingDeps > 0 or cancelRequested or phase ~= 'running' then return end
  if s.notBefore ~= nil and s.notBefore > at then
    wake(s.notBefore)
    return
  end
  setState(id, s, 'queued')
  s.attempts = s.attempts + 1
  s.queuedAt = at
  if s.notBefore ~= nil then
    s.notBefore = nil
    redis.call('ZREM', backoffKey, id)
  end
  FX_D[#FX_D + 1] = id
end

-- One dependency of d is done (or skipped): d waits for one fewer.
local function release(d, at)
  local s = get(d)
  s.pendingDeps = s.pendingDeps - 1
  touch(d)
  dispatchIfReady(d, at)
end

local function onDone(id, at)
  local p = plan(id)
  if p == nil then return end
  for _, d in ipairs(p.dn) do release(d, at) end
end

local function failDownstream(id)
  local stack = {}
  local p = plan(id)
  if p ~= nil then for _, d in ipairs(p.dn) do stack[#stack + 1] = d end end
  while #stack > 0 do
    local d = table.remove(stack)
    local s = get(d)
    if not (TERMINAL[s.state] or s.state == 'running' or s.state == 'queued') then
      setState(d, s, 'upstream_failed')
      s.error = 'upstream ' .. id .. ' failed'
      s.errorCode = 'UPSTREAM_FAILED'
      local dp = plan(d)
      if dp ~= nil then for _, x in ipairs(dp.dn) do stack[#stack + 1] = x end end
    end
  end
end

local function cancelPending(at)
  for _, id in ipairs(order()) do
    local s = get(id)
    if s.state == 'pending' then
      setState(id, s, 'cancelled')
      s.finishedAt = at
    end
  end
end

local function roundIds(key)
  local raw = redis.call('HGET', roundsKey, key)
  if not raw then return {} end
  return cjson.decode(raw)
end

-- reducer.releaseSkipped: the dependents of instances just skipped, outside that set, stop waiting
-- for them.
local function releaseSkipped(skipped, isSkipped, at)
  for _, g in ipairs(skipped) do
    local gp = plan(g)
    if gp ~= nil then
      for _, d in ipairs(gp.dn) do
        if not isSkipped[d] then release(d, at) end
      end
    end
  end
end

local function checkConvergence(id, at)
  local p = plan(id)
  if p == nil or p.n <= 1 or p.m == nil then return end
  local sum = 0
  for _, g in ipairs(roundIds(p.b .. '.r' .. p.r)) do
    local s = get(g)
    if not DONE_OK[s.state] then return end
    local raw = redis.call('HGET', resKey, g)
    if raw then
      local r = cjson.decode(raw)
      local v = type(r.metrics) == 'table' and r.metrics[p.m] or nil
      if type(v) == 'number' then sum = sum + v end
    end
  end
  if sum > 0 or p.r >= p.n then return end
  -- Skip every later round first, then release only dependents outside those rounds: releasing
  -- round r+2 because round r+1 was skipped would run it.
  local skipped, isSkipped = {}, {}
  for r = p.r + 1, p.n do
    for _, g in ipairs(roundIds(p.b .. '.r' .. r)) do
      local s = get(g)
      if s.state == 'pending' then
        setState(g, s, 'skipped')
        s.skipReason = 'converged'
        s.finishedAt = at
        if not isSkipped[g] then
          skipped[#skipped + 1] = g
          isSkipped[g] = true
        end
      end
    end
  end
  releaseSkipped(skipped, isSkipped, at)
end

-- reducer.prune: pending work instances of a later stage of the same task are skipped (pruned),
-- then their dependents outside the pruned set are released.
local function prune(id, ids, at)
  local p = plan(id)
  if p == nil or type(ids) ~= 'table' or p.s == nil then return end
  local skipped, isSkipped = {}, {}
  for _, g in ipairs(ids) do
    local q = plan(g)
    local s = find(g)
    if q ~= nil and s ~= nil and q.s ~= nil and q.t == p.t and q.s > p.s and s.state == 'pending' and not isSkipped[g] then
      setState(g, s, 'skipped')
      s.skipReason = 'pruned'
      s.finishedAt = at
      if s.notBefore ~= nil then
        s.notBefore = nil
        redis.call('ZREM', backoffKey, g)
      end
      skipped[#skipped + 1] = g
      isSkipped[g] = true
    end
  end
  releaseSkipped(skipped, isSkipped, at)
end

local function fresh(id)
  local s = find(id)
  if s ~= nil then
    setState(id, s, 'pending')
    redis.call('SREM', activeKey, id)
  end
  local n = { state = 'pending', attempts = 0, pendingDeps = 0 }
  S[id] = n
  touch(id)
  redis.call('ZREM', backoffKey, id)
  redis.call('HDEL', resKey, id)
  return n
end

local function finishIfDone(at)
  if phase ~= 'running' then return end
  if CNT.pending + CNT.queued + CNT.running > 0 then return end
  local failed = CNT.failed + CNT.upstream_failed > 0
  if cancelRequested then phase = 'cancelled' elseif failed then phase = 'failed' else phase = 'succeeded' end
  finishedAt = at
  finished = phase
end

for _, e in ipairs(EVENTS) do
  seq = seq + 1
  local t = e.type
  local at = e.at
  local skip = (phase == 'succeeded' or phase == 'failed' or phase == 'cancelled') and t ~= 'reset'
  if not skip then
    if t == 'start' then
      if phase == 'pending' then phase = 'running'; startedAt = at end
      for _, id in ipairs(order()) do dispatchIfReady(id, at) end
    elseif t == 'recover' then
      if phase == 'pending' then phase = 'running'; startedAt = at end
      for _, id in ipairs(order()) do
        local s = get(id)
        if s.state == 'queued' or s.state == 'running' then
          -- The attempt was lost with the process: run it again, without charging a retry.
          setState(id, s, 'pending')
          s.attempts = math.max(0, s.attempts - 1)
          s.queuedAt = nil
          s.startedAt = nil
        end
      end
      if cancelRequested then cancelPending(at)
      else for _, id in ipairs(order()) do dispatchIfReady(id, at) end end
    elseif t == 'started' then
      local s = find(e.id)
      if s ~= nil and s.attempts == e.attempt and s.state == 'queued' then
        setState(e.id, s, 'running')
        s.startedAt = at
        if type(e.worker) == 'string' then s.worker = e.worker end
      end
    elseif t == 'succeeded' then
      local s = find(e.id)
      if s ~= nil and s.attempts == e.attempt and (s.state == 'queued' or s.state == 'running') then
        if e.memo == true then
          setState(e.id, s, 'skipped')
          s.skipReason = 'memoized'
        else
          setState(e.id, s, 'succeeded')
        end
        s.finishedAt = at
        if s.startedAt == nil then s.startedAt = at end
        -- The worker that finished it (a redelivered attempt's is not the one that started it).
        if type(e.worker) == 'string' then s.worker = e.worker end
        redis.call('HSET', resKey, e.id, ARGV[e.ri])
        s.error = nil
        s.errorCode = nil
        touch(e.id)
        -- Convergence first: the next round must be skipped before this completion releases it.
        checkConvergence(e.id, at)
        prune(e.id, e.pr, at)
        onDone(e.id, at)
      end
    elseif t == 'failed' then
      local s = find(e.id)
      if s ~= nil and s.attempts == e.attempt and (s.state == 'queued' or s.state == 'running') then
        s.error = e.error
        s.errorCode = e.code
        s.finishedAt = at
        touch(e.id)
        -- Its record among the instance's failed attempts (the last MAX_FAILED_ATTEMPTS).
        local fraw = redis.call('HGET', faKey, e.id)
        local fa = fraw and cjson.decode(fraw) or {}
        local rec = { attempt = e.attempt, at = at, code = e.code, error = e.error }
        if type(e.log) == 'string' then rec.log = e.log end
        table.insert(fa, rec)
        while #fa > ${MAX_FAILED_ATTEMPTS} do table.remove(fa, 1) end
        redis.call('HSET', faKey, e.id, cjson.encode(fa))
        local p = plan(e.id)
        local policy = nil
        if p ~= nil then
          local raw = redis.call('HGET', policyKey, p.t)
          if raw then policy = cjson.decode(raw) end
        end
        local retries = (policy and policy.retries) or 0
        local retryable = e.retryable == true and not NONRETRY[e.code] and not cancelRequested
        if retryable and s.attempts <= retries then
          local base = (policy and policy.backoffMs) or 1000
          local delay = math.min((policy and policy.backoffMaxMs) or 300000, base * 2 ^ (s.attempts - 1))
          setState(e.id, s, 'pending')
          s.notBefore = at + delay
          s.queuedAt = nil
          redis.call('ZADD', backoffKey, (p and p.i) or 0, e.id)
          wake(s.notBefore)
        elseif cancelRequested and e.code == 'TASK_CANCELLED' then
          setState(e.id, s, 'cancelled')
        else
          setState(e.id, s, 'failed')
          failDownstream(e.id)
        end
      end
    elseif t == 'tick' then
      if not cancelRequested then
        for _, id in ipairs(redis.call('ZRANGE', backoffKey, 0, -1)) do
          local s = get(id)
          if s.state == 'pending' and s.notBefore ~= nil then
            if s.notBefore <= at then dispatchIfReady(id, at) else wake(s.notBefore) end
          end
        end
      end
    elseif t == 'cancel' then
      cancelRequested = true
      cancelPending(at)
      for _, id in ipairs(order()) do
        local st = get(id).state
        if st == 'running' or st == 'queued' then FX_A[#FX_A + 1] = id end
      end
    elseif t == 'reset' then
      for _, id in ipairs(e.ids) do
        if find(id) ~= nil then fresh(id) end
      end
      for _, id in ipairs(order()) do
        local st = get(id).state
        if st == 'upstream_failed' or st == 'failed' or st == 'cancelled' then fresh(id) end
      end
      -- Recount: deps that are not done keep their dependents waiting.
      for _, id in ipairs(order()) do
        local p = plan(id)
        local n = 0
        if p ~= nil then for _, d in ipairs(p.d) do if not DONE_OK[get(d).state] then n = n + 1 end end end
        local s = get(id)
        if s.pendingDeps ~= n then s.pendingDeps = n; touch(id) end
      end
      cancelRequested = false
      phase = 'running'
      finishedAt = nil
      for _, id in ipairs(order()) do dispatchIfReady(id, at) end
    end
    finishIfDone(at)
  end
end

-- Write back.
local batch = {}
for id in pairs(DIRTY) do
  batch[#batch + 1] = id
  batch[#batch + 1] = enc(S[id])
  if #batch >= 1000 then redis.call('HSET', stKey, unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('HSET', stKey, unpack(batch)) end
local cnt = {}
for _, s in ipairs(STATES) do
  if CNT[s] ~= CNT0[s] then cnt[#cnt + 1] = s; cnt[#cnt + 1] = CNT[s] end
end
if #cnt > 0 then redis.call('HSET', cntKey, unpack(cnt)) end
local mw = { 'seq', num(seq) }
if phase ~= phase0 then mw[#mw + 1] = 'phase'; mw[#mw + 1] = phase end
if cancelRequested ~= cancel0 then mw[#mw + 1] = 'cancelRequested'; mw[#mw + 1] = cancelRequested and '1' or '0' end
if startedAt ~= nil and startedAt ~= startedAt0 then mw[#mw + 1] = 'startedAt'; mw[#mw + 1] = num(startedAt) end
if finishedAt ~= nil and finishedAt ~= finishedAt0 then mw[#mw + 1] = 'finishedAt'; mw[#mw + 1] = num(finishedAt) end
redis.call('HSET', metaKey, unpack(mw))
if startedAt == nil and startedAt0 ~= nil then redis.call('HDEL', metaKey, 'startedAt') end
if finishedAt == nil and finishedAt0 ~= nil then redis.call('HDEL', metaKey, 'finishedAt') end

local w = ''
if wakeAt ~= nil and finished == nil then w = num(wakeAt) end
local nViews, wantKnown = string.match(ARGV[3], '^(%d+)(%+?)$')
nViews = tonumber(nViews) or 0
local known = {}
-- A cap on the ids the reply carries (dispatched + their deps): each costs HGETs while Redis runs
-- this script alone, and a bucket stage may have thousands of deps. Above it: none (the
-- dispatcher reads what it needs).
local KNOWN_MAX = ${REPLY_STATUSES_MAX}
if wantKnown == '+' and #FX_D > 0 and #FX_D <= KNOWN_MAX then
  local ids, seen, over = {}, {}, false
  local function add(id)
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
    return #ids > KNOWN_MAX
  end
  for _, id in ipairs(FX_D) do
    over = add(id)
    local p = plan(id)
    if p ~= nil and not over then
      for _, d in ipairs(p.d) do
        over = add(d)
        if over then break end
      end
    end
    if over then break end
  end
  if over then ids = {} end
  for _, id in ipairs(ids) do
    local s = find(id)
    if s ~= nil then
      known[#known + 1] = id
      known[#known + 1] = enc(s)
      known[#known + 1] = redis.call('HGET', resKey, id) or ''
      known[#known + 1] = redis.call('HGET', faKey, id) or ''
    end
  end
end
local views = {}
for i = 4, 3 + nViews do
  local v = ''
  if ARGV[i] ~= '' then
    local s = find(ARGV[i])
    if s ~= nil then v = enc(s) end
  end
  views[#views + 1] = v
end
return { FX_D, FX_A, w, finished or '', phase, cancelRequested and '1' or '0', views, known }
`;
