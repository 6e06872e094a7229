/**
 * normalize's column-at-a-time path over raw Parquet files (operators/normalize/normalize.ts uses
 * it when the input hands out raw files and the output writer takes column batches): the same
 * rows, rejects, reasons and metrics (but cacheHits/cacheMisses) as the row path, without a row
 * object or a JS string per input row.
 *   - string columns are read as raw pages (storage/parquet/column-scan.ts byteArrayPages): a
 *     dictionary-encoded URL column is normalized once per dictionary entry (its values share the
 *     entry's bytes, memoized by offset), then by the value's bytes (RawUrls: one per thread and
 *     URL options, kept across instances, like the LRU: no JS string for a value seen before), and
 *     only new values through the row path's urlCacheKey LRU;
 *   - identifiers already in normal form (`cookie:<hex>`, `user:<digits>`, checked on the bytes,
 *     by lib/text/identifiers.ts idBytesAlreadyNormal) are kept as bytes (ranges of one copy, per
 *     page buffer, of the span their bytes lie in, or copied row by row where that span is more
 *     than SPAN_SLACK times their bytes: the data stays within SPAN_SLACK times the values'
 *     bytes); any other is decoded (strictly) and normalized by normalizeIdentifier;
 *   - kept rows go to a column accumulator of DEFAULT_MAX_ROWS rows (normalized URLs as ranges of
 *     one buffer of their distinct values, emptied after a flush once past POOL_MAX_BYTES), written
 *     as one batch per file the row path would write;
 *     rejected rows are built as rows (original text, lossy where it is not UTF-8) for the rejects.
 * Reasons follow the row path's order: the first string column (schema order) that is not UTF-8,
 * else the first URL column that fails, else the first identifier column that fails.
 * Preconditions (columnarPlan): every field REQUIRED, string or int64, each string field a URL or
 * an identifier column (not both), no columnTypes override. A file whose schema or layout differs
 * is refused (fileColumns returns null) before anything of it is emitted: the caller reads its rows.
 */
import { isUtf8 } from 'node:buffer';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';
import { schemaFromElements } from '../../storage/parquet/schema-map.js';
import { decodeUtf8Lossy } from '../../storage/parquet/utf8.js';
import type { ColumnBatch, Row, Schema } from '../../storage/types.js';
import { Utf8Pool } from '../lib/columnar/utf8-pool.js';
import { urlCacheKey, type UrlResult } from '../lib/text/url.js';
import { idBytesAlreadyNormal, normalizeIdentifier, type IdOptions } from '../lib/text/identifiers.js';
import type { LruCache } from './lru.js';
import { ByteMemo, MISSING } from './byte-memo.js';

/**
 * Raw URL values' results by their bytes (byte-memo.ts), one per thread and URL options (a pure
 * function's memo, like the LRU): code r >= 0 is results[r], INVALID: not UTF-8. Bounded by the
 * memo's bounds; `bytes.generation` changes when it forgets (results are then renumbered).
 */
export class RawUrls {
  readonly bytes: ByteMemo;
  results: UrlResult[] = [];
  constructor(maxEntries = 1 << 16, maxBytes = 8 << 20) {
    this.bytes = new ByteMemo(maxEntries, maxBytes);
  }
  /**
   * After bytes.find() missed a key of n bytes: stores its result (null: not UTF-8) and returns
   * its code. When the key does not fit, the memo forgets every key, so the results start over.
   */
  store(res: UrlResult | null, n: number): number {
    if (!this.bytes.fits(n)) this.results = [];
    let code = INVALID;
    if (res !== null) {
      code = this.results.length;
      this.results.push(res);
    }
    this.bytes.set(code);
    return code;
  }
}

/** What each output field is: a URL column, an identifier column, or an int64 passed through. */
export type FieldRole = 'url' | 'id' | 'int64';

/** The roles of `schema`'s fields, or null when the column path does not apply (see the banner). */
export function columnarPlan(schema: Schema, urlColumns: readonly string[], idColumns: readonly string[]): FieldRole[] | null {
  if (new Set(urlColumns).size !== urlColumns.length || new Set(idColumns).size !== idColumns.length) return null;
  if (urlColumns.some((c) => idColumns.includes(c))) return null;
  const roles: FieldRole[] = [];
  for (const f of schema) {
    if (f.nullable === true) return null;
    if (f.type === 'int64' && !urlColumns.includes(f.name) && !idColumns.includes(f.name)) roles.push('int64');
    else if (f.type === 'string' && urlColumns.includes(f.name)) roles.push('url');
    else if (f.type === 'string' && idColumns.includes(f.name)) roles.push('id');
    else return null;
  }
  return [...urlColumns, ...idColumns].every((c) => schema.some((f) => f.name === c)) ? roles : null;
}

/** One string column of a row group: value i is bufs[buf[i]][start[i], start[i] + len[i]). */
interface RawStrings { bufs: Uint8Array[]; buf: Int32Array; start: Int32Array; len: Int32Array }
/** One row group of a file: per field, its raw strings or its int64 values. */
export interface RowGroupColumns { rows: number; cols: Array<RawStrings | Float64Array> }

function flatten(pages: ByteArrayPage[], n: number): RawStrings | null {
  // One object shape for every column: bufs is filled before the object is made.
  const bufs: Uint8Array[] = [];
  for (const pg of pages) if (bufs.length === 0 || bufs[bufs.length - 1] !== pg.data) bufs.push(pg.data);
  const out: RawStrings = { bufs, buf: new Int32Array(n), start: new Int32Array(n), len: new Int32Array(n) };
  let at = 0, b = -1;
  for (const pg of pages) {
    if (b < 0 || bufs[b] !== pg.data) b++;
    if (at + pg.count > n) return null;
    out.buf.fill(b, at, at + pg.count);
    out.start.set(pg.start.subarray(0, pg.count), at);
    out.len.set(pg.len.subarray(0, pg.count), at);
    at += pg.count;
  }
  return at === n ? out : null;
}

/**
 * A file's row groups as raw columns in `schema`'s order, or null when its schema is not exactly
 * `schema` or a column's layout is not supported (the caller reads its rows instead).
 */
export async function fileColumns(bytes: Uint8Array, schema: Schema): Promise<RowGroupColumns[] | null> {
  let f;
  try {
    f = openColumnFile(bytes);
  } catch {
    return null; // the row decoder reports it
  }
  const fileSchema = schemaFromElements(f.metadata.schema);
  if (fileSchema.length !== schema.length || fileSchema.some((x, i) => x.name !== schema[i]!.name || x.type !== schema[i]!.type || x.nullable === true)) return null;
  const ints = schema.filter((x) => x.type === 'int64').map((x) => x.name);
  const groups: RowGroupColumns[] = [];
  for (let g = 0; g < f.rowGroups.length; g++) {
    const n = f.rowGroups[g]!.rows;
    const nums = ints.length > 0 ? await f.numbers(g, ints) : {};
    const cols: Array<RawStrings | Float64Array> = [];
    for (const x of schema) {
      if (x.type === 'int64') {
        const v = nums[x.name];
        if (v === undefined || v.length !== n) return null;
        cols.push(v);
        continue;
      }
      const pages = f.byteArrayPages(g, x.name);
      const s = pages === null ? null : flatten(pages, n);
      if (s === null) return null;
      cols.push(s);
    }
    groups.push({ rows: n, cols });
  }
  return groups;
}

/**
 * The most bytes of normalized URLs the pool keeps past a flush: above it the pool is emptied (its
 * ids and the URL memos holding them invalidated), so memory stays bounded and offsets far from 2 GiB.
 */
export const POOL_MAX_BYTES = 64 << 20;

/** Kept rows, column by column, up to `capacity` rows; URL columns point into the pool. */
class Accumulator {
  rows = 0;
  private readonly start: Int32Array[];
  private readonly len: Int32Array[];
  /** Per URL column: each row's pool id (the writer's dictionary ids, flat/columns.ts dictIds). */
  private readonly ids: Int32Array[];
  private readonly own: Array<{ bytes: Uint8Array; used: number }>;
  private readonly ints: Float64Array[];
  constructor(private readonly schema: Schema, private readonly roles: FieldRole[], private readonly pool: Utf8Pool, readonly capacity: number) {
    this.start = roles.map((r) => new Int32Array(r === 'int64' ? 0 : capacity));
    this.len = roles.map((r) => new Int32Array(r === 'int64' ? 0 : capacity));
    this.ids = roles.map((r) => new Int32Array(r === 'url' ? capacity : 0));
    this.own = roles.map((r) => ({ bytes: new Uint8Array(r === 'id' ? 1 << 16 : 0), used: 0 }));
    this.ints = roles.map((r) => new Float64Array(r === 'int64' ? capacity : 0));
  }
  /** Appends the pooled values of rows [from, to) of `codes` whose `keep` is 1 to URL column j; returns the new row count. */
  pooledRows(j: number, codes: Int32Array, keep: Uint8Array, from: number, to: number): number {
    const start = this.start[j]!, len = this.len[j]!, ids = this.ids[j]!;
    const ps = this.pool.start, pl = this.pool.len;
    let at = this.rows;
    for (let r = from; r < to; r++) {
      if (keep[r] !== 1) continue;
      const id = codes[r]!;
      start[at] = ps[id]!;
      len[at] = pl[id]!;
      ids[at] = id;
      at++;
    }
    return at;
  }
  /** Appends rows [from, to) of `vals` whose `keep` is 1 to int64 column j; returns the new row count. */
  intRows(j: number, vals: Float64Array, keep: Uint8Array, from: number, to: number): number {
    const out = this.ints[j]!;
    let at = this.rows;
    for (let r = from; r < to; r++) if (keep[r] === 1) out[at++] = vals[r]!;
    return at;
  }
  /** Room for `n` more bytes in column j's own buffer. */
  private room(j: number, n: number): { bytes: Uint8Array; used: number } {
    const o = this.own[j]!;
    if (o.used + n > o.bytes.length) {
      const grown = new Uint8Array(Math.max(o.bytes.length * 2, o.used + n));
      grown.set(o.bytes.subarray(0, o.used));
      o.bytes = grown;
    }
    return o;
  }
  /**
   * Copies src[lo, hi) into column j's own buffer in one piece; returns the shift from an offset in
   * src to the same byte's offset there.
   */
  span(j: number, src: Uint8Array, lo: number, hi: number): number {
    const o = this.room(j, hi - lo);
    o.bytes.set(src.subarray(lo, hi), o.used);
    const shift = o.used - lo;
    o.used += hi - lo;
    return shift;
  }
  /**
   * Appends identifier column j's kept rows of [from, to) (see placeIds); the rows not ID_COPY
   * get their text afterwards (textAt). Returns the new row count.
   */
  placedRows(j: number, packAt: number, c: RawStrings, kinds: Uint8Array, keep: Uint8Array, from: number, to: number): number {
    return placeIds(this.start[j]!, this.len[j]!, this.rows, packAt, c.buf, c.start, c.len, kinds, keep, from, to);
  }
  /**
   * Copies the bytes of the kept ID_COPY rows of [from, to) in packed page buffers (`bytes` of
   * them) one after another into column j's own buffer; returns where they start there.
   */
  pack(j: number, c: RawStrings, kinds: Uint8Array, keep: Uint8Array, from: number, to: number, bytes: number): number {
    const o = this.room(j, bytes);
    const at = o.used;
    packRows(o.bytes, at, c.bufs, c.buf, c.start, c.len, kinds, keep, from, to);
    o.used += bytes;
    return at;
  }
  /** Sets row `row` of column j to string `v` as UTF-8 (ASCII written directly, anything else through encodeInto). */
  textAt(j: number, row: number, v: string): void {
    const n = v.length;
    const o = this.room(j, 3 * n);
    const b = o.bytes, at = o.used;
    let k = 0;
    for (; k < n; k++) {
      const c = v.charCodeAt(k);
      if (c >= 0x80) break;
      b[at + k] = c;
    }
    const end = k === n ? at + n : at + k + UTF8.encodeInto(v.slice(k), b.subarray(at + k)).written;
    this.start[j]![row] = at;
    this.len[j]![row] = end - at;
    o.used = end;
  }
  /** The rows so far as a batch (views of the accumulator: write it before adding more). */
  batch(): ColumnBatch {
    const n = this.rows;
    const columns: ColumnBatch['columns'] = {};
    for (const [j, f] of this.schema.entries()) {
      const role = this.roles[j]!;
      if (role === 'int64') columns[f.name] = { type: 'int64', values: this.ints[j]!.subarray(0, n) };
      else if (role === 'url') columns[f.name] = { type: 'string', data: this.pool.bytes.subarray(0, this.pool.used), start: this.start[j]!.subarray(0, n), len: this.len[j]!.subarray(0, n), ids: this.ids[j]!.subarray(0, n) };
      else columns[f.name] = { type: 'string', data: this.own[j]!.bytes.subarray(0, this.own[j]!.used), start: this.start[j]!.subarray(0, n), len: this.len[j]!.subarray(0, n) };
    }
    return { rows: n, columns };
  }
  reset(): void {
    this.rows = 0;
    for (const o of this.own) o.used = 0;
  }
}

const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8 = new TextEncoder();
/** The string of UTF-8 bytes, or null when they are not UTF-8. */
function strictString(b: Uint8Array, s: number, n: number): string | null {
  try {
    return FATAL.decode(b.subarray(s, s + n));
  } catch {
    return null;
  }
}

export interface ColumnarSink {
  /** Writes a batch of kept rows (the accumulator is reused once it resolves). */
  write(batch: ColumnBatch): Promise<void>;
  /** A rejected row (original values) with its reason. */
  reject(row: Row, reason: string): Promise<void>;
}

/** URL memo codes: ≥ 0 a pool id; INVALID: not UTF-8; below: -(2 + index of the reject reason). */
const INVALID = -1;
const MEMO_BITS = 16, MEMO_SLOTS = 1 << MEMO_BITS;
/**
 * A row group's string columns' verdicts, by field index (empty arrays for other fields), reused
 * across row groups: one object shape and one element type per array, so the loops reading them
 * stay monomorphic.
 */
class Verdicts {
  /** URL columns: each row's code (a pool id, INVALID, or a reject code). */
  readonly codes: Int32Array[];
  /** Identifier columns: each row's ID_* verdict. */
  readonly kinds: Uint8Array[];
  /** Identifier columns: normalized identifiers of ID_NEW rows, by row. */
  readonly idText: Array<Array<string | undefined>>;
  /** Identifier columns: reject reasons of ID_REJECT rows, by row. */
  readonly idWhy: Array<Map<number, string>>;
  /** Each row's reject code (0: kept; else a reason code, -2 - index into the reasons). */
  why = new Int32Array(0);
  /** Each row: 1 kept, 0 rejected. */
  keep = new Uint8Array(0);
  constructor(width: number) {
    this.codes = Array.from({ length: width }, () => new Int32Array(0));
    this.kinds = Array.from({ length: width }, () => new Uint8Array(0));
    this.idText = Array.from({ length: width }, (): Array<string | undefined> => []);
    this.idWhy = Array.from({ length: width }, () => new Map<number, string>());
  }
}
/** Identifier verdicts of a row group's column. */
const ID_COPY = 0, ID_NEW = 1, ID_INVALID = 2, ID_REJECT = 3;

/**
 * A URL column's memo of the dictionary buffer last seen: its entries' codes by byte offset
 * (slot by offset; slot i's key at [2i] = offset + 1, 0 = empty, and its code at [2i + 1]: one
 * cache line per probe; a collision only recomputes).
 */
class OffsetMemo {
  buf: Uint8Array = EMPTY;
  readonly slots: Int32Array;
  constructor(slots: number) {
    this.slots = new Int32Array(2 * slots);
  }
}
const EMPTY = new Uint8Array(0);

/**
 * An already-normal identifier page buffer is copied as the one span of its kept ID_COPY rows'
 * bytes only while that span is at most SPAN_SLACK times those rows' bytes; past it (most rows
 * between them rejected or re-normalized) its rows are packed one by one instead. So an
 * identifier column's data bytes stay within SPAN_SLACK times its values' bytes.
 */
export const SPAN_SLACK = 2;
/** placeIds' count of ID_COPY rows placed. */
const placed = new Int32Array(1);
/** bufRange's first and last page buffer of a segment (last < first: no rows). */
const bufSpan = new Int32Array(2);
/** appendIds' scratch, by page buffer: shift of its offsets into the accumulator's bytes, 1 if its rows are packed, its kept ID_COPY rows' span [lo, hi) and their bytes. */
let shifts = new Int32Array(4);
let packed = new Uint8Array(4);
let spanLo = new Int32Array(4);
let spanHi = new Int32Array(4);
let keptBytes = new Float64Array(4);

/** The lowest and highest page buffer of rows [from, to) into bufSpan. */
function bufRange(buf: Int32Array, from: number, to: number): void {
  let lo = 0x7fffffff, hi = -1;
  bufSpan[0] = lo;
  bufSpan[1] = hi;
  for (let r = from; r < to; r++) {
    const b = buf[r]!;
    if (b < lo) bufSpan[0] = lo = b;
    if (b > hi) bufSpan[1] = hi = b;
  }
}

/**
 * One pass over rows [from, to): per page buffer, the span [spanLo, spanHi) and the sum of the
 * lengths (keptBytes) of its kept ID_COPY rows (the buffers' entries reset by the caller).
 */
function copySpans(buf: Int32Array, start: Int32Array, len: Int32Array, kinds: Uint8Array, keep: Uint8Array, from: number, to: number): void {
  for (let r = from; r < to; r++) {
    if (keep[r] !== 1 || kinds[r] !== ID_COPY) continue;
    const b = buf[r]!, s = start[r]!, n = len[r]!, e = s + n;
    if (s < spanLo[b]!) spanLo[b] = s;
    if (e > spanHi[b]!) spanHi[b] = e;
    keptBytes[b]! += n;
  }
}

/**
 * Copies the bytes of the kept ID_COPY rows of [from, to) whose page buffer is packed, one after
 * another in row order, into dst from offset `at` (room made by the caller).
 */
function packRows(dst: Uint8Array, at: number, bufs: Uint8Array[], buf: Int32Array, start: Int32Array, len: Int32Array, kinds: Uint8Array, keep: Uint8Array, from: number, to: number): void {
  for (let r = from; r < to; r++) {
    if (keep[r] !== 1 || kinds[r] !== ID_COPY || packed[buf[r]!] !== 1) continue;
    const src = bufs[buf[r]!]!, s = start[r]!, n = len[r]!;
    for (let i = 0; i < n; i++) dst[at + i] = src[s + i]!;
    at += n;
  }
}

/**
 * The kept rows of [from, to) appended from row `at` of an identifier column (dstStart, dstLen):
 * an ID_COPY row as its range shifted into the accumulator's bytes (shifts, by page buffer), or,
 * when its buffer is packed, the next range of the packed bytes from `packAt` (packRows' order);
 * any other row left for its text. Returns the new row count; placed[0] = the ID_COPY rows.
 */
function placeIds(dstStart: Int32Array, dstLen: Int32Array, at: number, packAt: number, buf: Int32Array, start: Int32Array, len: Int32Array, kinds: Uint8Array, keep: Uint8Array, from: number, to: number): number {
  let copied = 0;
  placed[0] = 0;
  for (let r = from; r < to; r++) {
    if (keep[r] !== 1) continue;
    if (kinds[r] === ID_COPY) {
      const b = buf[r]!, n = len[r]!;
      if (packed[b] === 1) {
        dstStart[at] = packAt;
        packAt += n;
      } else dstStart[at] = start[r]! + shifts[b]!;
      dstLen[at] = n;
      placed[0] = ++copied;
    }
    at++;
  }
  return at;
}

/** Rows of [0, n) whose `why` is 0 and whose mark equals `mark`: their `why` becomes `code`. */
function markI32(why: Int32Array, marks: Int32Array, mark: number, code: number, n: number): void {
  for (let r = 0; r < n; r++) if (marks[r] === mark && why[r] === 0) why[r] = code;
}
function markU8(why: Int32Array, marks: Uint8Array, mark: number, code: number, n: number): void {
  for (let r = 0; r < n; r++) if (marks[r] === mark && why[r] === 0) why[r] = code;
}
/** Rows of [0, n) whose `why` is 0 and whose URL code is a reject code: their `why` becomes it. */
function markRejects(why: Int32Array, codes: Int32Array, n: number): void {
  for (let r = 0; r < n; r++) {
    const c = codes[r]!;
    if (c < INVALID && why[r] === 0) why[r] = c;
  }
}
/** The end of the segment from `from` that holds `room` kept rows (or ends at n). */
function segmentEnd(keep: Uint8Array, from: number, n: number, room: number): number {
  let to = from;
  while (to < n && room > 0) {
    if (keep[to] === 1) room--;
    to++;
  }
  return to;
}
/** The `count` rows whose `why` is not 0, in order (a synchronous loop: the caller awaits per reject). */
function rejectedRows(why: Int32Array, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let r = 0, k = 0; k < count; r++) if (why[r] !== 0) out[k++] = r;
  return out;
}
/** keep[r] = 1 where why[r] is 0; returns how many rows are rejected. */
function keepOf(why: Int32Array, keep: Uint8Array, n: number): number {
  let rejected = 0;
  for (let r = 0; r < n; r++) {
    const k = why[r] === 0 ? 1 : 0;
    keep[r] = k;
    rejected += 1 - k;
  }
  return rejected;
}

/**
 * The per-instance state of the column path: the URL normalizer and its memos, the pool of
 * normalized URLs and the accumulator of kept rows.
 * The per-row loops are small synchronous methods or functions, each over typed arrays of one
 * type (monomorphic: optimized once per thread); rare work (a memo miss, an identifier not
 * already normal, a reject) is in methods of its own.
 */
export class ColumnarNormalizer {
  private readonly pool = new Utf8Pool();
  private readonly acc: Accumulator;
  private readonly reasons: string[] = [];
  private readonly reasonIds = new Map<string, number>();
  /** Per field: a URL column's offset memo (an empty one for other fields). */
  private readonly memo: OffsetMemo[];
  /** Per RawUrls result index: its code in this instance (a pool id or a reject code), MISSING if not yet; of RawUrls generation `rawGen`. */
  private rawCodes = new Int32Array(1 << 12).fill(MISSING);
  private rawGen = -1;
  private readonly stringCols: number[];
  private readonly urlOrder: number[];
  private readonly idOrder: number[];
  private readonly v: Verdicts;
  rowsOut = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly schema: Schema,
    private readonly roles: FieldRole[],
    urlColumns: readonly string[],
    idColumns: readonly string[],
    private readonly normUrl: (raw: string) => UrlResult,
    private readonly cache: LruCache<string, UrlResult>,
    private readonly idOpts: IdOptions,
    capacity: number,
    private readonly sink: ColumnarSink,
    private readonly metrics: Record<string, number>,
    private readonly poolMaxBytes = POOL_MAX_BYTES,
    private readonly raw = new RawUrls(),
  ) {
    this.acc = new Accumulator(schema, roles, this.pool, capacity);
    this.memo = roles.map((r) => new OffsetMemo(r === 'url' ? MEMO_SLOTS : 0));
    this.stringCols = roles.flatMap((r, j) => (r === 'int64' ? [] : [j]));
    const at = (c: string): number => schema.findIndex((f) => f.name === c);
    this.urlOrder = urlColumns.map(at);
    this.idOrder = idColumns.map(at);
    this.v = new Verdicts(schema.length);
  }

  private reasonCode(reason: string): number {
    let i = this.reasonIds.get(reason);
    if (i === undefined) {
      i = this.reasons.length;
      this.reasons.push(reason);
      this.reasonIds.set(reason, i);
    }
    return -2 - i;
  }

  private urlCode(r: UrlResult): number {
    return r.ok ? this.pool.idOfString(r.url) : this.reasonCode(r.reason);
  }

  /**
   * The codes of URL column j's values [from, to) into out (only rows whose keep is 1 when `keep` is
   * given); returns the offset memo's hits (nothing after the loop but a return: see the class banner).
   */
  private urlColumn(j: number, c: RawStrings, out: Int32Array, from: number, to: number, keep: Uint8Array | null): number {
    const { bufs, buf, start, len } = c;
    const m = this.memo[j]!;
    const slots = m.slots;
    let hits = 0;
    for (let r = from; r < to; r++) {
      if (keep !== null && keep[r] !== 1) continue;
      const b = bufs[buf[r]!]!, s = start[r]!;
      if (m.buf !== b) this.newBuffer(m, b);
      const slot = (Math.imul(s, 0x9e3779b1) >>> (32 - MEMO_BITS)) << 1;
      if (slots[slot] === s + 1) {
        hits++;
        out[r] = slots[slot + 1]!;
      } else {
        const code = this.urlMiss(b, s, len[r]!);
        slots[slot] = s + 1;
        slots[slot + 1] = code;
        out[r] = code;
      }
    }
    return hits;
  }

  private newBuffer(m: OffsetMemo, b: Uint8Array): void {
    m.buf = b;
    m.slots.fill(0);
  }

  /** The code of the URL value b[s, s + n) that its offset memo missed: by its bytes (RawUrls), else normalized. */
  private urlMiss(b: Uint8Array, s: number, n: number): number {
    const raw = this.raw;
    let r = raw.bytes.find(b, s, n);
    if (r === MISSING) {
      const v = isUtf8(b.subarray(s, s + n)) ? strictString(b, s, n) : null;
      r = raw.store(v === null ? null : this.cache.getOrCompute(urlCacheKey(v), this.normUrl), n);
      this.misses++;
    } else this.hits++;
    if (r === INVALID) return INVALID;
    if (this.rawGen !== raw.bytes.generation) {
      this.rawGen = raw.bytes.generation;
      this.rawCodes.fill(MISSING);
    }
    if (r >= this.rawCodes.length) {
      const grown = new Int32Array(Math.max(2 * this.rawCodes.length, r + 1)).fill(MISSING);
      grown.set(this.rawCodes);
      this.rawCodes = grown;
    }
    let code = this.rawCodes[r]!;
    if (code === MISSING) this.rawCodes[r] = code = this.urlCode(raw.results[r]!);
    return code;
  }

  /** Identifier column j's verdicts of rows [0, n) into k (ID_COPY rows are those already in normal form). */
  private idColumn(j: number, c: RawStrings, k: Uint8Array, n: number): void {
    const { bufs, buf, start, len } = c;
    const stripZeros = this.idOpts.stripUserZeros;
    for (let r = 0; r < n; r++) {
      const b = bufs[buf[r]!]!, s = start[r]!, m = len[r]!;
      k[r] = idBytesAlreadyNormal(b, s, m, stripZeros) ? ID_COPY : this.idSlow(j, r, b, s, m);
    }
  }

  /** The verdict of an identifier not already in normal form (its text or reason kept by row). */
  private idSlow(j: number, r: number, b: Uint8Array, s: number, m: number): number {
    const str = strictString(b, s, m);
    if (str === null) return ID_INVALID;
    const res = normalizeIdentifier(str, this.idOpts);
    if (res.ok) {
      this.v.idText[j]![r] = res.id;
      return ID_NEW;
    }
    this.v.idWhy[j]!.set(r, res.reason);
    return ID_REJECT;
  }

  /** Normalizes one file's row groups: kept rows to the accumulator, rejects to the sink. */
  async file(groups: RowGroupColumns[]): Promise<void> {
    for (const g of groups) await this.rowGroup(g);
  }

  /**
   * One row group, a column at a time: each string column's verdicts (URL codes; identifiers: copy
   * as is, normalized, not UTF-8, rejected), then each row's reason from them, then the kept rows
   * appended column by column (a segment at a time when the accumulator fills up). The loops are
   * in synchronous methods (optimized as such); only writes are awaited.
   */
  private async rowGroup(g: RowGroupColumns): Promise<void> {
    const { metrics, acc, v } = this;
    const n = g.rows;
    // rowsIn per row group: `metrics` has a key per reject reason (a slow dictionary object).
    metrics.rowsIn! += n;
    this.verdicts(g);
    const rejected = this.decide(n);
    if (rejected > 0) await this.rejectRows(g, rejected);
    this.rowsOut += n - rejected;
    for (let from = 0; from < n;) {
      from = this.append(g, from);
      if (acc.rows === acc.capacity && await this.write() && from < n) this.recode(g, from);
    }
    for (const j of this.idOrder) {
      v.idText[j]!.length = 0;
      v.idWhy[j]!.clear();
    }
  }

  /** The rejected rows (`count` of them) to the sink, in row order, with their reasons. */
  private async rejectRows(g: RowGroupColumns, count: number): Promise<void> {
    const { metrics } = this;
    const why = this.v.why;
    for (const r of rejectedRows(why, count)) {
      const reason = this.reasons[-2 - why[r]!]!;
      metrics.rejected!++;
      metrics[`rejected.${reason}`] = (metrics[`rejected.${reason}`] ?? 0) + 1;
      await this.sink.reject(this.original(g.cols, r), reason);
    }
  }

  /** URL codes of the kept rows of [from, …) again, after the pool was emptied (their ids are void). */
  private recode(g: RowGroupColumns, from: number): void {
    for (const j of this.urlOrder) this.hits += this.urlColumn(j, g.cols[j] as RawStrings, this.v.codes[j]!, from, g.rows, this.v.keep);
  }

  /** Each string column's verdicts of the row group into this.v (buffers grown to its rows). */
  private verdicts(g: RowGroupColumns): void {
    const { v } = this;
    const n = g.rows;
    if (v.why.length < n) {
      v.why = new Int32Array(n);
      v.keep = new Uint8Array(n);
    }
    for (const j of this.stringCols) {
      if (this.roles[j] === 'url') {
        if (v.codes[j]!.length < n) v.codes[j] = new Int32Array(n);
        this.hits += this.urlColumn(j, g.cols[j] as RawStrings, v.codes[j]!, 0, n, null);
      } else {
        if (v.kinds[j]!.length < n) v.kinds[j] = new Uint8Array(n);
        this.idColumn(j, g.cols[j] as RawStrings, v.kinds[j]!, n);
      }
    }
  }

  /**
   * Which rows are kept (v.keep), and the others' reasons (v.why), in the row path's order: the
   * first string column (schema order) that is not UTF-8, then the URL columns, then the
   * identifier columns — a pass per column, each marking only rows no earlier pass marked.
   * Returns how many rows are rejected.
   */
  private decide(n: number): number {
    const { roles, v } = this;
    const why = v.why;
    why.fill(0, 0, n);
    for (const j of this.stringCols) {
      if (roles[j] === 'url') markI32(why, v.codes[j]!, INVALID, this.reasonCode('invalid_utf8'), n);
      else markU8(why, v.kinds[j]!, ID_INVALID, this.reasonCode('id_invalid_utf8'), n);
    }
    for (const j of this.urlOrder) markRejects(why, v.codes[j]!, n);
    for (const j of this.idOrder) {
      for (const [r, reason] of v.idWhy[j]!) if (why[r] === 0) why[r] = this.reasonCode(reason);
    }
    return keepOf(why, v.keep, n);
  }

  /** Appends the kept rows of [from, …) a column at a time until the accumulator is full; returns where it stopped. */
  private append(g: RowGroupColumns, from: number): number {
    const { roles, acc, v } = this;
    const keep = v.keep;
    const n = g.rows, cols = g.cols, width = roles.length;
    const to = segmentEnd(keep, from, n, acc.capacity - acc.rows);
    const at = acc.rows;
    let count = 0;
    for (let j = 0; j < width; j++) {
      acc.rows = at;
      const role = roles[j]!;
      if (role === 'int64') acc.rows = acc.intRows(j, cols[j] as Float64Array, keep, from, to);
      else if (role === 'url') acc.rows = acc.pooledRows(j, v.codes[j]!, keep, from, to);
      else this.appendIds(j, cols[j] as RawStrings, keep, from, to);
      count = acc.rows - at;
    }
    acc.rows = at + count;
    return to;
  }

  /**
   * Appends identifier column j's kept rows of [from, to): those already normal as ranges of one
   * copy, per page buffer, of the span of their bytes (a native copy, not one per value), or
   * packed row by row where that span is more than SPAN_SLACK times their bytes; then the
   * others' normalized text. One pass over the rows, then one step per page buffer they use.
   */
  private appendIds(j: number, c: RawStrings, keep: Uint8Array, from: number, to: number): void {
    const { acc } = this;
    const k = this.v.kinds[j]!;
    const nb = c.bufs.length;
    if (shifts.length < nb) {
      shifts = new Int32Array(nb);
      packed = new Uint8Array(nb);
      spanLo = new Int32Array(nb);
      spanHi = new Int32Array(nb);
      keptBytes = new Float64Array(nb);
    }
    bufRange(c.buf, from, to);
    const b0 = bufSpan[0]!, b1 = bufSpan[1]! + 1;
    let packAt = 0;
    if (b0 < b1) {
      spanLo.fill(0x7fffffff, b0, b1);
      spanHi.fill(-1, b0, b1);
      keptBytes.fill(0, b0, b1);
      packed.fill(0, b0, b1);
      copySpans(c.buf, c.start, c.len, k, keep, from, to);
      let packBytes = 0;
      for (let b = b0; b < b1; b++) {
        const lo = spanLo[b]!, hi = spanHi[b]!, kept = keptBytes[b]!;
        if (hi < lo) continue;
        if (hi - lo <= SPAN_SLACK * kept) shifts[b] = acc.span(j, c.bufs[b]!, lo, hi);
        else {
          packed[b] = 1;
          packBytes += kept;
        }
      }
      if (packBytes > 0) packAt = acc.pack(j, c, k, keep, from, to, packBytes);
    }
    const at = acc.rows;
    acc.rows = acc.placedRows(j, packAt, c, k, keep, from, to);
    if (placed[0]! < acc.rows - at) this.appendNewIds(j, k, keep, from, to, at);
  }

  /** The text of identifier column j's kept rows of [from, to) that are not ID_COPY (placed from row `at`). */
  private appendNewIds(j: number, k: Uint8Array, keep: Uint8Array, from: number, to: number, at: number): void {
    const text = this.v.idText[j]!;
    for (let r = from; r < to; r++) {
      if (keep[r] !== 1) continue;
      if (k[r] !== ID_COPY) this.acc.textAt(j, at, text[r]!);
      at++;
    }
  }

  /** Row r's original values (text decoded lossily where it is not UTF-8), for the rejects. */
  private original(cols: Array<RawStrings | Float64Array>, r: number): Row {
    const row: Row = {};
    for (const [j, f] of this.schema.entries()) {
      const c = cols[j]!;
      if (c instanceof Float64Array) row[f.name] = c[r]!;
      else {
        const b = c.bufs[c.buf[r]!]!, s = c.start[r]!;
        row[f.name] = decodeUtf8Lossy(b.subarray(s, s + c.len[r]!));
      }
    }
    return row;
  }

  /** Writes the kept rows accumulated so far. */
  async flush(): Promise<void> {
    this.raw.bytes.releaseBuffer();
    await this.write();
  }

  /**
   * Writes the kept rows accumulated so far; then, when the pool holds more than poolMaxBytes,
   * empties it and the URL memos (their codes are pool ids; `rawCodes` too). True when it did (ids handed out are void).
   */
  private async write(): Promise<boolean> {
    if (this.acc.rows === 0) return false;
    await this.sink.write(this.acc.batch());
    this.acc.reset();
    if (this.pool.used <= this.poolMaxBytes) return false;
    this.pool.clear();
    for (const m of this.memo) m.buf = EMPTY;
    this.rawCodes.fill(MISSING);
    return true;
  }
}
