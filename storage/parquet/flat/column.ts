/**
 * One column chunk of the flat writer: the uncompressed payload of its data page (definition
 * levels, then values) and, for dictionary-encoded strings, of its dictionary page, plus the
 * chunk's statistics (null count, min/max as Parquet's plain bytes, in the column's sort order).
 *
 * Preconditions: a flat dagctl Field; rows[start..end) hold values of its type (checked here,
 * PARQUET_INVALID otherwise — see values.ts checkValue); a little-endian host (typed arrays are
 * copied as Parquet's little-endian PLAIN bytes; flat/file.ts checks).
 *
 * Why it is cheaper than hyparquet-writer: no per-value objects (UTF-8 goes straight into the page
 * buffer, numbers into typed arrays), the dictionary of a string column is given up after 1024
 * values when they barely repeat (no full dictionary for ids), and string statistics compare JS strings — falling back to UTF-8 byte order only when a
 * value holds a char >= U+D800, the one range where UTF-16 and UTF-8 orders differ.
 */
import type { Field, Row, Value } from '../../types.js';
import { checkValue, int64ToBigint } from '../values.js';
import { bitWidthFor, writeBitPacked, writeRleRun } from './rle.js';
import type { ByteSink } from './sink.js';

export const ENC_PLAIN = 0;
export const ENC_RLE = 3;
export const ENC_RLE_DICTIONARY = 8;

export interface EncodedColumn {
  /** Distinct values in the dictionary page (its payload is in the dict sink), or 0: no dictionary. */
  dictCount: number;
  encoding: number;
  nulls: number;
  min?: Uint8Array;
  max?: Uint8Array;
}

/** Encodes rows[start..end) of f: data page payload into `page`, dictionary payload into `dict`. */
export function encodeColumn(f: Field, rows: Row[], start: number, end: number, page: ByteSink, dict: ByteSink): EncodedColumn {
  const n = end - start;
  const name = f.name;
  let nulls = 0;
  if (f.nullable === true) {
    // Definition levels (max level 1) first, length-prefixed as data page v1 requires.
    const defs = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = rows[start + i]![name];
      if (v === null || v === undefined) nulls++;
      else defs[i] = 1;
    }
    const at = page.pos;
    page.u32le(0);
    if (nulls === 0) writeRleRun(page, n, 1, 1);
    else writeBitPacked(page, defs, n, 1);
    page.buf.writeUInt32LE(page.pos - at - 4, at);
  }
  const count = n - nulls;
  const col: EncodedColumn = { dictCount: 0, encoding: ENC_PLAIN, nulls };
  switch (f.type) {
    case 'int32':
      return int32s(f, rows, start, end, count, page, col);
    case 'int64':
      return int64s(f, rows, start, end, count, page, col);
    case 'double':
      return doubles(f, rows, start, end, count, page, col);
    case 'boolean':
      return booleans(f, rows, start, end, count, page, col);
    case 'string':
      return dictStrings(f, rows, start, end, count, page, dict, col) ?? plainStrings(f, rows, start, end, page, col);
    case 'bytes':
      return bytesColumn(f, rows, start, end, page, col);
  }
}

/** The value at row i, or null (absent values are null); throws if a null is not allowed. */
function nullable(f: Field, v: Value | undefined): v is null | undefined {
  if (v !== null && v !== undefined) return false;
  checkValue(f, v);
  return true;
}

function int32s(f: Field, rows: Row[], start: number, end: number, count: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const out = new Int32Array(count);
  let k = 0, min = Infinity, max = -Infinity;
  for (let i = start; i < end; i++) {
    const v = rows[i]![f.name];
    if (nullable(f, v)) continue;
    if (typeof v !== 'number' || (v | 0) !== v) checkValue(f, v); // throws: not an int32
    const x = v as number;
    out[k++] = x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  page.bytes(new Uint8Array(out.buffer));
  if (count > 0) {
    const s = new Int32Array([min, max]);
    col.min = new Uint8Array(s.buffer, 0, 4);
    col.max = new Uint8Array(s.buffer, 4, 4);
  }
  return col;
}

function int64s(f: Field, rows: Row[], start: number, end: number, count: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  // Safe-integer numbers are stored as their two 32-bit halves (two's complement: lo = v mod 2^32,
  // hi = floor(v / 2^32)) — no BigInt per value; bigints (already range-checked) go in directly.
  const data = new BigInt64Array(count);
  const words = new Int32Array(data.buffer);
  let k = 0, min = Infinity, max = -Infinity;
  for (let i = start; i < end; i++) {
    const v = rows[i]![f.name];
    if (nullable(f, v)) continue;
    let x: number;
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      x = v;
      words[2 * k] = x | 0;
      words[2 * k + 1] = Math.floor(x / 4294967296);
    } else {
      checkValue(f, v);
      const b = int64ToBigint(v as number | bigint, f.name);
      data[k] = b;
      x = Number(b);
    }
    k++;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  page.bytes(new Uint8Array(data.buffer));
  if (count > 0) setInt64Stats(col, min, max);
  return col;
}

/** An int64 chunk's min/max statistics as Parquet's PLAIN bytes (also flat/columns.ts). */
export function setInt64Stats(col: EncodedColumn, min: number, max: number): void {
  const s = new BigInt64Array([BigInt(min), BigInt(max)]);
  col.min = new Uint8Array(s.buffer, 0, 8);
  col.max = new Uint8Array(s.buffer, 8, 8);
}

function doubles(f: Field, rows: Row[], start: number, end: number, count: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const out = new Float64Array(count);
  let k = 0, min = Infinity, max = -Infinity, seen = false;
  for (let i = start; i < end; i++) {
    const v = rows[i]![f.name];
    if (nullable(f, v)) continue;
    if (typeof v !== 'number') checkValue(f, v);
    const x = v as number;
    out[k++] = x;
    if (x !== x) continue; // NaN takes no part in min/max (the spec's rule)
    seen = true;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  page.bytes(new Uint8Array(out.buffer));
  if (seen) {
    // The spec's rule for zeros: a zero min is written as -0.0 and a zero max as +0.0.
    const s = new Float64Array([min === 0 ? -0 : min, max === 0 ? 0 : max]);
    col.min = new Uint8Array(s.buffer, 0, 8);
    col.max = new Uint8Array(s.buffer, 8, 8);
  }
  return col;
}

function booleans(f: Field, rows: Row[], start: number, end: number, count: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  // PLAIN booleans: one bit per value, LSB first.
  const bytes = Math.ceil(count / 8);
  page.ensure(bytes);
  page.buf.fill(0, page.pos, page.pos + bytes);
  let k = 0, anyTrue = false, anyFalse = false;
  for (let i = start; i < end; i++) {
    const v = rows[i]![f.name];
    if (nullable(f, v)) continue;
    if (typeof v !== 'boolean') checkValue(f, v);
    if (v === true) {
      page.buf[page.pos + (k >>> 3)]! |= 1 << (k & 7);
      anyTrue = true;
    } else anyFalse = true;
    k++;
  }
  page.pos += bytes;
  if (count > 0) {
    col.min = Uint8Array.of(anyFalse ? 0 : 1);
    col.max = Uint8Array.of(anyTrue ? 1 : 0);
  }
  return col;
}

/**
 * Writes s as UTF-8 at sink.pos (no length prefix); returns its byte length, negated when s holds
 * a char >= U+D800 (where UTF-16 order and UTF-8 byte order can disagree). ASCII is copied by a JS
 * loop (cheaper than a native call for short strings); anything else goes through Buffer.write
 * (lone surrogates become U+FFFD, as TextEncoder does).
 */
function writeUtf8(sink: ByteSink, s: string): number {
  const len = s.length;
  sink.ensure(3 * len);
  const buf = sink.buf, p = sink.pos;
  let i = 0;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[p + i] = c;
  }
  if (i === len) {
    sink.pos += len;
    return len;
  }
  const written = buf.write(s, p, 'utf8');
  sink.pos += written;
  for (; i < len; i++) if (s.charCodeAt(i) >= 0xd800) return -written;
  return written;
}

function stringValue(f: Field, v: Value | undefined): string | null {
  if (typeof v === 'string') return v;
  checkValue(f, v); // throws unless a null in a nullable column
  return null;
}

function plainStrings(f: Field, rows: Row[], start: number, end: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  // The per-value path is inlined (one ensure, the length prefix as byte stores, no offset list:
  // values are contiguous, so the rare byte-order fallback walks them) — it runs once per row of
  // every string column that is not dictionary-encoded (ids).
  let min: string | null = null, max: string | null = null, high = false;
  const name = f.name;
  const first = page.pos;
  for (let i = start; i < end; i++) {
    const s = stringValue(f, rows[i]![name]);
    if (s === null) continue;
    const len = s.length;
    page.ensure(4 + 3 * len);
    const buf = page.buf, at = page.pos;
    let j = 0;
    for (; j < len; j++) {
      const c = s.charCodeAt(j);
      if (c >= 0x80) break;
      buf[at + 4 + j] = c;
    }
    let n = len;
    if (j < len) {
      n = buf.write(s, at + 4, 'utf8');
      for (; j < len; j++) {
        if (s.charCodeAt(j) >= 0xd800) {
          high = true;
          break;
        }
      }
    }
    buf[at] = n & 0xff;
    buf[at + 1] = (n >>> 8) & 0xff;
    buf[at + 2] = (n >>> 16) & 0xff;
    buf[at + 3] = n >>> 24;
    page.pos = at + 4 + n;
    if (min === null || max === null) min = max = s;
    else if (s < min) min = s;
    else if (s > max) max = s;
  }
  if (min === null || max === null) return col;
  if (!high) {
    col.min = Buffer.from(min, 'utf8');
    col.max = Buffer.from(max, 'utf8');
    return col;
  }
  // Some value is outside the range where JS order is UTF-8 byte order: compare the bytes.
  const offs: number[] = [];
  for (let o = first; o < page.pos; o += 4 + page.buf.readUInt32LE(o)) offs.push(o);
  const [lo, hi] = byteExtremes(page.buf, offs);
  col.min = copyValue(page.buf, lo);
  col.max = copyValue(page.buf, hi);
  return col;
}

/** Offsets (of length-prefixed values in buf) of the byte-wise smallest and largest values. */
function byteExtremes(buf: Buffer, offs: number[]): [number, number] {
  const slice = (o: number): Buffer => buf.subarray(o + 4, o + 4 + buf.readUInt32LE(o));
  let lo = offs[0]!, hi = offs[0]!;
  for (const o of offs) {
    if (Buffer.compare(slice(o), slice(lo)) < 0) lo = o;
    if (Buffer.compare(slice(o), slice(hi)) > 0) hi = o;
  }
  return [lo, hi];
}

/**
 * A copy of the length-prefixed value at offset o of buf. A copy, not a view: the sinks are reused
 * for the next column (and Buffer#slice would be a view, unlike Uint8Array#slice).
 */
function copyValue(buf: Buffer, o: number): Uint8Array {
  return Uint8Array.from(buf.subarray(o + 4, o + 4 + buf.readUInt32LE(o)));
}

/**
 * Dictionary-encodes the range, or returns null (nothing written to `page`) when the dictionary
 * would hold over half the values, or 1000 of the first 1024, or 3584 of the first 4096 (a
 * near-unique column: give up early, little work wasted — giveUpDictionary): then PLAIN is about
 * as small and cheaper to write.
 */
function dictStrings(f: Field, rows: Row[], start: number, end: number, count: number, page: ByteSink, dict: ByteSink, col: EncodedColumn): EncodedColumn | null {
  // Keyed by the JS string (V8 caches string hashes): only distinct values are UTF-8 encoded,
  // and statistics compare distinct values only (as JS strings unless a char >= U+D800 shows up).
  const limit = Math.max(16, count >>> 1);
  const index = new Map<string, number>();
  const indices = new Int32Array(count);
  let min: string | null = null, max: string | null = null, high = false;
  const offs: number[] = [];
  let k = 0;
  for (let i = start; i < end; i++) {
    const s = stringValue(f, rows[i]![f.name]);
    if (s === null) continue;
    let id = index.get(s);
    if (id === undefined) {
      id = index.size;
      if (giveUpDictionary(id, k, limit)) {
        dict.reset();
        return null;
      }
      index.set(s, id);
      const at = dict.pos;
      dict.ensure(4);
      dict.pos += 4;
      // Length first, into a local: writeUtf8 may grow (replace) dict.buf, and `dict.buf.write…(
      // writeUtf8(…))` would read the old buffer before the call.
      let len = writeUtf8(dict, s);
      if (len < 0) {
        high = true;
        len = -len;
      }
      dict.buf.writeUInt32LE(len, at);
      offs.push(at);
      if (min === null || s < min) min = s;
      if (max === null || s > max) max = s;
    }
    indices[k++] = id;
  }
  if (index.size === 0) return null; // all null: an RLE_DICTIONARY page needs a dictionary page
  col.dictCount = index.size;
  col.encoding = ENC_RLE_DICTIONARY;
  const width = bitWidthFor(Math.max(0, index.size - 1));
  page.u8(width);
  if (index.size <= 1) {
    if (count > 0) writeRleRun(page, count, 0, width);
  } else writeBitPacked(page, indices, count, width);
  if (min === null || max === null) return col;
  if (!high) {
    col.min = Buffer.from(min, 'utf8');
    col.max = Buffer.from(max, 'utf8');
    return col;
  }
  // Some value is outside the range where JS order is UTF-8 byte order: compare the bytes.
  const [lo, hi] = byteExtremes(dict.buf, offs);
  col.min = copyValue(dict.buf, lo);
  col.max = copyValue(dict.buf, hi);
  return col;
}

/**
 * The dictionary rule of both inputs (rows here, columns in flat/columns.ts): a new value that
 * would get dictionary id `id` at value `k` of a chunk whose dictionary may hold `limit` values.
 */
export function giveUpDictionary(id: number, k: number, limit: number): boolean {
  return id >= limit || (k < 1024 && id >= 1000) || (k < 4096 && id >= 3584);
}

function bytesColumn(f: Field, rows: Row[], start: number, end: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  let min: Uint8Array | null = null, max: Uint8Array | null = null;
  for (let i = start; i < end; i++) {
    const v = rows[i]![f.name];
    if (nullable(f, v)) continue;
    if (!(v instanceof Uint8Array)) {
      checkValue(f, v);
      continue;
    }
    page.ensure(4 + v.length);
    page.buf.writeUInt32LE(v.length, page.pos);
    page.buf.set(v, page.pos + 4);
    page.pos += 4 + v.length;
    if (min === null || Buffer.compare(v, min) < 0) min = v;
    if (max === null || Buffer.compare(v, max) > 0) max = v;
  }
  if (min !== null && max !== null) {
    col.min = Uint8Array.from(min);
    col.max = Uint8Array.from(max);
  }
  return col;
}
