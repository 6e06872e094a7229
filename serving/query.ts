/**
 * Range queries over a loaded view (serving/view.ts): "pageviews and uniques of key K over
 * [from, to)". The range is rounded outwards to whole finest buckets (serving/ranges.ts
 * roundRange: reported as `rounded`), covered with the fewest buckets (decompose), their
 * pageviews summed and their HyperLogLog sketches merged (operators/lib/sketches/hll.ts: register max) for
 * uniques. A bucket absent from the view had no pageviews and contributes nothing.
 *
 *   parseWhere(["url=U", …]) → Record<column, value>
 *   parseTime("2024-03-01T03:00:00Z" | epoch seconds) → epoch seconds
 *   answer(snapshot, where, from, to) → QueryAnswer (one snapshot: one version, never a mix)
 *   answerJson(snapshot, where, from, to) → { json, bytes }: JSON.stringify of that answer, built
 *                                   directly (what `dagctl serve` sends)
 *
 * Refusals (DagctlError, input errors): QUERY_KEY_UNKNOWN (a --where column that is not a key
 * column of the view, or a key column left out), QUERY_RANGE_INVALID (from ≥ to, unparsable
 * times), QUERY_RANGE_OUTSIDE_DATA (the rounded range reaches outside the view's data — its first
 * finest bucket to its last: hours past the batch view's high-water mark are not in it, and
 * answering as if they had no pageviews would be a silent wrong answer).
 */
import { DagctlError } from '../core/errors.js';
import type { Granularity } from '../domain/granularity.js';
import { denseEstimate, maxRegisters, sparseEstimate } from '../operators/lib/sketches/hll.js';
import { hllKernel } from './hll-kernel.js';
import { decompose, roundRange, type RoundedRange } from './ranges.js';
import { rowOf, SKETCH_NONE, SKETCH_SPARSE, sketchOf, type KeyBlock, type ViewSnapshot } from './view.js';
import { GRANULARITIES } from '../domain/granularity.js';
import type { SpeedHours } from './speed/state.js';

export interface AnswerBucket {
  granularity: Granularity;
  /** Bucket start, ISO 8601 UTC. */
  start: string;
  pageviews: number;
  /** The bucket's HLL sketch, base64 (docs/serving.md), when asked for (sketches: true) and present. */
  sketch?: string;
  /** 'speed' for a realtime hour read from the speed layer (absent: the batch view's bucket). */
  layer?: 'speed';
}

/**
 * The speed layer's realtime hours of one URL (serving/speed/state.ts readHours over Redis): a
 * port, so the query logic stays pure of I/O.
 */
export interface SpeedSource {
  read(url: string, from: number, to: number): Promise<SpeedHours>;
}

export interface QueryAnswer {
  pageviews: number;
  /** null when the view keeps no sketches (no hll column). */
  uniques: number | null;
  buckets: AnswerBucket[];
  view: string;
  version: string;
  key: Record<string, string>;
  /** The range answered, after rounding (ISO 8601 UTC, [from, to)). */
  from: string;
  to: string;
  /** true when the requested range was widened to whole finest buckets. */
  rounded: boolean;
  requested: { from: string; to: string };
  /** The merged sketch of the range, base64, when asked for and any bucket had one. */
  sketch?: string;
  /** The part of the range answered from the speed layer's realtime hours (after the batch view's high-water mark). */
  realtime?: { from: string; to: string };
}

/** `col=value` pairs (the value may contain '='); a column given twice is refused. */
export function parseWhere(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new DagctlError('QUERY_INVALID', `--where expects column=value, got "${p}"`, { where: p });
    const col = p.slice(0, eq);
    if (col in out) throw new DagctlError('QUERY_INVALID', `--where names column ${col} twice`, { column: col });
    out[col] = p.slice(eq + 1);
  }
  return out;
}

/**
 * An ISO 8601 instant (a date alone is midnight UTC; a date-time without a zone is taken as UTC)
 * or integer epoch seconds.
 */
export function parseTime(s: string, what: string): number {
  const known = times.get(s);
  if (known !== undefined) return known;
  const t = s.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(t) ? `${t}Z` : t;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : NaN;
  if (!Number.isFinite(ms)) throw new DagctlError('QUERY_RANGE_INVALID', `${what}: "${s}" is not an ISO 8601 time (2024-03-01T03:00:00Z) or epoch seconds`, { [what]: s });
  const sec = Math.floor(ms / 1000);
  if (times.size >= 50_000) times.clear();
  times.set(s, sec);
  return sec;
}
/** parseTime's parsed texts (a server sees the same range ends again and again; bounded). */
const times = new Map<string, number>();

const isoCache = new Map<number, string>();
/** Epoch seconds → ISO 8601 UTC without milliseconds (bucket starts repeat: memoized, bounded). */
export function iso(sec: number): string {
  let s = isoCache.get(sec);
  if (s === undefined) {
    s = new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
    if (isoCache.size >= 100_000) isoCache.clear();
    isoCache.set(sec, s);
  }
  return s;
}

/** The key-column values of `where`, in the view's key order; refuses unknown or missing columns. */
export function keyValues(snap: ViewSnapshot, where: Record<string, string>): string[] {
  for (const c of Object.keys(where)) {
    if (!snap.keyColumns.includes(c)) {
      throw new DagctlError('QUERY_KEY_UNKNOWN', `view ${snap.name} has no key column "${c}" (key columns: ${snap.keyColumns.join(', ')})`, { view: snap.name, column: c, keyColumns: snap.keyColumns });
    }
  }
  return snap.keyColumns.map((c) => {
    const v = where[c];
    if (v === undefined) throw new DagctlError('QUERY_KEY_UNKNOWN', `view ${snap.name} is keyed by ${snap.keyColumns.join(', ')}: give ${c}=VALUE`, { view: snap.name, column: c, keyColumns: snap.keyColumns, missing: true });
    return v;
  });
}

/**
 * A range's buckets (decompose) with what a query needs of each: its granularity's index
 * (GRANULARITIES) and start hour (a KeyBlock's rowOf), ISO start, and its answer's JSON up to the
 * pageviews (`{"granularity":"h","start":"…","pageviews":`).
 */
interface Plan { granularity: Granularity[]; g: number[]; hour: number[]; start: string[]; json: string[] }
/** Plans by granularities (a view's array, by identity), then from, then to; `planCount` of them in all. */
const plans = new WeakMap<Granularity[], Map<number, Map<number, Plan>>>();
let planCount = 0, planEpoch = 0;
const planEpochs = new WeakMap<Granularity[], number>();
/**
 * decompose(from, to, granularities) as a Plan, memoized (bounded: forgotten at 50,000 ranges): it
 * depends on the range and the granularities only, never on a key or a version, and is never
 * mutated — a repeated range costs two number-keyed map lookups instead of the decomposition and
 * its strings.
 */
function planOf(from: number, to: number, granularities: Granularity[]): Plan {
  let byFrom = plans.get(granularities);
  if (byFrom === undefined || planEpochs.get(granularities) !== planEpoch) {
    plans.set(granularities, (byFrom = new Map()));
    planEpochs.set(granularities, planEpoch);
  }
  let byTo = byFrom.get(from);
  if (byTo === undefined) byFrom.set(from, (byTo = new Map()));
  let p = byTo.get(to);
  if (p === undefined) {
    p = { granularity: [], g: [], hour: [], start: [], json: [] };
    for (const b of decompose(from, to, granularities)) {
      const start = iso(b.start);
      p.granularity.push(b.granularity);
      p.g.push(GRANULARITIES.indexOf(b.granularity));
      p.hour.push(b.start / 3600);
      p.start.push(start);
      p.json.push(`{"granularity":${JSON.stringify(b.granularity)},"start":${JSON.stringify(start)},"pageviews":`);
    }
    if (++planCount > 50_000) {
      // Every memoized plan forgotten (a new epoch: each view's maps are replaced on next use).
      planCount = 1;
      planEpoch++;
      plans.set(granularities, (byFrom = new Map()));
      planEpochs.set(granularities, planEpoch);
      byFrom.set(from, (byTo = new Map()));
    }
    byTo.set(to, p);
  }
  return p;
}

export interface AnswerOptions {
  sketches?: boolean;
  /** Realtime hours past the batch view's high-water mark (a view keyed by url alone, with hour buckets). */
  speed?: SpeedSource;
  /** Epoch seconds now (the speed layer's TTL check); default: the clock. */
  now?: number;
}

/** A query checked and its data read, from one snapshot: what answer and answerJson build their answers from. */
interface Resolved {
  values: string[];
  r: RoundedRange;
  /** The key's block and the batch part's plan (null: the range is wholly past the view's high-water mark). */
  block: KeyBlock | null;
  plan: Plan | null;
  /** The speed layer's part: its start and realtime hours (null: none). */
  speed: { from: number; hours: SpeedHours['hours'] } | null;
}

/** A query's key values and rounded range (keyValues' and roundRange's refusals; a view without rows). */
function checked(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number): { values: string[]; r: RoundedRange; extent: NonNullable<ViewSnapshot['extent']> } {
  const values = keyValues(snap, where);
  const extent = snap.extent;
  if (extent === null) throw new DagctlError('QUERY_RANGE_OUTSIDE_DATA', `view ${snap.name} version ${snap.version} holds no rows`, { view: snap.name, version: snap.version });
  return { values, r: roundRange(from, to, snap.granularities), extent };
}

/** A checked query's Resolved when the batch view alone answers it and its key's block is cached; else undefined. */
function fromCache(snap: ViewSnapshot, values: string[], r: RoundedRange, extent: NonNullable<ViewSnapshot['extent']>): Resolved | undefined {
  if (r.from < extent.from || r.to > extent.to) return undefined;
  const block = snap.cachedBlock(values);
  if (block === undefined) return undefined;
  return { values, r, block, plan: planOf(r.from, r.to, snap.granularities), speed: null };
}

/**
 * resolve without I/O: the query checked (every refusal of resolve's own checks) and, when the
 * key's block is cached and no hour past the high-water mark is asked of the speed layer, its
 * Resolved; undefined when it needs a block read or the speed layer (then resolve).
 */
function resolveCached(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number): Resolved | undefined {
  const { values, r, extent } = checked(snap, where, from, to);
  return fromCache(snap, values, r, extent);
}

/** Checks a query, reads the key's block (cached: no await) and the speed layer's hours; every refusal of answer. */
async function resolve(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number, opts: AnswerOptions): Promise<Resolved> {
  const { values, r, extent } = checked(snap, where, from, to);
  const cached = fromCache(snap, values, r, extent);
  if (cached !== undefined) return cached;
  const hwm = extent.to;
  const speed = opts.speed;
  if (r.from < extent.from || (r.to > hwm && speed === undefined)) {
    throw new DagctlError('QUERY_RANGE_OUTSIDE_DATA', `[${iso(r.from)}, ${iso(r.to)}) reaches outside the data of view ${snap.name} version ${snap.version}: [${iso(extent.from)}, ${iso(extent.to)})`, {
      view: snap.name, version: snap.version, from: iso(r.from), to: iso(r.to), dataFrom: iso(extent.from), dataTo: iso(extent.to),
    });
  }
  let block: KeyBlock | null = null, plan: Plan | null = null;
  const batchTo = Math.min(r.to, hwm);
  if (r.from < batchTo) {
    const cached = snap.cachedBlock(values);
    block = cached !== undefined ? cached : await snap.block(values);
    plan = planOf(r.from, batchTo, snap.granularities);
  }
  if (r.to <= hwm || speed === undefined) return { values, r, block, plan, speed: null };
  const sFrom = Math.max(r.from, hwm);
  if (snap.granularities[0] !== 'h' || snap.keyColumns.length !== 1 || snap.keyColumns[0] !== 'url') {
    throw new DagctlError('QUERY_RANGE_OUTSIDE_DATA', `view ${snap.name} is not keyed by url with hour buckets: the speed layer cannot answer [${iso(sFrom)}, ${iso(r.to)}) past its data`, { view: snap.name, dataTo: iso(hwm) });
  }
  const sp = await speed.read(values[0]!, sFrom, r.to);
  const details = { view: snap.name, version: snap.version, from: iso(r.from), to: iso(r.to), dataFrom: iso(extent.from), dataTo: iso(hwm) };
  if (sp.meta.expiredBelow !== null && sp.meta.expiredBelow > sFrom) {
    // The speed layer expired hours a newer batch version holds: this snapshot is behind.
    throw new DagctlError('QUERY_VIEW_STALE', `view ${snap.name} version ${snap.version} (data to ${iso(hwm)}) is older than the batch version the speed layer expired up to (${iso(sp.meta.expiredBelow)}): re-read the view`, { ...details, expiredBelow: iso(sp.meta.expiredBelow) });
  }
  if (sp.meta.maxHour === null || r.to > sp.meta.maxHour + 3600) {
    throw new DagctlError('QUERY_RANGE_OUTSIDE_DATA', `[${iso(r.from)}, ${iso(r.to)}) reaches past the data: the batch view ${snap.name} ends at ${iso(hwm)} and the speed layer's latest hour ${sp.meta.maxHour === null ? 'does not exist yet' : `ends at ${iso(sp.meta.maxHour + 3600)}`}`, {
      ...details, realtimeTo: sp.meta.maxHour === null ? null : iso(sp.meta.maxHour + 3600),
    });
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (sp.meta.ttlSeconds !== null && sFrom + 3600 + sp.meta.ttlSeconds <= now) {
    throw new DagctlError('QUERY_RANGE_OUTSIDE_DATA', `realtime hours from ${iso(sFrom)} are older than the speed layer's TTL (${sp.meta.ttlSeconds} s) and the batch view ${snap.name} has not absorbed them (data to ${iso(hwm)})`, { ...details, ttlSeconds: sp.meta.ttlSeconds });
  }
  return { values, r, block, plan, speed: { from: sFrom, hours: sp.hours } };
}

export async function answer(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number, opts: AnswerOptions = {}): Promise<QueryAnswer> {
  const { values, r, block, plan, speed } = await resolve(snap, where, from, to, opts);
  let pageviews = 0;
  const sketches: Uint8Array[] = [];
  const buckets: AnswerBucket[] = [];
  if (plan !== null) {
    for (let k = 0; k < plan.granularity.length; k++) {
      const i = block === null ? -1 : rowOf(block, plan.g[k]!, plan.hour[k]!);
      const pv = i < 0 ? 0 : block!.pageviews[i]!;
      pageviews += pv;
      const sketch = i < 0 ? null : sketchOf(block!, i);
      const bucket: AnswerBucket = { granularity: plan.granularity[k]!, start: plan.start[k]!, pageviews: pv };
      if (opts.sketches === true && sketch !== null) bucket.sketch = Buffer.from(sketch).toString('base64');
      buckets.push(bucket);
      if (sketch !== null) sketches.push(sketch);
    }
  }
  let realtime: QueryAnswer['realtime'];
  if (speed !== null) {
    for (const h of speed.hours) {
      pageviews += h.pageviews;
      buckets.push({ granularity: 'h', start: iso(h.hour), pageviews: h.pageviews, layer: 'speed', ...(opts.sketches === true && h.sketch !== null ? { sketch: Buffer.from(h.sketch).toString('base64') } : {}) });
      if (h.sketch !== null) sketches.push(h.sketch);
    }
    realtime = { from: iso(speed.from), to: iso(r.to) };
  }
  const merged = sketches.length === 0 ? null : mergeSketches(sketches, { bytes: opts.sketches === true });
  const uniques = !snap.hasHll ? null : merged === null ? 0 : merged.uniques;
  return {
    pageviews, uniques, buckets,
    view: snap.name, version: snap.version,
    key: Object.fromEntries(snap.keyColumns.map((c, k) => [c, values[k]!])),
    from: iso(r.from), to: iso(r.to), rounded: r.rounded, requested: { from: iso(from), to: iso(to) },
    ...(merged?.bytes !== undefined ? { sketch: Buffer.from(merged.bytes).toString('base64') } : {}),
    ...(realtime !== undefined ? { realtime } : {}),
  };
}

/** An answer's JSON text and its UTF-8 length (a response's Content-Length). */
export interface AnswerJson {
  json: string;
  bytes: number;
}

/** Per snapshot: `"view":…,"version":…` and its UTF-8 bytes beyond its length; whether the key object can be written in key order. */
const heads = new WeakMap<ViewSnapshot, { json: string; extra: number; plainKeys: boolean }>();
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;
/** The speed layer's sketches of the answer being built by answerJson (synchronous from its first push to the merge). */
const pending: Uint8Array[] = [];
/** The block rows with a sketch of the answer being built by answerJson (its first nRows entries; synchronous, as pending). */
const rows: number[] = [];

/**
 * JSON.stringify(await answer(snap, where, from, to, opts)) — the same text, byte for byte, and its
 * UTF-8 length — built without the answer object: each bucket's text is its plan's memoized
 * prefix and its pageviews; only the view, version and key values can hold non-ASCII text.
 * With `sketches` it is that JSON.stringify.
 */
export async function answerJson(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number, opts: AnswerOptions = {}): Promise<AnswerJson> {
  if (opts.sketches === true) {
    const json = JSON.stringify(await answer(snap, where, from, to, opts));
    return { json, bytes: Buffer.byteLength(json) };
  }
  return render(snap, await resolve(snap, where, from, to, opts), from, to);
}

/**
 * answerJson without I/O: its answer when the key's block is cached and the speed layer is not
 * asked (resolveCached), undefined when answerJson must read (or with `sketches`); refusals as answerJson's.
 */
export function answerJsonCached(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number, opts: AnswerOptions = {}): AnswerJson | undefined {
  if (opts.sketches === true) return undefined;
  const res = resolveCached(snap, where, from, to);
  return res === undefined ? undefined : render(snap, res, from, to);
}

/** answerJson's text of a resolved query. */
function render(snap: ViewSnapshot, { values, r, block, plan, speed }: Resolved, from: number, to: number): AnswerJson {
  let head = heads.get(snap);
  if (head === undefined) {
    const json = `"view":${JSON.stringify(snap.name)},"version":${JSON.stringify(snap.version)}`;
    heads.set(snap, (head = { json, extra: Buffer.byteLength(json) - json.length, plainKeys: !snap.keyColumns.some((c) => ARRAY_INDEX.test(c)) }));
  }
  let key: string;
  if (head.plainKeys) {
    key = '{';
    for (let k = 0; k < values.length; k++) key += `${k === 0 ? '' : ','}${JSON.stringify(snap.keyColumns[k])}:${JSON.stringify(values[k])}`;
    key += '}';
  } else key = JSON.stringify(Object.fromEntries(snap.keyColumns.map((c, k) => [c, values[k]!])));
  let pageviews = 0, buckets = '';
  // The block's rows with a sketch, in plan order (merged in place when all are well-formed sparse sketches).
  let nRows = 0, allSparse = true;
  if (plan !== null && block !== null) {
    const pvs = block.pageviews, kind = block.sketchKind;
    for (let k = 0; k < plan.json.length; k++) {
      const i = rowOf(block, plan.g[k]!, plan.hour[k]!);
      let pv = 0;
      if (i >= 0) {
        pv = pvs[i]!;
        if (kind[i] !== SKETCH_NONE) {
          if (nRows === rows.length) rows.push(i);
          else rows[nRows] = i;
          nRows++;
          if (kind[i] !== SKETCH_SPARSE) allSparse = false;
        }
      }
      pageviews += pv;
      buckets += k === 0 ? plan.json[k]! + pv + '}' : ',' + plan.json[k]! + pv + '}';
    }
  } else if (plan !== null) {
    for (let k = 0; k < plan.json.length; k++) buckets += k === 0 ? plan.json[k]! + '0}' : ',' + plan.json[k]! + '0}';
  }
  let realtime = '';
  pending.length = 0;
  if (speed !== null) {
    for (const h of speed.hours) {
      pageviews += h.pageviews;
      buckets += `${buckets === '' ? '' : ','}{"granularity":"h","start":"${iso(h.hour)}","pageviews":${h.pageviews},"layer":"speed"}`;
      if (h.sketch !== null) pending.push(h.sketch);
    }
    realtime = `,"realtime":{"from":"${iso(speed.from)}","to":"${iso(r.to)}"}`;
  }
  let uniques: number | null = null;
  if (snap.hasHll) {
    if (nRows + pending.length === 0) uniques = 0;
    else if (pending.length === 0 && allSparse) uniques = mergeBlockSparse(block!, rows, nRows);
    else {
      // Any other mix (a dense or malformed sketch, the speed layer's): mergeSketches over their bytes, checked there.
      const list: Uint8Array[] = [];
      for (let j = 0; j < nRows; j++) list.push(sketchOf(block!, rows[j]!)!);
      for (const x of pending) list.push(x);
      pending.length = 0;
      uniques = mergeSketches(list).uniques;
    }
  }
  pending.length = 0;
  const json = `{"pageviews":${pageviews},"uniques":${uniques === null ? 'null' : uniques},"buckets":[${buckets}],${head.json},"key":${key},"from":"${iso(r.from)}","to":"${iso(r.to)}","rounded":${r.rounded},"requested":{"from":"${iso(from)}","to":"${iso(to)}"}${realtime}}`;
  return { json, bytes: json.length + head.extra + Buffer.byteLength(key) - key.length };
}

/** The union of serialized sketches: its rounded estimate, and its bytes when asked for. */
export interface MergedSketch {
  /** HyperLogLog.count() of the union. */
  uniques: number;
  /** The union's bytes (the format of operators/lib/sketches/hll.ts), with `{ bytes: true }`. */
  bytes?: Uint8Array;
}

// Scratch of mergeSketches, reused by every call (it never awaits, so two calls never overlap in a
// thread), per precision: dense registers and a hash set of sparse indexes (open addressing, at
// least twice m/32 slots: a few KiB, cache-resident), both all zero between calls; and a
// register-value histogram.
interface Scratch { u8: Uint8Array; u32: Uint32Array; set: Int32Array; shift: number }
const scratchOf: Array<Scratch | undefined> = [];
const hist = new Int32Array(66);
const invalidBytes = (why: string): DagctlError => new DagctlError('OPERATOR_INPUT_INVALID', `invalid HLL bytes: ${why}`);

/**
 * The union of serialized sketches (operators/lib/sketches/hll.ts format, docs/serving.md): the
 * same estimate (and, with `bytes`, the same bytes) as folding HyperLogLog.merge, computed from
 * the bytes in one pass without a sketch object or an allocation per call — a long range merges
 * dozens of sketches on every query.
 *   - every register is maxed into dense scratch registers (a sparse entry mapped down to p), the
 *     register-value histogram kept as registers rise (recounted when a dense sketch was maxed in);
 *   - dense sketches are maxed in by the WebAssembly SIMD kernel (serving/hll-kernel.ts: staged,
 *     then max and histogram in one pass, into its scratch registers), or with `{ kernel: false }`
 *     in JS, four registers at a time (the reference the tests compare with);
 *   - when every input is sparse, their distinct indexes are counted first, alone, in a small hash
 *     set: while the union holds at most m/32 entries it stays sparse (HyperLogLog's rule) and is
 *     estimated by linear counting over 2^25 registers, without touching a register; else (or with
 *     a dense input) the dense registers are, by Ertl's estimator.
 */
export function mergeSketches(list: Uint8Array[], opts: { bytes?: boolean; kernel?: boolean } = {}): MergedSketch {
  const first = list[0];
  if (first === undefined) throw new DagctlError('INTERNAL', 'mergeSketches: no sketches');
  const p = first[2]!, m = 1 << p;
  if (p < 4 || p > 16) throw invalidBytes(`precision ${p}`);
  let sparseTotal = 0, dense = 0;
  for (const b of list) {
    if (b.length < 4 || b[0] !== 0x48 || b[1] !== 1 || b[2] !== p || (b[3] !== 0 && b[3] !== 1)) throw new DagctlError('OPERATOR_INPUT_INVALID', `invalid HLL bytes or precision ${String(b[2])} ≠ ${p} in a merge`);
    if (b[3] === 1) {
      dense++;
      if (b.length !== 4 + m) throw invalidBytes('length');
    } else {
      const n = b.length >= 8 ? b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24) : -1;
      if (n < 0 || b.length !== 8 + n * 5) throw invalidBytes('length');
      sparseTotal += n;
    }
  }
  const sc = scratch(p), sparseMax = m >>> 5;
  if (dense === 0) {
    // Every input sparse: the distinct sparse indexes alone, while the union can stay sparse (at
    // most m/32 of them); the registers only when it cannot (then a second pass below).
    let distinct = 0;
    try {
      for (let s = 0; s < list.length && distinct <= sparseMax; s++) {
        const b = list[s]!;
        distinct = addDistinct(sc, b, 8, b.length, distinct);
      }
    } finally {
      sc.set.fill(0);
    }
    if (distinct <= sparseMax) {
      const uniques = Math.round(sparseEstimate(distinct));
      return opts.bytes === true ? { uniques, bytes: sparseUnion(list, p, sparseTotal) } : { uniques };
    }
  }
  const kern = opts.kernel !== false && dense > 0 ? hllKernel() : null;
  const d = kern === null ? sc.u8 : kern.regs.subarray(0, m);
  const slots = kern === null ? 0 : kern.stageSlots(m);
  let staged = 0;
  const maxRank = 64 - p + 1;
  hist.fill(0);
  hist[0] = m;
  try {
    for (const b of list) {
      if (b[3] === 1) {
        if (kern !== null) {
          if (staged === slots) {
            kern.maxStaged(staged, m);
            staged = 0;
          }
          kern.stage.set(b.subarray(4, 4 + m), staged * m);
          staged++;
        } else if ((b.byteOffset & 3) === 0) maxRegisters(sc.u32, new Uint32Array(b.buffer, b.byteOffset + 4, m >>> 2));
        else {
          for (let i = 0; i < m; i++) {
            const r = b[4 + i]!;
            if (r > d[i]!) d[i] = r;
          }
        }
        continue;
      }
      addRegisters(d, b, 8, b.length, p);
    }
    if (kern !== null) {
      kern.maxHist(staged, m);
      const c = kern.counts;
      for (let v = maxRank + 1; v < 256; v++) if (c[v] !== 0) throw invalidBytes('register');
      hist.fill(0);
      for (let v = 0; v <= maxRank; v++) hist[v] = c[v]!;
    } else if (dense > 0) {
      hist.fill(0);
      for (let i = 0; i < m; i++) {
        const r = d[i]!;
        if (r > maxRank) throw invalidBytes('register');
        hist[r]!++;
      }
    }
    // More than m/32 distinct indexes, or a dense input: the union is dense.
    const uniques = Math.round(denseEstimate(hist, p));
    if (opts.bytes !== true) return { uniques };
    const bytes = new Uint8Array(4 + m);
    bytes.set([0x48, 1, p, 1]);
    bytes.set(d, 4);
    return { uniques, bytes };
  } finally {
    d.fill(0);
  }
}

/** The scratch of mergeSketches for precision p (made on first use). */
function scratch(p: number): Scratch {
  let sc = scratchOf[p];
  if (sc === undefined) {
    const m = 1 << p, u8 = new Uint8Array(m);
    let bits = 3;
    while (1 << bits < 2 * (m >>> 5) + 2) bits++;
    scratchOf[p] = sc = { u8, u32: new Uint32Array(u8.buffer), set: new Int32Array(1 << bits), shift: 32 - bits };
  }
  return sc;
}

/**
 * The sparse entries b[o..end) (5 bytes each: index25 LE32, rank25) added to the distinct-index
 * set sc.set: returns `distinct` plus the new indexes, stopping once it passes m/32 (the union is
 * then dense). A register out of range is OPERATOR_INPUT_INVALID.
 */
function addDistinct(sc: Scratch, b: Uint8Array, o: number, end: number, distinct: number): number {
  const set = sc.set, setMask = set.length - 1, shift = sc.shift, sparseMax = sc.u8.length >>> 5;
  for (; o < end; o += 5) {
    const i25 = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0, r25 = b[o + 4]!;
    if (i25 >= 1 << 25 || r25 === 0 || r25 > 40) throw invalidBytes('register');
    const key = i25 + 1;
    for (let h = Math.imul(i25, 0x9e3779b1) >>> shift; ; h = (h + 1) & setMask) {
      const k = set[h]!;
      if (k === key) break;
      if (k === 0) {
        set[h] = key;
        distinct++;
        break;
      }
    }
    if (distinct > sparseMax) return distinct;
  }
  return distinct;
}

/** The sparse entries b[o..end) maxed into the registers d (precision p), the histogram `hist` kept as registers rise. */
function addRegisters(d: Uint8Array, b: Uint8Array, o: number, end: number, p: number): void {
  const extra = 25 - p, lowMask = (1 << extra) - 1;
  for (; o < end; o += 5) {
    const i25 = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0, r25 = b[o + 4]!;
    if (i25 >= 1 << 25 || r25 === 0 || r25 > 40) throw invalidBytes('register');
    const low = i25 & lowMask;
    const r = low !== 0 ? Math.clz32(low) - (32 - extra) + 1 : extra + r25;
    const i = i25 >>> extra, old = d[i]!;
    if (r > old) {
      d[i] = r;
      hist[old]!--;
      hist[r]!++;
    }
  }
}

/**
 * mergeSketches(rows' sketches).uniques for rows[0..n) of `block` whose sketches are all
 * well-formed sparse ones (KeyBlock.sketchKind SKETCH_SPARSE, precision block.precision) — the same
 * passes over the same bytes, read in place from the block's one sketch buffer: no list, no
 * per-sketch view, no header checks (done when the block was built).
 */
export function mergeBlockSparse(block: KeyBlock, rows: ArrayLike<number>, n: number): number {
  const p = block.precision, m = 1 << p, sc = scratch(p), sparseMax = m >>> 5;
  const b = block.sketches, at = block.sketchAt;
  let distinct = 0;
  try {
    for (let j = 0; j < n && distinct <= sparseMax; j++) {
      const i = rows[j]!;
      distinct = addDistinct(sc, b, at[i]! + 8, at[i + 1]!, distinct);
    }
  } finally {
    sc.set.fill(0);
  }
  if (distinct <= sparseMax) return Math.round(sparseEstimate(distinct));
  const d = sc.u8;
  hist.fill(0);
  hist[0] = m;
  try {
    for (let j = 0; j < n; j++) {
      const i = rows[j]!;
      addRegisters(d, b, at[i]! + 8, at[i + 1]!, p);
    }
    return Math.round(denseEstimate(hist, p));
  } finally {
    d.fill(0);
  }
}

/** The bytes of the union of sparse sketches (checked by mergeSketches): entries ascending by index, the highest rank of each. */
function sparseUnion(list: Uint8Array[], p: number, total: number): Uint8Array {
  // idx25 · 64 + rank packed in an int32, sorted natively; the last entry of each index kept.
  const packed = new Int32Array(total);
  let k = 0;
  for (const b of list) {
    const n = (b.length - 8) / 5;
    for (let j = 0, o = 8; j < n; j++, o += 5) packed[k++] = (((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0) << 6) | b[o + 4]!;
  }
  packed.sort();
  let n = 0;
  for (let j = 0; j < packed.length; j++) {
    const x = packed[j]!;
    if (j + 1 < packed.length && packed[j + 1]! >>> 6 === x >>> 6) continue;
    packed[n++] = x;
  }
  const buf = new Uint8Array(8 + n * 5);
  buf.set([0x48, 1, p, 0, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
  for (let j = 0, o = 8; j < n; j++, o += 5) {
    const x = packed[j]!, i = x >>> 6;
    buf[o] = i & 0xff; buf[o + 1] = (i >>> 8) & 0xff; buf[o + 2] = (i >>> 16) & 0xff; buf[o + 3] = i >>> 24;
    buf[o + 4] = x & 63;
  }
  return buf;
}
