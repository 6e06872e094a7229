/**
 * The create script: stores a new run (record, meta, static plan, statuses) in one atomic step,
 * refusing when the run exists. Kept as a TS string so it ships inside dist/.
 */
export const CREATE_LUA = String.raw`
--[[
  create — stores a new run atomically; fails when its record exists.

  KEYS[1] record  KEYS[2] meta  KEYS[3] cnt  KEYS[4] st  KEYS[5] res  KEYS[6] plan  KEYS[7] order
  KEYS[8] rounds  KEYS[9] policy  KEYS[10] backoff  KEYS[11] active   (see scheduler/redis/keys.ts)
  ARGV[1] RunRecord JSON
  ARGV[2] JSON array of meta field/value strings ["dag","…","phase","…","createdAt","…",…]
  ARGV[3] N, the number of instances; then N groups of 6, in plan order:
          id, state, status JSON, plan entry JSON, result JSON or '', '1' when the status has notBefore
  then    M, then M pairs: round key, JSON array of ids
  then    K, then K pairs: task, RetryPolicy JSON
  Returns 1, or an error reply "RUN_EXISTS".
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('RUN_EXISTS') end
redis.call('SET', KEYS[1], ARGV[1])
local meta = cjson.decode(ARGV[2])
for i = 1, #meta, 2 do redis.call('HSET', KEYS[2], meta[i], meta[i + 1]) end
local counts = { pending = 0, queued = 0, running = 0, succeeded = 0, failed = 0, upstream_failed = 0, skipped = 0, cancelled = 0 }
local n = tonumber(ARGV[3])
local a = 4
for j = 1, n do
  local id, state = ARGV[a], ARGV[a + 1]
  redis.call('HSET', KEYS[4], id, ARGV[a + 2])
  redis.call('HSET', KEYS[6], id, ARGV[a + 3])
  redis.call('RPUSH', KEYS[7], id)
  if ARGV[a + 4] ~= '' then redis.call('HSET', KEYS[5], id, ARGV[a + 4]) end
  if ARGV[a + 5] == '1' then redis.call('ZADD', KEYS[10], j - 1, id) end
  if state == 'queued' or state == 'running' then redis.call('SADD', KEYS[11], id) end
  counts[state] = (counts[state] or 0) + 1
  a = a + 6
end
local mr = tonumber(ARGV[a]); a = a + 1
for _ = 1, mr do redis.call('HSET', KEYS[8], ARGV[a], ARGV[a + 1]); a = a + 2 end
local k = tonumber(ARGV[a]); a = a + 1
for _ = 1, k do redis.call('HSET', KEYS[9], ARGV[a], ARGV[a + 1]); a = a + 2 end
for s, c in pairs(counts) do redis.call('HSET', KEYS[3], s, c) end
return 1
`;
