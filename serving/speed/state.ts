/**
 * The speed layer's realtime views in Redis (keys: scheduler/redis/keys.ts speedKeys): per hour and
 * URL a pageview counter and a HyperLogLog sketch in dagctl's own format (operators/lib/sketches/hll.ts,
 * docs/serving.md) — not Redis's native HLL, whose MurmurHash64A registers cannot be merged with
 * the batch view's MurmurHash3 sketches; this way a range across the batch/speed split merges
 * uniques exactly as the batch layer does.
 *
 *   applyBatch(redis, view, batch) → 'applied' | 'replayed' | { overlap: lastApplied }
 *        one micro-batch (a partition's offset range [first, last] and its aggregates), in ONE Lua
 *        script: the partition's marker (last applied offset) is checked and set together with every
 *        HINCRBY and sketch merge — exactly once per micro-batch, also across a kill -9 (a script runs
 *        to completion on the server or not at all). A batch at or below the marker is a replay and
 *        changes nothing; one straddling it is refused (`overlap`: the caller re-cuts after it).
 *        Hours before `expiredBelow` (absorbed by the batch view) or past the TTL are dropped (and
 *        counted), never resurrected.
 *   expireBelow(redis, view, hwm) → hours deleted: drops realtime hours < hwm and raises expiredBelow
 *   appliedOffsets(redis, view)   → partition → last applied offset
 *   readHours(redis, view, url, from, to) → the hours [from, to) of one URL plus the state's meta,
 *        read in one MULTI (one consistent snapshot)
 * Every hour key also expires `ttl` seconds after the hour's end (a safety net when the batch layer
 * stops publishing); queries refuse hours that old rather than answer them as empty.
 * Sketch updates in Lua keep dagctl's format exactly: sparse (p' = 25 entries, ascending by index,
 * the larger rank per index) while at most m/32 = 512 entries, then dense at p = 14.
 */
import type { Redis } from 'ioredis';
import { DagctlError } from '../../core/errors.js';
import { speedKeys } from '../../scheduler/redis/keys.js';
import { LuaScript } from '../../scheduler/redis/script.js';

/** The precision of the speed layer's sketches: the rollup views' default (p = 14). */
export const SPEED_HLL_P = 14;

/** One URL's part of a micro-batch in one hour. */
export interface UrlHour {
  count: number;
  /** Sparse HLL entries (p' = 25): index → rank, the larger rank per index. */
  entries: Map<number, number>;
}

export interface SpeedBatch {
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** Hour start (epoch s) → url → counts and sketch entries. */
  hours: Map<number, Map<string, UrlHour>>;
  /** Seconds an hour is kept after its end, whatever the batch layer does. */
  ttlSeconds: number;
}

const APPLY = new LuaScript(
  'speed-apply',
  `
local M, SPARSE_MAX = 16384, 512
local function u32(s, o)
  local a, b, c, d = string.byte(s, o, o + 3)
  return a + b * 256 + c * 65536 + d * 16777216
end
local function le32(n)
  return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256)
end
-- dense register and rank (p = 14) of a sparse entry (p' = 25): operators/lib/sketches/hll.ts denseOf
local function denseOf(idx, r25)
  local low, reg = idx % 2048, math.floor(idx / 2048)
  if low ~= 0 then
    local bl = 0
    while low > 0 do bl = bl + 1; low = math.floor(low / 2) end
    return reg, 12 - bl
  end
  return reg, 11 + r25
end
local function denseString(regs)
  local parts, chunk = {}, {}
  for i = 0, M - 1 do
    chunk[#chunk + 1] = regs[i] or 0
    if #chunk == 1024 then parts[#parts + 1] = string.char(unpack(chunk)); chunk = {} end
  end
  return 'H\\1\\14\\1' .. table.concat(parts)
end
local function merge(cur, packed)
  local n = #packed / 5
  if cur and string.byte(cur, 4) == 1 then
    local upd, regs = {}, {}
    for j = 0, n - 1 do
      local o = 1 + j * 5
      local reg, r = denseOf(u32(packed, o), string.byte(packed, o + 4))
      if (upd[reg] or 0) < r then upd[reg] = r end
    end
    for reg, r in pairs(upd) do
      if r > string.byte(cur, 5 + reg) then regs[#regs + 1] = reg end
    end
    if #regs == 0 then return cur end
    table.sort(regs)
    local parts, pos = {}, 1
    for _, reg in ipairs(regs) do
      parts[#parts + 1] = string.sub(cur, pos, 4 + reg)
      parts[#parts + 1] = string.char(upd[reg])
      pos = 6 + reg
    end
    parts[#parts + 1] = string.sub(cur, pos)
    return table.concat(parts)
  end
  local a, an = '', 0
  if cur then a = string.sub(cur, 9); an = #a / 5 end
  local out, i, j = {}, 0, 0
  while i < an or j < n do
    local ia = i < an and u32(a, 1 + i * 5) or nil
    local ib = j < n and u32(packed, 1 + j * 5) or nil
    if ib == nil or (ia ~= nil and ia < ib) then
      out[#out + 1] = string.sub(a, 1 + i * 5, 5 + i * 5); i = i + 1
    elseif ia == nil or ib < ia then
      out[#out + 1] = string.sub(packed, 1 + j * 5, 5 + j * 5); j = j + 1
    else
      if string.byte(a, 5 + i * 5) >= string.byte(packed, 5 + j * 5) then out[#out + 1] = string.sub(a, 1 + i * 5, 5 + i * 5)
      else out[#out + 1] = string.sub(packed, 1 + j * 5, 5 + j * 5) end
      i = i + 1; j = j + 1
    end
  end
  if #out <= SPARSE_MAX then return 'H\\1\\14\\0' .. le32(#out) .. table.concat(out) end
  local regs = {}
  for k = 1, #out do
    local e = out[k]
    local reg, r = denseOf(u32(e, 1), string.byte(e, 5))
    if (regs[reg] or 0) < r then regs[reg] = r end
  end
  return denseString(regs)
end

local offsets, meta, hours = KEYS[1], KEYS[2], KEYS[3]
local part, first, last, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local done = tonumber(redis.call('HGET', offsets, part) or '-1')
if done >= last then return {0, done, 0} end
if done >= first then return {-1, done, 0} end
local expiredBelow = tonumber(redis.call('HGET', meta, 'expiredBelow') or '-1')
local maxHour = tonumber(redis.call('HGET', meta, 'maxHour') or '-1')
local now = tonumber(redis.call('TIME')[1])
local nh, a, k, dropped = tonumber(ARGV[5]), 6, 4, 0
for _ = 1, nh do
  local hour, nu = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local pvk, hllk = KEYS[k], KEYS[k + 1]
  k = k + 2
  -- absorbed by the batch view already, or older than the TTL: not kept (counted as dropped)
  local keep = hour >= expiredBelow and hour + 3600 + ttl > now
  for _ = 1, nu do
    local url, cnt, packed = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
    a = a + 3
    if keep then
      redis.call('HINCRBY', pvk, url, cnt)
      redis.call('HSET', hllk, url, merge(redis.call('HGET', hllk, url), packed))
    else
      dropped = dropped + cnt
    end
  end
  if keep then
    redis.call('ZADD', hours, hour, hour)
    redis.call('EXPIREAT', pvk, hour + 3600 + ttl)
    redis.call('EXPIREAT', hllk, hour + 3600 + ttl)
    if hour > maxHour then maxHour = hour end
  end
end
redis.call('HSET', offsets, part, last)
redis.call('HSET', meta, 'maxHour', maxHour, 'ttl', ttl)
return {1, done, dropped}
`,
);

const EXPIRE = new LuaScript(
  'speed-expire',
  `
local hwm = tonumber(ARGV[2])
local cur = tonumber(redis.call('HGET', KEYS[1], 'expiredBelow') or '-1')
if hwm <= cur then return 0 end
local hs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
for _, h in ipairs(hs) do redis.call('DEL', ARGV[1] .. 'pv:' .. h, ARGV[1] .. 'hll:' .. h) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
redis.call('HSET', KEYS[1], 'expiredBelow', ARGV[2])
return #hs
`,
);

export type ApplyResult = { outcome: 'applied'; dropped: number } | { outcome: 'replayed' } | { outcome: 'overlap'; lastApplied: number };

/** Sparse entries as the script takes them: 5 bytes each (uint32 LE index, uint8 rank), ascending. */
export function packEntries(entries: Map<number, number>): Buffer {
  const idx = [...entries.keys()].sort((a, b) => a - b);
  const buf = Buffer.allocUnsafe(idx.length * 5);
  for (let j = 0; j < idx.length; j++) {
    buf.writeUInt32LE(idx[j]!, j * 5);
    buf[j * 5 + 4] = entries.get(idx[j]!)!;
  }
  return buf;
}

export async function applyBatch(redis: Redis, view: string, b: SpeedBatch): Promise<ApplyResult> {
  const k = speedKeys(view);
  const keys = [k.offsets, k.meta, k.hours];
  const argv: (string | number | Buffer)[] = [String(b.partition), b.firstOffset, b.lastOffset, Math.floor(b.ttlSeconds), b.hours.size];
  for (const [hour, urls] of b.hours) {
    keys.push(k.pv(hour), k.hll(hour));
    argv.push(hour, urls.size);
    for (const [url, u] of urls) argv.push(url, u.count, packEntries(u.entries));
  }
  const r = (await APPLY.run(redis, keys, argv)) as [number, number, number];
  if (r[0] === 1) return { outcome: 'applied', dropped: r[2] };
  if (r[0] === 0) return { outcome: 'replayed' };
  return { outcome: 'overlap', lastApplied: r[1] };
}

/** Drops every realtime hour before `hwm` (the batch view absorbed them); returns how many. */
export async function expireBelow(redis: Redis, view: string, hwm: number): Promise<number> {
  const k = speedKeys(view);
  return Number(await EXPIRE.run(redis, [k.meta, k.hours], [k.prefix, hwm]));
}

export async function appliedOffsets(redis: Redis, view: string): Promise<Map<number, number>> {
  const h = await redis.hgetall(speedKeys(view).offsets);
  return new Map(Object.entries(h).map(([p, o]) => [Number(p), Number(o)]));
}

export interface SpeedMeta {
  /** Start of the latest hour holding realtime data (null: none yet). */
  maxHour: number | null;
  /** Hours before this were expired (absorbed by the batch view); null: none yet. */
  expiredBelow: number | null;
  ttlSeconds: number | null;
}

export interface SpeedHours {
  meta: SpeedMeta;
  /** Per hour of [from, to), in order: pageviews and the sketch (null when the URL had none). */
  hours: { hour: number; pageviews: number; sketch: Uint8Array | null }[];
}

function optNum(v: string | null | undefined): number | null {
  return v === null || v === undefined ? null : Number(v);
}

export async function readSpeedMeta(redis: Redis, view: string): Promise<SpeedMeta> {
  const [maxHour, expiredBelow, ttl] = await redis.hmget(speedKeys(view).meta, 'maxHour', 'expiredBelow', 'ttl');
  return { maxHour: optNum(maxHour), expiredBelow: optNum(expiredBelow), ttlSeconds: optNum(ttl) };
}

/** One URL's realtime hours [from, to) (hour-aligned) and the meta, in one MULTI. */
export async function readHours(redis: Redis, view: string, url: string, from: number, to: number): Promise<SpeedHours> {
  if (from % 3600 !== 0 || to % 3600 !== 0) throw new DagctlError('INTERNAL', `readHours: [${from}, ${to}) is not hour-aligned`);
  const k = speedKeys(view);
  const m = redis.multi().hmget(k.meta, 'maxHour', 'expiredBelow', 'ttl');
  for (let h = from; h < to; h += 3600) m.hget(k.pv(h), url).hgetBuffer(k.hll(h), url);
  const res = await m.exec();
  if (res === null) throw new DagctlError('REDIS_UNAVAILABLE', 'speed-layer read aborted (MULTI returned null)');
  for (const [e] of res) if (e !== null) throw e;
  const [maxHour, expiredBelow, ttl] = res[0]![1] as (string | null)[];
  const hours: SpeedHours['hours'] = [];
  let i = 1;
  for (let h = from; h < to; h += 3600) {
    const pv = res[i++]![1] as string | null;
    const sk = res[i++]![1] as Buffer | null;
    hours.push({ hour: h, pageviews: pv === null ? 0 : Number(pv), sketch: sk === null ? null : new Uint8Array(sk.buffer, sk.byteOffset, sk.byteLength) });
  }
  return { meta: { maxHour: optNum(maxHour), expiredBelow: optNum(expiredBelow), ttlSeconds: optNum(ttl) }, hours };
}

/** The speed layer of one view as serving/query.ts reads it. */
export function redisSpeedSource(redis: Redis, view: string): { read(url: string, from: number, to: number): Promise<SpeedHours> } {
  return { read: (url, from, to) => readHours(redis, view, url, from, to) };
}
