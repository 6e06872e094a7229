/**
 * dedupe's map over raw Parquet files, column at a time (operators/dedupe/dedupe.ts uses it when
 * the input hands out raw files, the shuffle takes encoded blocks and every field is a REQUIRED
 * string or int64): the same rows in the same buckets as the row path, without a row object or a
 * JS string per input row.
 *   - a file's columns are read as raw pages (operators/normalize/columnar.ts fileColumns): strings
 *     as UTF-8 byte ranges (a dictionary-encoded column's values share its entries' bytes), int64
 *     as doubles;
 *   - each row's bucket is hashKey of its key columns (lib/row-index.ts), computed from the bytes
 *     (mixUtf8: the same hash over UTF-16 code units, so routing equals the row path's); a column
 *     whose values repeat (a dictionary: few distinct byte ranges) is measured once per distinct
 *     value, and as the first key column its hash prefix is too;
 *   - each bucket's rows go out as DGSH blocks encoded from those bytes (storage/shuffle/format.ts
 *     encodeRawBlock): repeated columns as a block dictionary, others plain, with the UTF-16
 *     lengths the format records, and the rows' hashes as the last column (HASH_FIELD: the
 *     reduce reads them instead of hashing again).
 * Bytes that are not UTF-8 are found while measuring, before anything of the file is emitted:
 * file() then returns false and the caller reads that file's rows (whose decoder reports it).
 * Blocks hold at most `blockRows` rows and never span files (they point into the file's pages).
 */
import type { RowGroupColumns } from '../normalize/columnar.js';
import { encodeRawBlock, type RawShuffleColumn } from '../../storage/shuffle/format.js';
import type { Schema } from '../../storage/types.js';
import { HASH_SEED, mixUtf8, mixValue, shuffleSchema, utf16Units, utf8Value } from './row-index.js';

type RawStrings = Exclude<RowGroupColumns['cols'][number], Float64Array>;

/** A string column of a row group, measured: per row its UTF-16 length, or its entry. */
interface Measured {
  s: RawStrings;
  /** Per row: UTF-16 length (plain columns). */
  units: Uint32Array | null;
  /** Per row: entry id (repeated columns), with each entry's first row and UTF-16 length. */
  entry: Int32Array | null;
  firstRow: number[];
  entryUnits: number[];
}

interface Group {
  n: number;
  cols: Array<Measured | Float64Array>;
  hash: Int32Array;
}

export type BlockSink = (bucket: number, block: Uint8Array, rows: number) => Promise<void>;

/** Whether the byte path applies to `schema` and key `keyCols` (see the banner). */
export function byteMapApplies(schema: Schema, keyCols: readonly string[]): boolean {
  return schema.every((f) => f.nullable !== true && (f.type === 'string' || f.type === 'int64')) && keyCols.every((k) => schema.some((f) => f.name === k));
}

/** The pages as plain Uint8Arrays (a reader may hand out Buffers, a subclass with another map: the
 * loops over them, compiled for one, deoptimized on the other — "wrong map"). */
function plainViews(bufs: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of bufs) out.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  return out;
}

/** Whether a column's first rows mostly share byte ranges (a dictionary): then it is measured per entry. */
function repeats(s: RawStrings, n: number): boolean {
  const k = Math.min(n, 256);
  const seen = new Set<number>();
  for (let i = 0; i < k; i++) seen.add(s.buf[i]! * 4294967296 + s.start[i]!);
  return seen.size * 2 <= k;
}

export class ByteMapper {
  /** Rows emitted. */
  rows = 0;
  private readonly key: number[];
  /** The blocks' schema: the input's fields, then the hash (shuffleSchema). */
  private readonly out: Schema;

  /** `schema`: the input's. */
  constructor(schema: Schema, keyCols: readonly string[], private readonly buckets: number, private readonly blockRows = 8192) {
    this.key = keyCols.map((k) => schema.findIndex((f) => f.name === k));
    this.out = shuffleSchema(schema);
  }

  /** Routes a file's rows to `sink` as blocks; false (nothing emitted) when a string is not UTF-8. */
  async file(groups: RowGroupColumns[], sink: BlockSink): Promise<boolean> {
    const measured: Group[] = [];
    for (const g of groups) {
      const m = this.measure(g);
      if (m === null) return false;
      measured.push(m);
    }
    for (const g of measured) await this.emit(g, sink);
    return true;
  }

  /** Hashes and measures a row group; null when a string is not UTF-8. */
  private measure(g: RowGroupColumns): Group | null {
    const n = g.rows;
    const cols: Array<Measured | Float64Array> = g.cols.map((c) => {
      if (c instanceof Float64Array) return c;
      const rep = repeats(c, n);
      return { s: { bufs: plainViews(c.bufs), buf: c.buf, start: c.start, len: c.len }, units: rep ? null : new Uint32Array(n), entry: rep ? new Int32Array(n) : null, firstRow: [], entryUnits: [] };
    });
    const hash = new Int32Array(n).fill(HASH_SEED | 0);
    const done = new Array<boolean>(cols.length).fill(false);
    for (let k = 0; k < this.key.length; k++) {
      const c = cols[this.key[k]!]!;
      if (c instanceof Float64Array) {
        mixF64s(hash, c, n);
        continue;
      }
      const j = this.key[k]!;
      const { bufs, buf, start, len } = c.s;
      if (c.entry !== null) {
        // Entries found and measured (and, for the first key column, hashed) once each.
        const prefix: number[] = [];
        if (!this.entries(c, n, k === 0 ? prefix : null)) return null;
        done[j] = true;
        if (k === 0 && c.entry !== null) {
          gatherPrefix(hash, prefix, c.entry, n);
          continue;
        }
      }
      if (done[j]) {
        mixStrings(hash, bufs, buf, start, len, n);
        continue;
      }
      if (!mixMeasure(hash, c.units!, bufs, buf, start, len, n)) return null;
      done[j] = true;
    }
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j]!;
      if (c instanceof Float64Array || done[j]) continue;
      if (c.entry !== null) {
        if (!this.entries(c, n, null)) return null;
        continue;
      }
      if (!measureUnits(c.s, c.units!, n)) return null;
    }
    return { n, cols, hash };
  }

  /** Assigns a repeated column's entries (by byte range) and measures each once; `prefix` gets each
   * entry's hash state from the seed. False when an entry is not UTF-8. */
  private entries(c: Measured, n: number, prefix: number[] | null): boolean {
    const { bufs, buf, start, len } = c.s;
    const entry = c.entry!;
    // Byte range (buffer, start) → entry: open addressing with linear probing, slot → entry + 1 (a
    // Map keyed by buffer × 2³² + start hashed a heap number per row, ~1/7 of the map).
    let bits = 10, slots = new Int32Array(1 << bits);
    for (let i = 0; i < n; i++) {
      const b = buf[i]!, s = start[i]!;
      const mask = (1 << bits) - 1;
      let at = slotOf(b, s, bits), e = -1;
      for (let q = slots[at]!; q !== 0; q = slots[at]!) {
        const r = c.firstRow[q - 1]!;
        if (start[r] === s && buf[r] === b) {
          e = q - 1;
          break;
        }
        at = (at + 1) & mask;
      }
      if (e < 0) {
        e = c.firstRow.length;
        slots[at] = e + 1;
        c.firstRow.push(i);
        if (2 * (e + 1) > 1 << bits) {
          // Over half full: double, re-placing every entry by its first row.
          bits++;
          slots = new Int32Array(1 << bits);
          const m2 = (1 << bits) - 1;
          for (let d = 0; d <= e; d++) {
            const r = c.firstRow[d]!;
            let t = slotOf(buf[r]!, start[r]!, bits);
            while (slots[t] !== 0) t = (t + 1) & m2;
            slots[t] = d + 1;
          }
        }
        const data = bufs[b]!;
        let u: number;
        if (prefix !== null) {
          prefix.push(mixUtf8(HASH_SEED, data, s, len[i]!));
          u = utf8Value.units;
        } else u = utf16Units(data, s, s + len[i]!);
        if (u < 0) return false;
        c.entryUnits.push(u);
      } else if (len[c.firstRow[e]!] !== len[i]) {
        // The same start with another length: not one value; measure this column per row instead.
        return this.unrepeat(c, n);
      }
      entry[i] = e;
    }
    return true;
  }

  /** Falls back to per-row measuring for a column whose byte ranges overlap without being equal. */
  private unrepeat(c: Measured, n: number): boolean {
    c.entry = null;
    c.firstRow = [];
    c.entryUnits = [];
    c.units = new Uint32Array(n);
    return measureUnits(c.s, c.units, n);
  }

  // Hot loops live in small sync functions (routeRows, encodeBlock): V8 optimizes them on their own
  // after a few calls, where loops inlined into this async function were compiled on stack
  // replacement and deoptimized whenever control reached code it had not run yet (~2× cold cost).
  private async emit(g: Group, sink: BlockSink): Promise<void> {
    const { n, hash, cols } = g;
    const B = this.buckets;
    const { order, count } = routeRows(hash, n, B);
    // Scratch: entry → block dictionary id + 1, per repeated column (reset after each block).
    const local = cols.map((c) => (c instanceof Float64Array || c.entry === null ? null : new Int32Array(c.firstRow.length)));
    for (let b = 0; b < B; b++) {
      for (let from = count[b]!, end = count[b + 1]!; from < end; from += this.blockRows) {
        const rows = order.subarray(from, Math.min(end, from + this.blockRows));
        const block = encodeBlock(this.out, cols, rows, local, hash);
        this.rows += rows.length;
        await sink(b, block, rows.length);
      }
    }
  }
}

/** The entry-table slot of byte range (buffer b, start s) in a table of 2^bits slots. */
function slotOf(b: number, s: number, bits: number): number {
  return Math.imul(s ^ Math.imul(b, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits);
}

// measure's loops, as leaf functions over typed arrays with nothing after the loop: V8 compiles
// each once, where inlined into measure they were compiled on stack replacement and deoptimized
// at each later statement not run yet (measure was compiled ~7 times per thread at 1M).

function mixF64s(hash: Int32Array, v: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) hash[i] = mixValue(hash[i]!, v[i]);
}

function gatherPrefix(hash: Int32Array, prefix: readonly number[], entry: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) hash[i] = prefix[entry[i]!]!;
}

function mixStrings(hash: Int32Array, bufs: readonly Uint8Array[], buf: RawStrings['buf'], start: RawStrings['start'], len: RawStrings['len'], n: number): void {
  for (let i = 0; i < n; i++) hash[i] = mixUtf8(hash[i]!, bufs[buf[i]!]!, start[i]!, len[i]!);
}

/** mixStrings, recording each value's UTF-16 length in units; false when a value is not UTF-8. */
function mixMeasure(hash: Int32Array, units: Uint32Array, bufs: readonly Uint8Array[], buf: RawStrings['buf'], start: RawStrings['start'], len: RawStrings['len'], n: number): boolean {
  for (let i = 0; i < n; i++) {
    hash[i] = mixUtf8(hash[i]!, bufs[buf[i]!]!, start[i]!, len[i]!);
    const u = utf8Value.units;
    if (u < 0) return false;
    units[i] = u;
  }
  return true;
}

/** Each value's UTF-16 length into units; false when a value is not UTF-8. */
function measureUnits(s: RawStrings, units: Uint32Array, n: number): boolean {
  const { bufs, buf, start, len } = s;
  for (let i = 0; i < n; i++) {
    const at = start[i]!;
    const u = utf16Units(bufs[buf[i]!]!, at, at + len[i]!);
    if (u < 0) return false;
    units[i] = u;
  }
  return true;
}

/** Row indexes by bucket (hash mod B), in input order within a bucket (a counting sort); bucket b's
 * rows are order[count[b], count[b + 1]). Its loops are leaf functions (see measure's). */
function routeRows(hash: Int32Array, n: number, B: number): { order: Int32Array; count: Int32Array } {
  const bucketOf = new Int32Array(n);
  const count = new Int32Array(B + 1);
  // A power of two: the unsigned remainder is the low bits (a uint32 % B is a float remainder in V8).
  if ((B & (B - 1)) === 0) bucketsByMask(hash, n, B - 1, bucketOf, count);
  else bucketsByRemainder(hash, n, B, bucketOf, count);
  const order = new Int32Array(n);
  placeRows(bucketOf, n, count, B, order);
  return { order, count };
}

function bucketsByMask(hash: Int32Array, n: number, mask: number, bucketOf: Int32Array, count: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const b = hash[i]! & mask;
    bucketOf[i] = b;
    count[b + 1]! += 1;
  }
}

function bucketsByRemainder(hash: Int32Array, n: number, B: number, bucketOf: Int32Array, count: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const b = (hash[i]! >>> 0) % B;
    bucketOf[i] = b;
    count[b + 1]! += 1;
  }
}

/** count: per-bucket counts (shifted by one) become bucket starts; order gets each row at its place. */
function placeRows(bucketOf: Int32Array, n: number, count: Int32Array, B: number, order: Int32Array): void {
  for (let b = 0; b < B; b++) count[b + 1]! += count[b]!;
  const fill = count.slice(0, B);
  for (let i = 0; i < n; i++) order[fill[bucketOf[i]!]!++] = i;
}

/** One DGSH block of `rows` (indexes into the group's columns), their hashes last. */
function encodeBlock(schema: Schema, cols: ReadonlyArray<Measured | Float64Array>, rows: Int32Array, local: ReadonlyArray<Int32Array | null>, hash: Int32Array): Uint8Array {
  const raw: RawShuffleColumn[] = [];
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j]!;
    raw.push(c instanceof Float64Array ? gatherF64(c, rows) : c.entry !== null ? dictColumn(c, rows, local[j]!) : plainColumn(c, rows));
  }
  raw.push(gatherHashes(hash, rows));
  return encodeRawBlock(schema, rows.length, raw);
}

// The loops below sit in functions that build no object after them: a function first compiled on
// stack replacement in its loop kept deoptimizing at the object literal after it (no feedback).
function gatherF64(v: Float64Array, rows: Int32Array): RawShuffleColumn {
  return { kind: 'f64', values: gather(v, rows, new Float64Array(rows.length)) };
}

function gatherHashes(hash: Int32Array, rows: Int32Array): RawShuffleColumn {
  return { kind: 'i32', values: gatherI32(hash, rows, new Int32Array(rows.length)) };
}

function gatherI32(v: Int32Array, rows: Int32Array, out: Int32Array): Int32Array {
  for (let k = 0; k < rows.length; k++) out[k] = v[rows[k]!]!;
  return out;
}

function gather(v: Float64Array, rows: Int32Array, out: Float64Array): Float64Array {
  for (let k = 0; k < rows.length; k++) out[k] = v[rows[k]!]!;
  return out;
}

function plainColumn(c: Measured, rows: Int32Array): RawShuffleColumn {
  const lens = new Uint32Array(rows.length);
  const utf8 = new Uint8Array(plainBytes(c.s.len, rows));
  copyPlain(c.s, c.units!, rows, lens, utf8);
  return { kind: 'plain', lens, utf8 };
}

function plainBytes(len: Int32Array, rows: Int32Array): number {
  let total = 0;
  for (let k = 0; k < rows.length; k++) total += len[rows[k]!]!;
  return total;
}

/** Gathers the rows' bytes into utf8 and their UTF-16 lengths into lens. */
function copyPlain(s: RawStrings, units: Uint32Array, rows: Int32Array, lens: Uint32Array, utf8: Uint8Array): void {
  const { bufs, buf, start, len } = s;
  // Short values are copied 4 bytes at a time through DataViews (~2× a byte loop), long ones natively.
  const out = new DataView(utf8.buffer);
  // Built by push: one array shape whatever the count (a mapped array's shape varied: a deopt loop).
  const views: DataView[] = [];
  for (let i = 0; i < bufs.length; i++) views.push(new DataView(bufs[i]!.buffer, bufs[i]!.byteOffset, bufs[i]!.byteLength));
  let o = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    lens[k] = units[r]!;
    const b = buf[r]!;
    const s = start[r]!, e = s + len[r]!;
    if (e - s > 32) {
      utf8.set(new Uint8Array(bufs[b]!.buffer, bufs[b]!.byteOffset + s, e - s), o);
      o += e - s;
      continue;
    }
    const v = views[b]!;
    let p = s;
    for (; p + 4 <= e; p += 4, o += 4) out.setUint32(o, v.getUint32(p, true), true);
    if (p < e) {
      const data = bufs[b]!;
      for (; p < e; p++) utf8[o++] = data[p]!;
    }
  }
}

function dictColumn(c: Measured, rows: Int32Array, local: Int32Array): RawShuffleColumn {
  const { bufs, buf, start, len } = c.s, entry = c.entry!;
  const m = rows.length;
  const idx = new Uint32Array(m);
  const used: number[] = [];
  let bytes = 0;
  for (let k = 0; k < m; k++) {
    const e = entry[rows[k]!]!;
    let id = local[e]!;
    if (id === 0) {
      used.push(e);
      id = used.length;
      local[e] = id;
      bytes += len[c.firstRow[e]!]!;
    }
    idx[k] = id - 1;
  }
  const lens = new Uint32Array(used.length);
  const utf8 = new Uint8Array(bytes);
  let o = 0;
  for (let d = 0; d < used.length; d++) {
    const e = used[d]!;
    local[e] = 0;
    lens[d] = c.entryUnits[e]!;
    const r = c.firstRow[e]!;
    const s = start[r]!, l = len[r]!;
    utf8.set(bufs[buf[r]!]!.subarray(s, s + l), o);
    o += l;
  }
  return { kind: 'dict', lens, utf8, idx };
}
