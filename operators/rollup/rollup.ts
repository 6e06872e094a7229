/**
 * rollup: the pageviews-over-time view — pageviews and uniques per (url, granularity, bucket) for
 * granularities h/d/w/m (bucket = ts − ts mod g). Uniques are HyperLogLog estimates
 * (operators/lib/sketches/hll.ts); each row keeps its sketch (`hll: bytes`) so coarser buckets and arbitrary
 * ranges merge sketches (mergeRange, re-exported here) instead of rescanning.
 *
 * With a second input (the equiv-components output id, person) uniques count component person
 * ids (the book's user-id normalization); stages come from the input count (`components` is still
 * accepted, and must then agree with it). The join is a broadcast join while the index fits
 * `maxBroadcastBytes` (default 64 MiB), else a shuffle join; the index stage decides and says so
 * with blob 'broadcast':
 *   'index'     ('bucket')  B instances over the components. Broadcast: each hashes its share of
 *               the files — MurmurHash3-128 of each id → first 64 bits of its person's hash — into a
 *               BroadcastBuilder (broadcast-index.ts: flat typed arrays, 24 bytes per id, hash keys:
 *               collision odds ~n²/2^129), written as one sorted run of byte chunks to its bucket.
 *               Past the cap (or cap 0): instance 0 re-streams them shuffled by bucket(id).
 *   'map'       ('partition' over pageviews). Broadcast: loads the index (or reuses the table the
 *               thread built for the previous map instance from the same files; the runs merged once
 *               per thread), hashes each person once
 *               (from the raw UTF-8 of its Parquet pages, plain or dictionary, when it can: no person string; the
 *               same bytes hashString hashes, for valid UTF-8; url from its raw pages too, one string per
 *               dictionary entry, and ts as a column: no row objects), probes, and sends (url, ts, h1, h2)
 *               by bucket(url) for 'aggregate'. Shuffle join: (url, person, ts) by bucket(person).
 *   'join'      ('bucket')  broadcast: nothing. Shuffle join: loads the index's bucket b
 *               (ctx.stageOutput('index')), maps person → component id, hashes it once per
 *               distinct person (MurmurHash3, first 64 bits as two int32) and sends (url, ts, h1,
 *               h2) by bucket(url)
 *   'aggregate' ('bucket')  reads 'map' (broadcast) or 'join'; each row goes to its finest
 *               bucket only (count + HLL), coarser levels are merged from the level below at
 *               output (HLL merge = register max, dense iff the union passes m/32 entries: the same
 *               sketch as adding every row); writes the view. Both join modes give the same view.
 * Without components: 'map' hashes the person and sends (url, ts, h1, h2) straight to 'aggregate'.
 * (url, ts, h1, h2) travel as packed columnar blocks (lib/packed-pageviews.ts): no row object per
 * pageview on either side, the hash instead of the person string (smaller, no re-hashing).
 * Version 5: the index stage runs as B instances, one sorted run each (view unchanged; version 4
 * shipped one sorted run from a single instance, version 3 changed the packed format), so old
 * memoized stage outputs are not mixed with new stages.
 * Memory: index and each map instance hold at most maxBroadcastBytes of table (broadcast); join
 * its bucket's id → hash map (shuffle join); aggregate its URLs' finest sketches (sparse while small)
 * and, while writing one URL, its coarser ones.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { threadTimes, timesSince } from '../../core/thread-cpu.js';
import type { SchemaElement } from 'hyparquet';
import { bucketOf } from '../../core/hash.js';
import type { Row, Schema } from '../../storage/types.js';
import type { InputHandle, OperatorDef, PriorStage, RawFile, StageContext, StageResult } from '../types.js';
import { PAGEVIEWS_SCHEMA } from '../../domain/superwebanalytics.js';
import { BucketedWriter, ChunkedWriter, int, str } from '../lib/rows.js';
import { GRANULARITIES, GRANULARITY_SECONDS, type Granularity } from '../../domain/granularity.js';
import { HyperLogLog } from '../lib/sketches/hll.js';
import { hashString, murmur3x86_128 } from '../lib/sketches/murmur3.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';
import { plainInteger } from '../../storage/parquet/schema-map.js';
import { decodeWithFallback, defaultCodec } from '../../storage/parquet/registry.js';
import { decodeUtf8, InvalidUtf8, pageUtf8, withUtf8File } from '../../storage/parquet/utf8.js';
import { BroadcastBuilder, BroadcastIndex, broadcastBytes } from './broadcast-index.js';
import { decodePackedBlock, objectArray, PACKED_SCHEMA, PackedPageviewsWriter, type PackedBlock } from './packed-pageviews.js';
import { rollupDescriptor, usesComponents, type RollupParams } from './descriptor.js';
export type { RollupParams };

export { mergeRange } from './merge-range.js';

const INDEX_SCHEMA: Schema = [
  { name: 'id', type: 'string' },
  { name: 'person', type: 'string' },
];
/** Broadcast mode: the BroadcastIndex entries as byte chunks, all in bucket 0. */
const BROADCAST_SCHEMA: Schema = [{ name: 'chunk', type: 'bytes' }];
/** Blob the index stage puts in broadcast mode (its presence is the mode). */
const BROADCAST_BLOB = 'broadcast';
export const VIEW_SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'granularity', type: 'string' },
  { name: 'bucket', type: 'int64' },
  { name: 'pageviews', type: 'int64' },
  { name: 'uniques', type: 'int64' },
  { name: 'hll', type: 'bytes' },
];

/** One aggregate: its bucket's start (seconds), pageviews and sketch. */
class Agg {
  count = 0;
  constructor(readonly bucket: number, readonly hll: HyperLogLog) {}
}
const NO_SLOTS = new Int32Array(0);
/**
 * One URL's finest-granularity aggregates, bucket index fb (ts div g) → Agg id: a window of slots
 * (slot fb − base holds id + 1, 0 = none) while it stays dense enough (≤ 64 slots, or ≤ 8 per
 * aggregate), the rest in `more`; `ids` lists them all.
 */
class UrlAggs {
  base = 0;
  slots = NO_SLOTS;
  more: Map<number, number> | null = null;
  readonly ids: number[] = [];
  constructor(readonly url: string) {}
}

/** The slot-window length that covers bucket indexes lo..hi of `u`, or 0 when it would be too sparse (past 64 slots and 8 per aggregate). */
function windowFor(u: UrlAggs, lo: number, hi: number): number {
  const span = hi - lo + 1;
  let n = Math.max(16, u.slots.length);
  while (n < span) n *= 2;
  return n <= 64 || n <= 8 * (u.ids.length + 1) ? n : 0;
}

/**
 * The Agg id of (u, fb), or -1: the window's slot (callers check it first, inline), else `more`.
 */
function moreId(u: UrlAggs, fb: number): number {
  return u.more?.get(fb) ?? -1;
}

/** Registers a new Agg id for (u, fb): in the window, grown or moved while it stays dense enough, else in `more`. */
function placeId(u: UrlAggs, fb: number, id: number): void {
  u.ids.push(id);
  if (u.slots.length === 0 && u.ids.length === 1) {
    u.slots = new Int32Array(16);
    u.base = fb - 8;
  }
  let k = fb - u.base;
  if (k < 0 || k >= u.slots.length) {
    // Grow to cover fb and every slot held, the held range centred in the new window.
    let lo = fb, hi = fb;
    for (let j = 0; j < u.slots.length; j++) {
      if (u.slots[j] !== 0) {
        lo = Math.min(lo, u.base + j);
        break;
      }
    }
    for (let j = u.slots.length - 1; j >= 0; j--) {
      if (u.slots[j] !== 0) {
        hi = Math.max(hi, u.base + j);
        break;
      }
    }
    const n = windowFor(u, lo, hi);
    if (n === 0) {
      (u.more ??= new Map()).set(fb, id);
      return;
    }
    const slots = new Int32Array(n), base = lo - ((n - (hi - lo + 1)) >> 1);
    for (let j = 0; j < u.slots.length; j++) if (u.slots[j] !== 0) slots[u.base + j - base] = u.slots[j]!;
    u.slots = slots;
    u.base = base;
    k = fb - base;
  }
  u.slots[k] = id + 1;
}
const hashOut = new Uint32Array(4);

/**
 * Every page of a REQUIRED string column as raw bytes (plain or dictionary-encoded: column-scan.ts
 * byteArrayPages), all row groups in order; null if any row group's layout is not supported or a
 * value is not UTF-8 (the caller then decodes rows: the strict decoder fails on that value with
 * PARQUET_INVALID_UTF8, naming column, row and row group; the caller adds the file).
 */
function bytePages(bytes: Uint8Array, column: string): ByteArrayPage[] | null {
  const f = openColumnFile(bytes);
  const out: ByteArrayPage[] = [];
  for (let g = 0; g < f.rowGroups.length; g++) {
    const pages = f.byteArrayPages(g, column);
    if (pages === null || !pages.every(pageUtf8)) return null;
    for (const pg of pages) out.push(pg);
  }
  return out;
}

/** The map's three columns of one Parquet file, all row groups in order: person and url as UTF-8 pages, ts as doubles. */
interface MapColumns { person: ByteArrayPage[]; url: ByteArrayPage[]; ts: Float64Array[] }

/**
 * mapColumns: person and url read as raw pages (bytePages' layouts, url annotated as a string), ts
 * as numbers (column-scan.ts), no row objects; null when a column's layout is not supported, ts is
 * not a REQUIRED plain signed integer or floating-point column, or a value is not UTF-8 (the caller
 * then decodes rows, whose strict decoder and int() name what is wrong). Per row group, the person
 * and url pages must hold exactly the group's rows (cursors run across groups, ts arrays do not):
 * else PARQUET_INVALID naming file, column and row group. numbers()' errors get the file.
 */
async function mapColumns(bytes: Uint8Array, p: RollupParams, file: string): Promise<MapColumns | null> {
  const f = openColumnFile(bytes);
  const leaf = (name: string): SchemaElement | undefined => f.metadata.schema.find((e) => e.name === name && e.num_children === undefined);
  const urlEl = leaf(p.urlColumn), tsEl = leaf(p.tsColumn);
  if (urlEl === undefined || (urlEl.converted_type !== 'UTF8' && urlEl.logical_type?.type !== 'STRING')) return null;
  if (tsEl === undefined || tsEl.repetition_type !== 'REQUIRED') return null;
  const tsOk = tsEl.type === 'DOUBLE' || tsEl.type === 'FLOAT' || (tsEl.type === 'INT64' && plainInteger(tsEl, ['INT_64'])) || (tsEl.type === 'INT32' && plainInteger(tsEl, ['INT_32', 'INT_16', 'INT_8']));
  if (!tsOk) return null;
  const out: MapColumns = { person: [], url: [], ts: [] };
  for (let g = 0; g < f.rowGroups.length; g++) {
    const rows = f.rowGroups[g]!.rows;
    const person = f.byteArrayPages(g, p.personColumn);
    if (person === null || !person.every(pageUtf8)) return null;
    const url = f.byteArrayPages(g, p.urlColumn);
    if (url === null || !url.every(pageUtf8)) return null;
    for (const [column, pages] of [[p.personColumn, person], [p.urlColumn, url]] as const) {
      let n = 0;
      for (const pg of pages) n += pg.count;
      if (n !== rows) throw new DagctlError('PARQUET_INVALID', `${file}: column ${column} holds ${n} values in row group ${g}, whose footer says ${rows} rows`, { file, column, rowGroup: g });
    }
    for (const pg of person) out.person.push(pg);
    for (const pg of url) out.url.push(pg);
    let ts: Float64Array;
    try {
      ts = (await f.numbers(g, [p.tsColumn]))[p.tsColumn]!;
    } catch (e) {
      if (!isDagctlError(e)) throw e;
      throw new DagctlError(e.code, `${file}: ${e.message}`, { column: p.tsColumn, rowGroup: g, ...e.details, file }, { cause: e });
    }
    out.ts.push(ts);
  }
  return out;
}

/**
 * Walks the values of byte pages in order (pages may hold 0 values). hash() and text() see a
 * value as the row decoder does (utf8.ts decodeUtf8 keeps a leading BOM, EF BB BF: a value is
 * what its bytes say): a person hashes the same whichever way its file is read.
 */
class PageCursor {
  private pi = 0;
  private vi = -1;
  /** Values passed so far, minus one: the current value's row in the file. */
  private row = -1;
  constructor(private readonly pages: ByteArrayPage[], private readonly path: string, private readonly column: string) {}
  /** Moves to the next value; false past the last. */
  next(): boolean {
    this.vi++;
    this.row++;
    for (;;) {
      const pg = this.pages[this.pi];
      if (pg === undefined) return false;
      if (this.vi < pg.count) return true;
      this.pi++;
      this.vi = 0;
    }
  }
  /**
   * The current value as a string, decoded once per distinct position in its page's bytes (a
   * dictionary page's entry is decoded once for all the rows that use it).
   */
  text(): string {
    const pg = this.pages[this.pi]!;
    if (pg.data !== this.memoData) {
      // By start offset: an array while the bytes are small (a dictionary's), else a Map.
      this.memoData = pg.data;
      this.memo = pg.data.length <= 1 << 16 ? new Array<string | undefined>(pg.data.length + 1) : new Map<number, string>();
    }
    const at = pg.start[this.vi]!, memo = this.memo;
    let s = Array.isArray(memo) ? memo[at] : memo.get(at);
    if (s === undefined) {
      const bytes = pg.data.subarray(at, at + pg.len[this.vi]!);
      try {
        s = decodeUtf8(bytes);
      } catch (e) {
        if (!(e instanceof InvalidUtf8)) throw e;
        throw new DagctlError('PARQUET_INVALID_UTF8', `${this.path}: string column "${this.column}", row ${this.row}: the value is not UTF-8`, { file: this.path, column: this.column, row: this.row, bytes: Buffer.from(bytes.subarray(0, 48)).toString('hex') });
      }
      if (Array.isArray(memo)) memo[at] = s;
      else memo.set(at, s);
    }
    return s;
  }
  private memoData: Uint8Array | null = null;
  private memo: Array<string | undefined> | Map<number, string> = [];
  /** MurmurHash3 x86_128 of the current value's bytes (what hashString gives the row decoder's string). */
  hash(out: Uint32Array): void {
    const pg = this.pages[this.pi];
    if (pg === undefined) throw new DagctlError('INTERNAL', `${this.path}: page cursor past the end`);
    murmur3x86_128(pg.data, pg.len[this.vi]!, 0, out, pg.start[this.vi]);
  }
}

/**
 * The writer's URL id (PackedPageviewsWriter.urlId) of each value of a url page into u[r..], each
 * distinct position in a small page's bytes decoded and looked up once (a dictionary entry once
 * for all its rows); returns r past the page. A value that is not UTF-8 is PARQUET_INVALID_UTF8 naming
 * file, column and row (r counts the file's rows), as PageCursor.text says it.
 */
function urlIds(pg: ByteArrayPage, pw: PackedPageviewsWriter, u: Int32Array, r: number, path: string, column: string): number {
  const { data, start, len } = pg;
  // By start offset (id + 1, 0 = not yet) while the bytes are at most 64 KiB; past that (a plain
  // page, or a large dictionary) each value is looked up by its string (pw.urlId), without the memo.
  const memo = data.length <= 1 << 16 ? new Int32Array(data.length + 1) : null;
  for (let v = 0; v < pg.count; v++, r++) {
    const at = start[v]!;
    let id = memo !== null ? memo[at]! - 1 : -1;
    if (id < 0) {
      const bytes = data.subarray(at, at + len[v]!);
      let s: string;
      try {
        s = decodeUtf8(bytes);
      } catch (e) {
        if (!(e instanceof InvalidUtf8)) throw e;
        throw new DagctlError('PARQUET_INVALID_UTF8', `${path}: string column "${column}", row ${r}: the value is not UTF-8`, { file: path, column, row: r, bytes: Buffer.from(bytes.subarray(0, 48)).toString('hex') });
      }
      id = pw.urlId(s);
      if (memo !== null) memo[at] = id + 1;
    }
    u[r] = id;
  }
  return r;
}

export const rollup: OperatorDef<RollupParams> = {
  ...rollupDescriptor,
  async run(ctx): Promise<StageResult> {
    // ms.cpu / ms.cpuWait: this thread's CPU time over the instance and its wait for a CPU
    // (core/thread-cpu.ts), which a loaded machine does not inflate as it does wall time.
    const t0 = threadTimes();
    const r = await runStage(ctx);
    const t = timesSince(t0);
    return t === null ? r : { ...r, metrics: { ...r.metrics, 'ms.cpu': t.cpuMs, 'ms.cpuWait': t.waitMs } };
  },
};

/** The stage's work (run adds its thread times). */
async function runStage(ctx: Ctx): Promise<StageResult> {
  const components = usesComponents(ctx.params, ctx.inputs.length);
  if (components !== (ctx.inputs.length === 2)) {
    throw new DagctlError('OPERATOR_INPUT_INVALID', 'rollup: components: true needs exactly 2 inputs (pageviews, components), false needs 1', { inputs: ctx.inputs.length });
  }
  if (ctx.stage.name !== 'map') lastTable = null; // the maps of this task are done (or not begun)
  if (ctx.stage.name === 'index') return indexStage(ctx);
  // Broadcast mode (decided by the index stage): map joins, join is a no-op, aggregate reads map.
  const indexOut = components ? ctx.stageOutput('index') : null;
  const broadcast = indexOut !== null && indexOut.blobs(BROADCAST_BLOB).length > 0;
  if (!broadcast) lastTable = null; // a map of a shuffle-join (or no-components) task has no use for it
  if (ctx.stage.name === 'map') return mapStage(ctx, components, broadcast ? indexOut : null);
  if (ctx.stage.name === 'join') return broadcast ? { metrics: {} } : joinStage(ctx); // broadcast: the map stage joined already
  return aggregateStage(ctx, broadcast);
}

type Ctx = StageContext<RollupParams>;

/**
 * 'index' (B instances): the components as a broadcast table while it fits maxBroadcastBytes, else
 * shuffled by bucket(id). The mode is decided from the components' row count (the files' entries:
 * every instance sees the same count, so all decide alike), duplicates counted — the bound the
 * single index stage of version 4 checked row by row. Broadcast: instance b hashes its share of the
 * files (a contiguous range, in rawFiles order) into one sorted run, written to its shuffle bucket
 * b; the map instances merge the runs (BroadcastIndex.fromRuns, the last run winning a repeated
 * id: the last file's mapping, as a single pass over the files in order keeps). Instance 0 alone
 * does the rest: components without raw files or without a row count (a source dataset), where
 * it counts as it goes (broadcast while it fits, its run in bucket 0), and the shuffle join's
 * bucketing; the others return at once. A handle with any file's row count unknown (rowsUnknown)
 * goes the counting way too: its `rows` counts only the known files, too few for the cap.
 * Metrics: broadcastRunIds / broadcastRunBytes are this instance's run (its distinct ids, and
 * broadcastBytes of them); summed over instances they count an id in several shares once per share,
 * an upper bound on the merged table each map instance holds, not its size.
 */
async function indexStage(ctx: Ctx): Promise<StageResult> {
  const p = ctx.params;
  const comps = ctx.inputs[1]!;
  const files = comps.rawFiles?.();
  const share = ctx.bucket < 0 ? 0 : ctx.bucket, shares = ctx.bucket < 0 ? 1 : ctx.buckets;
  const counted = files !== undefined && comps.rows > 0 && comps.rowsUnknown !== true; // every file's row count known
  if (p.maxBroadcastBytes > 0 && counted && broadcastBytes(comps.rows) <= p.maxBroadcastBytes) {
    const lo = Math.floor((share * files.length) / shares), hi = Math.floor(((share + 1) * files.length) / shares);
    const b = new BroadcastBuilder(Math.ceil((comps.rows * (hi - lo)) / files.length));
    const ids = await hashComponents(files.slice(lo, hi), p, b, Infinity);
    await writeRun(ctx, b, share);
    return { metrics: { componentIds: ids, broadcastRunIds: b.size, broadcastRunBytes: b.bytes() } };
  }
  if (share !== 0) return { metrics: {} };
  if (p.maxBroadcastBytes > 0 && !counted) {
    // Broadcast attempt, counting: hash every mapping while the table fits the cap; past it, fall
    // back below. Sized from the row count, capped just past what the cap admits.
    const b = new BroadcastBuilder(Math.min(comps.rows, Math.floor(p.maxBroadcastBytes / 24) + 1));
    const ids = files !== undefined ? await hashComponents(files, p, b, p.maxBroadcastBytes) : await hashComponentRows(comps, p, b);
    if (ids >= 0) {
      await writeRun(ctx, b, 0);
      return { metrics: { componentIds: ids, broadcastRunIds: b.size, broadcastRunBytes: b.bytes() } };
    }
  }
  const B = ctx.buckets;
  const w = new BucketedWriter(ctx.shuffle.open(INDEX_SCHEMA));
  for await (const batch of comps.batches({ columns: [p.componentIdColumn, p.componentPersonColumn] })) {
    for (const row of batch) {
      const id = str(row, p.componentIdColumn);
      if (w.push(bucketOf(id, B), { id, person: str(row, p.componentPersonColumn) })) await w.drain();
    }
  }
  await w.flush();
  return { metrics: { componentIds: w.rows } };
}

/** The builder's entries as one sorted run in shuffle bucket `bucket`, and the broadcast blob. */
async function writeRun(ctx: Ctx, b: BroadcastBuilder, bucket: number): Promise<void> {
  const w = ctx.shuffle.open(BROADCAST_SCHEMA);
  for (const chunk of b.chunks()) await w.write(bucket, [{ chunk }]);
  ctx.putBlob(BROADCAST_BLOB, Uint8Array.of(1));
}

/**
 * Adds every (id, person) mapping of the Parquet files to `b` (MurmurHash3 of the id → its
 * person's: raw UTF-8 pages hashed a column at a time where the layout allows, one bulk add per
 * file; else rows); returns how many, or -1 as soon as the table would pass `cap` (a file's
 * columns are checked before they are added). Identity mappings (id = person) are kept although an unmapped
 * person counts as itself anyway: they cost 24 bytes each but keep `joined` (rows whose person is a
 * known id) the same in both modes; their value is hash(person) like any other.
 */
async function hashComponents(files: RawFile[], p: RollupParams, b: BroadcastBuilder, cap: number): Promise<number> {
  const cols = [p.componentIdColumn, p.componentPersonColumn];
  const key = new Uint32Array(4);
  let ids = 0;
  const codec = defaultCodec();
  let current = '';
  try {
    for (const rf of files) {
      current = rf.path;
      const bytes = await rf.read();
      const ida = bytePages(bytes, p.componentIdColumn);
      const pa = ida === null ? null : bytePages(bytes, p.componentPersonColumn);
      if (ida !== null && pa !== null) {
        // Column at a time (hashPage, the map's loop): every id's 4 hash words, every person's, then one bulk add.
        const n = valueCount(ida), np = valueCount(pa);
        if (np !== n) throw new DagctlError('PARQUET_INVALID', `${rf.path}: ${np < n ? 'fewer' : 'more'} ${p.componentPersonColumn} values than ${p.componentIdColumn}`, { file: rf.path, column: p.componentPersonColumn });
        // The cap before allocating or hashing (as the row path stops at it): the builder never holds more than the cap admits.
        if (broadcastBytes(b.size + n) > cap) return -1;
        const k0 = new Int32Array(n), k1 = new Int32Array(n), k2 = new Int32Array(n), k3 = new Int32Array(n);
        const v0 = new Int32Array(n), v1 = new Int32Array(n);
        // Persons first, their last two hash words into k2/k3 as scratch, which the ids' hashes then fill.
        for (let r = 0, i = 0; i < pa.length; r += pa[i]!.count, i++) hashPage(pa[i]!, v0, v1, k2, k3, r);
        for (let r = 0, i = 0; i < ida.length; r += ida[i]!.count, i++) hashPage(ida[i]!, k0, k1, k2, k3, r);
        hashedComponentValues += n;
        ids += n;
        b.addColumns(k0, k1, k2, k3, v0, v1, n);
        continue;
      }
      const ic = ida === null ? null : new PageCursor(ida, rf.path, p.componentIdColumn);
      for await (const batch of decodeWithFallback(codec, bytes, { columns: ic === null ? cols : [p.componentPersonColumn] })) {
        for (const row of batch) {
          if (ic === null) hashString(str(row, p.componentIdColumn), key);
          else {
            if (!ic.next()) throw new DagctlError('PARQUET_INVALID', `${rf.path}: fewer ${p.componentIdColumn} values than rows`, { file: rf.path, column: p.componentIdColumn });
            ic.hash(key);
          }
          hashString(str(row, p.componentPersonColumn), hashOut);
          ids++;
          b.add(key, hashOut[0]!, hashOut[1]!);
          if (b.bytes() > cap) return -1;
        }
      }
      if (ic?.next() === true) throw new DagctlError('PARQUET_INVALID', `${rf.path}: more ${p.componentIdColumn} values than rows`, { file: rf.path, column: p.componentIdColumn });
    }
  } catch (e) {
    throw withUtf8File(e, current); // the row decoder names column and row, not the file
  }
  return ids;
}

/** Component values hashed column at a time by hashComponents, over this thread's life: for tests (the cap stops it before hashing). */
let hashedComponentValues = 0;
export function componentValuesHashed(): number {
  return hashedComponentValues;
}

/** Values in the pages. */
function valueCount(pages: ByteArrayPage[]): number {
  let n = 0;
  for (const pg of pages) n += pg.count;
  return n;
}

/** hashComponents over the handle's rows (components without raw files), the cap p.maxBroadcastBytes. */
async function hashComponentRows(comps: InputHandle, p: RollupParams, b: BroadcastBuilder): Promise<number> {
  const key = new Uint32Array(4);
  let ids = 0;
  for await (const batch of comps.batches({ columns: [p.componentIdColumn, p.componentPersonColumn] })) {
    for (const row of batch) {
      hashString(str(row, p.componentIdColumn), key);
      hashString(str(row, p.componentPersonColumn), hashOut);
      ids++;
      b.add(key, hashOut[0]!, hashOut[1]!);
      if (b.bytes() > p.maxBroadcastBytes) return -1;
    }
  }
  return ids;
}

/**
 * The last broadcast table this thread built, by the identity of the index files it was built
 * from (their paths hold a hash of their content): the map instances a thread runs back to back
 * share one table instead of each reading the index and building it again (a weak reference did
 * not survive the major collections between them). Memory: at most one table (≤ maxBroadcastBytes)
 * per thread past its map instances, until this thread runs any rollup instance other than a
 * broadcast map ('index', 'join', 'aggregate', or a map of a shuffle-join or no-components task),
 * which drops it.
 */
let lastTable: { key: string; table: BroadcastIndex } | null = null;

/** Whether this thread still holds a broadcast table (lastTable): for tests. */
export function broadcastTableHeld(): boolean {
  return lastTable !== null;
}

/**
 * The broadcast table of the index stage's output (one run per bucket: BroadcastIndex.fromRuns),
 * reused from lastTable when its files are the same.
 */
async function broadcastTable(index: PriorStage, B: number): Promise<{ table: BroadcastIndex; reused: boolean }> {
  const buckets = Array.from({ length: B }, (_, k) => index.bucket(k));
  let key: string | null = '';
  for (const h of buckets) {
    const files = h.rawFiles?.();
    if (files === undefined) key = null;
    else if (key !== null) key += files.map((f) => `${f.path} ${f.bytes}\n`).join('') + '|';
  }
  if (key !== null && lastTable?.key === key) return { table: lastTable.table, reused: true };
  lastTable = null; // not held while the next one is built
  const runs: Uint8Array[][] = [];
  for (const h of buckets) {
    const chunks: Uint8Array[] = [];
    for await (const batch of h.batches()) for (const row of batch) chunks.push(row.chunk as Uint8Array);
    runs.push(chunks);
  }
  const table = BroadcastIndex.fromRuns(runs);
  if (key !== null) lastTable = { key, table };
  return { table, reused: false };
}

/** A map instance's count of persons the broadcast table mapped to a component person. */
class MapCounts {
  mapped = 0;
}

/** PARQUET_INVALID for a column of `path` holding more (or fewer) values than the file's rows. */
function countMismatch(path: string, column: string, more: boolean): DagctlError {
  return new DagctlError('PARQUET_INVALID', `${path}: ${more ? 'more' : 'fewer'} ${column} values than rows`, { file: path, column });
}

/**
 * Hashes every person value of `pages` (raw UTF-8: what hashString hashes) into h1/h2 (n rows),
 * then probes them all into the broadcast table when there is one (counted in mc): two loops,
 * not one, so the probes' cache misses overlap instead of each waiting behind a hash.
 */
function hashPersons(pages: ByteArrayPage[], table: BroadcastIndex | null, mc: MapCounts, h1: Int32Array, h2: Int32Array, path: string, column: string): void {
  const n = h1.length;
  const k2 = new Int32Array(n), k3 = new Int32Array(n); // the id hash's last two words, for the probes
  let r = 0;
  for (const pg of pages) {
    if (r + pg.count > n) throw countMismatch(path, column, true);
    hashPage(pg, h1, h2, k2, k3, r);
    r += pg.count;
  }
  if (r !== n) throw countMismatch(path, column, false);
  if (table !== null) mc.mapped += table.mapAll(h1, h2, k2, k3, n);
}

/**
 * hashPersons' loop over one page: the 4 hash words of each value into rows r.. of h1, h2, k2,
 * k3. (Hot loops end in a plain return: code after a loop that V8 compiled on stack before that
 * code ever ran has no type feedback, and deoptimizes there.)
 */
function hashPage(pg: ByteArrayPage, h1: Int32Array, h2: Int32Array, k2: Int32Array, k3: Int32Array, r: number): void {
  const data = pg.data, start = pg.start, len = pg.len, count = pg.count;
  for (let v = 0; v < count; v++, r++) {
    murmur3x86_128(data, len[v]!, 0, hashOut, start[v]);
    h1[r] = hashOut[0]! | 0;
    h2[r] = hashOut[1]! | 0;
    k2[r] = hashOut[2]! | 0;
    k3[r] = hashOut[3]! | 0;
  }
  return;
}

/** The writer's URL id of every url value of `pages` into u (n rows): urlIds per page. */
function urlColumnIds(pages: ByteArrayPage[], pw: PackedPageviewsWriter, u: Int32Array, path: string, column: string): void {
  const n = u.length;
  let r = 0;
  for (const pg of pages) {
    if (r + pg.count > n) throw countMismatch(path, column, true);
    r = urlIds(pg, pw, u, r, path, column);
  }
  if (r !== n) throw countMismatch(path, column, false);
}

/**
 * Packs rows from..ts.length of one row group (its ts; its rows at base + i of u/h1/h2) until
 * the writer has a full block: returns ~next (negative; next = the row after the last packed, which
 * may be ts.length) when a block is full and must be drained before the next push, else ts.length.
 */
function packGroup(pw: PackedPageviewsWriter, ts: Float64Array, from: number, base: number, u: Int32Array, h1: Int32Array, h2: Int32Array, path: string, column: string): number {
  for (let i = from; i < ts.length; i++) {
    const t = ts[i]!, r = base + i;
    if (!Number.isInteger(t)) throw notInteger(path, column, t);
    if (pw.pushId(u[r]!, t, h1[r]!, h2[r]!)) return ~(i + 1);
  }
  return ts.length;
}

function notInteger(path: string, column: string, t: number): DagctlError {
  return new DagctlError('OPERATOR_INPUT_INVALID', `${path}: column ${column} is not an integer`, { file: path, column, value: String(t) });
}

/**
 * One file's columns (mapColumns) mapped column at a time, one column after the other (no row
 * objects, no cursor per row): every person hashed and probed into h1/h2, every url's writer id
 * into u (decoded and looked up once per distinct position in its page's bytes), then rows packed.
 */
async function mapColumnsFile(mcols: MapColumns, p: RollupParams, table: BroadcastIndex | null, mc: MapCounts, pw: PackedPageviewsWriter, path: string): Promise<void> {
  let n = 0;
  for (const ts of mcols.ts) n += ts.length;
  const h1 = new Int32Array(n), h2 = new Int32Array(n), u = new Int32Array(n);
  hashPersons(mcols.person, table, mc, h1, h2, path, p.personColumn);
  urlColumnIds(mcols.url, pw, u, path, p.urlColumn);
  let base = 0;
  for (const ts of mcols.ts) {
    for (let i = 0; i < ts.length;) {
      const next = packGroup(pw, ts, i, base, u, h1, h2, path, p.tsColumn);
      if (next >= 0) i = next;
      else {
        i = ~next;
        await pw.drain(); // a block filled, possibly on the group's last row: drained before any next push
      }
    }
    base += ts.length;
  }
}

/** Hashed path, after hashOut holds the person's 128-bit hash: broadcast probe, then pack; true when a block is full. */
function emitHashed(pw: PackedPageviewsWriter, table: BroadcastIndex | null, mc: MapCounts, url: string, ts: number): boolean {
  if (table !== null && table.mapInPlace(hashOut)) mc.mapped++;
  return pw.push(url, ts, hashOut[0]! | 0, hashOut[1]! | 0);
}

/**
 * A file mapColumns cannot read column-wise: person from raw pages when it can (hashed as raw
 * UTF-8), url and ts (or all three) from the row decoder.
 */
async function mapRowsFile(bytes: Uint8Array, p: RollupParams, table: BroadcastIndex | null, mc: MapCounts, pw: PackedPageviewsWriter, path: string): Promise<void> {
  const codec = defaultCodec();
  const pages = bytePages(bytes, p.personColumn);
  if (pages === null) {
    for await (const batch of decodeWithFallback(codec, bytes, { columns: [p.urlColumn, p.personColumn, p.tsColumn] })) {
      for (const row of batch) {
        hashString(str(row, p.personColumn), hashOut);
        if (emitHashed(pw, table, mc, str(row, p.urlColumn), int(row, p.tsColumn))) await pw.drain();
      }
    }
    return;
  }
  const pc = new PageCursor(pages, path, p.personColumn);
  for await (const batch of decodeWithFallback(codec, bytes, { columns: [p.urlColumn, p.tsColumn] })) {
    for (const row of batch) {
      if (!pc.next()) throw countMismatch(path, p.personColumn, false);
      pc.hash(hashOut);
      if (emitHashed(pw, table, mc, str(row, p.urlColumn), int(row, p.tsColumn))) await pw.drain();
    }
  }
  if (pc.next()) throw countMismatch(path, p.personColumn, true);
}

/** An input without raw files, through its row batches: hashed and packed, or (shuffle join, pw null) (url, person, ts) by bucket(person). */
async function mapBatches(ctx: Ctx, table: BroadcastIndex | null, mc: MapCounts, pw: PackedPageviewsWriter | null, w: BucketedWriter): Promise<void> {
  const p = ctx.params;
  const B = ctx.buckets;
  // With the default column names the projected input row already is the (url, person, ts)
  // shuffle row: it is validated and passed on instead of copied (one allocation less per row).
  const asIs = p.urlColumn === 'url' && p.personColumn === 'person' && p.tsColumn === 'ts';
  for await (const batch of ctx.inputs[0]!.batches({ columns: [p.urlColumn, p.personColumn, p.tsColumn] })) {
    for (const row of batch) {
      const url = str(row, p.urlColumn), person = str(row, p.personColumn), ts = int(row, p.tsColumn);
      let full: boolean;
      if (pw === null) full = w.push(bucketOf(person, B), asIs && row.ts === ts ? row : { url, person, ts });
      else {
        // 128 bits of the person: the broadcast key; its first 64 bits (or its component
        // person's, when mapped) are what the HLL takes.
        hashString(person, hashOut);
        full = emitHashed(pw, table, mc, url, ts);
      }
      if (full) await (pw ?? w).drain();
    }
  }
}

/** 'map': hashes each person (probing the broadcast table, if any) and packs by bucket(url); shuffle join: (url, person, ts) by bucket(person). */
async function mapStage(ctx: Ctx, components: boolean, broadcastIndex: PriorStage | null): Promise<StageResult> {
  const p = ctx.params;
  const B = ctx.buckets;
  const broadcast = broadcastIndex !== null;
  const shuffleJoin = components && !broadcast;
  let table: BroadcastIndex | null = null;
  let reused = false;
  if (broadcast) ({ table, reused } = await broadcastTable(broadcastIndex, B));
  const sh = ctx.shuffle.open(shuffleJoin ? PAGEVIEWS_SCHEMA : PACKED_SCHEMA);
  const w = new BucketedWriter(sh);
  const pw = shuffleJoin ? null : new PackedPageviewsWriter(sh, (url) => bucketOf(url, B));
  const mc = new MapCounts();
  const files = pw !== null ? ctx.inputs[0]!.rawFiles?.() : undefined;
  if (files !== undefined && pw !== null) {
    // Raw Parquet files: mapColumns reads person and url as raw pages (person hashed as raw
    // UTF-8, what hashString hashes; url decoded once per distinct value) and ts as a column;
    // where it cannot, person from raw pages and url and ts from the row decoder, else rows.
    let current = '';
    try {
      for (const rf of files) {
        current = rf.path;
        const bytes = await rf.read();
        const mcols = await mapColumns(bytes, p, rf.path);
        if (mcols !== null) await mapColumnsFile(mcols, p, table, mc, pw, rf.path);
        else await mapRowsFile(bytes, p, table, mc, pw, rf.path);
      }
    } catch (e) {
      throw withUtf8File(e, current);
    }
  } else await mapBatches(ctx, table, mc, pw, w);
  if (pw !== null) {
    await pw.flush();
    const mapped = mc.mapped;
    return { metrics: broadcast ? { rowsIn: pw.rows, joined: mapped, unmapped: pw.rows - mapped, tableReused: reused ? 1 : 0 } : { rowsIn: pw.rows } };
  }
  await w.flush();
  return { metrics: { rowsIn: w.rows } };
}

/** 'join' (shuffle join only): person → its component person's hash, packed by bucket(url). */
async function joinStage(ctx: Ctx): Promise<StageResult> {
  const B = ctx.buckets;
  // id → slot; slot → hash words of its component person (filled lazily, once per slot).
  const slot = new Map<string, number>();
  const comp: string[] = [];
  const index = ctx.stageOutput('index');
  if (index !== null) {
    for await (const batch of index.bucket(ctx.bucket).batches()) {
      for (const row of batch) {
        slot.set(row.id as string, comp.length);
        comp.push(row.person as string);
      }
    }
  }
  const mappedIds = comp.length;
  let h1s = new Int32Array(Math.max(1024, comp.length)), h2s = new Int32Array(h1s.length), hashed = new Uint8Array(h1s.length);
  const w = new PackedPageviewsWriter(ctx.shuffle.open(PACKED_SCHEMA), (url) => bucketOf(url, B));
  let mapped = 0, rows = 0;
  for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
    for (const row of batch) {
      rows++;
      const person = row.person as string;
      let s = slot.get(person);
      if (s === undefined) {
        // Unmapped persons count as themselves; give them a slot too (hash once).
        s = comp.length;
        slot.set(person, s);
        comp.push(person);
      } else if (s < mappedIds) mapped++;
      if (s >= h1s.length) {
        const n = h1s.length * 2;
        const a = new Int32Array(n), b = new Int32Array(n), c = new Uint8Array(n);
        a.set(h1s); b.set(h2s); c.set(hashed);
        h1s = a; h2s = b; hashed = c;
      }
      if (hashed[s] === 0) {
        hashString(comp[s]!, hashOut);
        h1s[s] = hashOut[0]! | 0;
        h2s[s] = hashOut[1]! | 0;
        hashed[s] = 1;
      }
      if (w.push(row.url as string, row.ts as number, h1s[s]!, h2s[s]!)) await w.drain();
    }
  }
  await w.flush();
  return { metrics: { joined: mapped, unmapped: rows - mapped } };
}

/**
 * One aggregate instance's state: its URLs' finest aggregates and the buffered (agg id, h1, h2)
 * rows not yet added to their sketches. The hot loop (addBlock), its rare paths (newAggId,
 * makeRoom) and the flush are small functions of their own over this one shape, not closures in
 * the async stage: V8 optimizes each once per thread, and a deopt recompiles only the function it
 * hit, not the whole stage.
 */
class AggState {
  readonly byUrl = new Map<string, UrlAggs>();
  readonly aggList: Array<Agg | null> = objectArray<Agg | null>();
  /** Buffers grow ×2 up to the flush threshold (small inputs stay small; one larger block is taken whole). */
  bufId = new Int32Array(1 << 14);
  bufH1 = new Int32Array(1 << 14);
  bufH2 = new Int32Array(1 << 14);
  nb = 0;
  rows = 0;
  flushMs = 0;
  constructor(readonly fine: number, readonly precision: number) {}
}
/**
 * Rows are not added to their sketch as they arrive: (agg id, h1, h2) are buffered and applied
 * in agg-id order (counting sort) every FLUSH rows and at the end, so each sketch takes its
 * updates back to back while its table is in cache. Adding in arrival order cost ~4 dependent
 * cache misses per row (sketch → registers → keys → ranks over thousands of sketches). Order
 * does not change a sketch (register max). Memory: 24 bytes per buffered row (with the sort
 * scratch), ≤ FLUSH rows: 12 MiB.
 */
const FLUSH = 1 << 19;
/** The aggregate's flush threshold in buffered rows (FLUSH); tests lower it to run the flush between blocks on small inputs. */
export const aggregateTuning = { flushRows: FLUSH };

/** The UrlAggs of each URL of a block's dictionary (registered on first sight). */
function urlAggsOf(st: AggState, urls: string[]): UrlAggs[] {
  const out = new Array<UrlAggs>(urls.length);
  for (let k = 0; k < urls.length; k++) {
    const url = urls[k]!;
    let u = st.byUrl.get(url);
    if (u === undefined) st.byUrl.set(url, (u = new UrlAggs(url)));
    out[k] = u;
  }
  return out;
}

/** Buffers a block's rows (room for them made first: makeRoom), each under its finest aggregate's id. */
function addBlock(st: AggState, blk: PackedBlock): void {
  makeRoom(st, blk.n);
  st.nb = bufferRows(st, blk, urlAggsOf(st, blk.urls), st.nb);
  st.rows += blk.n;
}

/**
 * addBlock's loop: each row's (agg id, h1, h2) into the buffers from nb (room made; aggs: the
 * block's dictionary as urlAggsOf gives it); returns nb past them. It ends in a plain return
 * (see hashPage).
 */
function bufferRows(st: AggState, blk: PackedBlock, aggs: UrlAggs[], nb: number): number {
  const { n, ts, h1, h2, u } = blk;
  const fine = st.fine, bufId = st.bufId, bufH1 = st.bufH1, bufH2 = st.bufH2;
  for (let r = 0; r < n; r++, nb++) {
    const ua = aggs[u[r]!]!;
    const fb = Math.floor(ts[r]! / fine), k = fb - ua.base, slots = ua.slots;
    let id = k >= 0 && k < slots.length ? slots[k]! - 1 : -1;
    if (id < 0) id = aggIdSlow(st, ua, fb);
    bufId[nb] = id;
    bufH1[nb] = h1[r]!;
    bufH2[nb] = h2[r]!;
  }
  return nb;
}

/** The Agg id of (ua, fb) outside its slot window: from `more`, else a new aggregate. */
function aggIdSlow(st: AggState, ua: UrlAggs, fb: number): number {
  const id = moreId(ua, fb);
  if (id >= 0) return id;
  const nid = st.aggList.length;
  st.aggList.push(new Agg(fb * st.fine, new HyperLogLog(st.precision)));
  placeId(ua, fb, nid);
  return nid;
}

/** Room for n more buffered rows: flushed first if they would pass FLUSH, then the buffers doubled until they fit. */
function makeRoom(st: AggState, n: number): void {
  if (st.nb > 0 && st.nb + n > aggregateTuning.flushRows) flushAggs(st);
  let cap = st.bufId.length;
  if (st.nb + n <= cap) return;
  while (cap < st.nb + n) cap *= 2;
  const a = new Int32Array(cap), b = new Int32Array(cap), c = new Int32Array(cap);
  a.set(st.bufId.subarray(0, st.nb));
  b.set(st.bufH1.subarray(0, st.nb));
  c.set(st.bufH2.subarray(0, st.nb));
  st.bufId = a;
  st.bufH1 = b;
  st.bufH2 = c;
}

/** Adds the buffered rows to their sketches in agg-id order (counting sort), each id's run at once. */
function flushAggs(st: AggState): void {
  const f0 = performance.now();
  const nb = st.nb, bufId = st.bufId, bufH1 = st.bufH1, bufH2 = st.bufH2, aggList = st.aggList;
  const scratch = new Int32Array(nb), sortedH1 = new Int32Array(nb), sortedH2 = new Int32Array(nb);
  const start = idStarts(bufId, nb, aggList.length);
  scatterById(bufId, bufH1, bufH2, nb, start, sortedH1, sortedH2);
  applyRuns(aggList, start, sortedH1, sortedH2, scratch);
  st.nb = 0;
  st.flushMs += performance.now() - f0;
}

/** Per agg id k, where its rows start in id order (counting sort over bufId[0..nb), K ids). Each of flushAggs' loops is a function of its own (see hashPage). */
function idStarts(bufId: Int32Array, nb: number, K: number): Int32Array {
  const start = new Int32Array(K + 1);
  countIds(bufId, nb, start);
  prefixSums(start);
  return start;
}

/** start[id + 1] += 1 for every buffered id. */
function countIds(bufId: Int32Array, nb: number, start: Int32Array): void {
  for (let i = 0; i < nb; i++) start[bufId[i]! + 1]!++;
}

/** Running sums in place. */
function prefixSums(a: Int32Array): void {
  for (let k = 1; k < a.length; k++) a[k]! += a[k - 1]!;
}

/** The buffered hashes into sorted order by id; after it start[k] is the end of id k's rows (and start[k − 1] their start). */
function scatterById(bufId: Int32Array, bufH1: Int32Array, bufH2: Int32Array, nb: number, start: Int32Array, sortedH1: Int32Array, sortedH2: Int32Array): void {
  for (let i = 0; i < nb; i++) {
    const j = start[bufId[i]!]!++;
    sortedH1[j] = bufH1[i]!;
    sortedH2[j] = bufH2[i]!;
  }
}

/** Each id's run to its sketch at once (addHashes: sized for its distinct entries, not its rows). */
function applyRuns(aggList: Array<Agg | null>, start: Int32Array, sortedH1: Int32Array, sortedH2: Int32Array, scratch: Int32Array): void {
  for (let k = 0, from = 0; k < aggList.length; k++) {
    const to = start[k]!;
    if (to > from) {
      const a = aggList[k]!;
      a.count += to - from;
      a.hll.addHashes(sortedH1, sortedH2, from, to, scratch);
    }
    from = to;
  }
}

/** Each run of `level` (sorted by bucket) within one bucket of s seconds merged into one new aggregate. */
function coarser(level: Agg[], s: number, precision: number): Agg[] {
  const next: Agg[] = [];
  for (let i = 0; i < level.length;) {
    const start = Math.floor(level[i]!.bucket / s) * s;
    let j = i, sparse = 0;
    for (; j < level.length && Math.floor(level[j]!.bucket / s) * s === start; j++) sparse += level[j]!.hll.sparseSize;
    // Sized for the sparse entries it may take, at most a sparse sketch's.
    const agg = new Agg(start, new HyperLogLog(precision));
    agg.hll.reserve(sparse);
    for (; i < j; i++) {
      agg.count += level[i]!.count;
      agg.hll.merge(level[i]!.hll);
    }
    next.push(agg);
  }
  return next;
}

/**
 * Shapes settled at load, before anything is optimized (as hll.ts does for sketches): a few rows
 * through the aggregate (buffers regrown, a bucket past the slot window into `more`, a flush, a
 * coarser level) and the packed writer (a block filled, drained and reset). Each field's first
 * reassignment in a thread (a regrown buffer, a count, a block's reset dictionary) otherwise
 * deoptimizes the hot functions compiled before it (V8 "code dependencies": field types and
 * constness). Synchronous, microseconds; nothing is written.
 */
function settleShapes(): void {
  const st = new AggState(3600, 4);
  st.bufId = st.bufH1 = st.bufH2 = new Int32Array(1);
  const blk: PackedBlock = { n: 3, urls: ['a'], ts: Float64Array.of(0, 7200, 3600 * 100_000), h1: Int32Array.of(1, 2, 3), h2: Int32Array.of(1, 2, 3), u: Int32Array.of(0, 0, 0) };
  for (let k = 0; k < 2; k++) {
    addBlock(st, blk);
    flushAggs(st);
  }
  coarser(takeUrl(st, 'a'), 86400, 4);
  const pw = new PackedPageviewsWriter({ buckets: 1, write: () => Promise.resolve() }, () => 0, 2);
  for (let k = 0; k < 3; k++) if (pw.push(`u${k}`, 0, k, k)) void pw.drain();
}
settleShapes();

/** One URL's finest aggregates in bucket order, released from the state (aggList and byUrl) as they are taken. */
function takeUrl(st: AggState, url: string): Agg[] {
  const ids = st.byUrl.get(url)!.ids;
  st.byUrl.delete(url);
  const level = new Array<Agg>(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    level[k] = st.aggList[id]!;
    st.aggList[id] = null;
  }
  return level.sort((x, y) => x.bucket - y.bucket);
}

/**
 * Sketch bytes as views into 1 MiB arenas (never reused: the writer may hold rows until it
 * closes), not one buffer per sketch: thousands of small external allocations were GC pressure.
 */
class SketchArena {
  private arena = new Uint8Array(0);
  private at = 0;
  bytes(h: HyperLogLog): Uint8Array {
    const n = h.serializedLength();
    if (this.at + n > this.arena.length) {
      this.arena = new Uint8Array(Math.max(1 << 20, n));
      this.at = 0;
    }
    h.serializeInto(this.arena, this.at);
    return this.arena.subarray(this.at, (this.at += n));
  }
}

/** Writes the view (url, then granularity finest first, then bucket) from the state; returns its row count. */
async function writeView(ctx: Ctx, st: AggState, order: Array<{ g: Granularity; s: number }>): Promise<number> {
  if (st.byUrl.size === 0) return 0;
  let viewRows = 0;
  const arena = new SketchArena();
  const w = new ChunkedWriter(ctx.outputs[0]!.open(VIEW_SCHEMA));
  for (const url of [...st.byUrl.keys()].sort()) {
    let level = takeUrl(st, url);
    for (let k = 0; k < order.length; k++) {
      const { g, s } = order[k]!;
      if (k > 0) level = coarser(level, s, st.precision);
      for (const a of level) {
        const out: Row = { url, granularity: g, bucket: a.bucket, pageviews: a.count, uniques: a.hll.count(), hll: arena.bytes(a.hll) };
        viewRows++;
        if (w.push(out)) await w.flush();
      }
    }
  }
  await w.flush();
  return viewRows;
}

/** 'aggregate': count + HLL per finest bucket, coarser levels merged at output; writes the view. */
async function aggregateStage(ctx: Ctx, broadcast: boolean): Promise<StageResult> {
  const p = ctx.params;
  // Rows go only into their finest-granularity bucket (count + HLL); each coarser level is built
  // at output time by merging the level below (h → d → w → m: each divides the next). HLL merge
  // is a register-wise max and a sketch turns dense iff its union has more than m/32 sparse
  // entries, so the merged sketch is the one adding every row would give (same bytes), at one
  // register update per row instead of one per granularity.
  const order = [...new Set(p.granularities)].map((g) => ({ g, s: GRANULARITY_SECONDS[g] })).sort((x, y) => x.s - y.s);
  for (let k = 1; k < order.length; k++) {
    if (order[k]!.s % order[k - 1]!.s !== 0) throw new DagctlError('INTERNAL', 'rollup: granularities do not divide each other', { granularities: p.granularities });
  }
  const t0 = performance.now(), c0 = threadTimes();
  const st = new AggState(order[0]!.s, p.precision);
  const source = broadcast ? ctx.stageOutput('map')! : ctx.prior!;
  for await (const batch of source.bucket(ctx.bucket).batches()) {
    for (const blockRow of batch) {
      addBlock(st, decodePackedBlock(blockRow.block as Uint8Array));
    }
  }
  flushAggs(st);
  const t1 = performance.now(), c1 = timesSince(c0), c1At = threadTimes();
  const viewRows = await writeView(ctx, st, order);
  // Phase times: reading and bucketing rows (sketch updates excluded), the sketch updates, output.
  // (and this thread's CPU time before and after the output began, where it can be read)
  const c2 = timesSince(c1At);
  const cpu: Record<string, number> = c1 === null || c2 === null ? {} : { 'ms.cpu.readAdd': c1.cpuMs, 'ms.cpu.write': c2.cpuMs };
  const rows = st.rows;
  return { metrics: { rowsIn: rows, viewRows, 'ms.read': t1 - t0 - st.flushMs, 'ms.add': st.flushMs, 'ms.write': performance.now() - t1, ...cpu }, inputRows: rows };
}

export { GRANULARITIES };
export type { Granularity };
