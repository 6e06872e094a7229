/**
 * One column chunk of the flat writer from column-at-a-time input (storage/types.ts ColumnValues):
 * the same data page payload, dictionary page and statistics as flat/column.ts writes for the same
 * values given as rows, so a file written from columns is byte-identical to one written from the
 * rows they hold (tested):
 *  - strings are dictionary-encoded by the same rule as column.ts (first-seen order; given up,
 *    PLAIN, when the dictionary would hold over half the values or a near-unique start shows), keyed
 *    by their UTF-8 bytes in an open-addressing table (FNV-1a of the bytes; equal hash and length
 *    then a byte comparison) — no JS string, no object per value; only distinct values are copied;
 *  - strings that come with the producer's dictionary ids (ColumnValues.ids) are dictionary-encoded
 *    by id (dictIds): the same pages, no hashing;
 *  - PLAIN strings: their UTF-8 bytes copied as they are, length-prefixed, with their statistics
 *    in one pass of the page kernel (page-kernel.ts plainStringsWasm) for chunks of
 *    KERNEL_MIN_VALUES or more, else in JS (the same bytes); int64: PLAIN.
 *
 * Preconditions: a REQUIRED field (nullable fields are PARQUET_INVALID); values[start..end) of
 * the field's type (string: byte ranges inside `data`; int64: safe integers, else PARQUET_INVALID);
 * a little-endian host (flat/file.ts checks). Byte keys equal JS-string keys for well-formed UTF-8
 * (what encoding a JS string gives); ill-formed bytes are kept as they are.
 * Statistics of strings: UTF-8 byte order, which is what column.ts writes too (it compares JS
 * strings only when no value holds a char ≥ U+D800, where JS order equals byte order).
 */
import { DagctlError } from '../../../core/errors.js';
import type { ColumnValues, Field } from '../../types.js';
import { ENC_PLAIN, ENC_RLE_DICTIONARY, giveUpDictionary, setInt64Stats, type EncodedColumn } from './column.js';
import { bitWidthFor, writeBitPacked, writeRleRun } from './rle.js';
import type { ByteSink } from './sink.js';
import { plainStringsWasm } from '../page-kernel.js';

const invalid = (f: Field, why: string): DagctlError => new DagctlError('PARQUET_INVALID', `column ${f.name}: ${why}`, { column: f.name });

/** Encodes values[start..end) of column `c` (field f): data page payload into `page`, dictionary payload into `dict`. */
export function encodeColumnValues(f: Field, c: ColumnValues, start: number, end: number, page: ByteSink, dict: ByteSink): EncodedColumn {
  if (f.nullable === true) throw invalid(f, 'column input takes REQUIRED fields only');
  if (f.type !== c.type) throw invalid(f, `is ${f.type}, given ${c.type} values`);
  const col: EncodedColumn = { dictCount: 0, encoding: ENC_PLAIN, nulls: 0 };
  if (c.type === 'int64') return int64s(f, c.values, start, end, page, col);
  return (c.ids === undefined ? dictStrings(c, start, end, page, dict, col) : dictIds(f, c, c.ids, start, end, page, dict, col)) ?? strings(c, start, end, page, col);
}

type StringValues = { data: Uint8Array; start: Int32Array; len: Int32Array };

// Scratch of dictIds: a producer's id → dictionary id + 1 in the current chunk (0 = not yet).
let byId = new Int32Array(1 << 12);

/**
 * dictStrings for values that come with the producer's dictionary ids (ColumnValues.ids): the
 * same dictionary, statistics and indices, found by id instead of by hashing bytes. A negative
 * id, or an id seen before with a value of another length, is PARQUET_INVALID.
 */
function dictIds(f: Field, c: StringValues, pids: Int32Array, from: number, to: number, page: ByteSink, dict: ByteSink, col: EncodedColumn): EncodedColumn | null {
  const count = to - from;
  if (count === 0) return null;
  const limit = Math.max(16, count >>> 1);
  if (idRow.length < limit) {
    idHash = new Int32Array(limit);
    idRow = new Int32Array(limit);
  }
  if (indices.length < count) indices = new Int32Array(count);
  const ids = scanIds(c, pids, from, to, limit);
  clearById(pids, scan[2]!);
  if (ids === BAD_ID) throw invalid(f, `dictionary id ${pids[scan[0]!]} at row ${scan[0]} is negative or was given to a value of another length`);
  if (ids === GAVE_UP) {
    dict.reset();
    return null;
  }
  return dictionaryPage(c, ids, count, scan[0]!, scan[1]!, page, dict, col);
}

/** scanIds' and scanBytes' results other than a dictionary size. */
const GAVE_UP = -1, BAD_ID = -2;
/**
 * Where scanIds and scanBytes leave the rows of the least and greatest value (scanIds: the bad
 * row in [0]; the dictionary size so far in [2]) — stored in their loops as they change, so that
 * nothing but a return follows a loop (see scanIds).
 */
const scan = new Int32Array(3);

/**
 * dictIds' loop (apart, so its optimized code — often entered on-stack in the loop — never reaches
 * code that has not run): the dictionary ids of values[from, to) into `indices`, idRow; returns
 * the dictionary size, GAVE_UP, or BAD_ID (scan[0] = the row).
 */
function scanIds(c: StringValues, pids: Int32Array, from: number, to: number, limit: number): number {
  const { data, start, len } = c;
  let ids = 0, lo = -1, hi = -1;
  scan[2] = 0;
  for (let i = from; i < to; i++) {
    const p = pids[i]!;
    if (p >= byId.length) {
      const next = new Int32Array(Math.max(2 * byId.length, p + 1));
      next.set(byId);
      byId = next;
    }
    const known = p >= 0 ? byId[p]! - 1 : -2;
    if (known >= 0) {
      if (len[idRow[known]!] !== len[i]) {
        scan[0] = i;
        return BAD_ID;
      }
      indices[i - from] = known;
      continue;
    }
    if (known === -2) {
      scan[0] = i;
      return BAD_ID;
    }
    if (giveUpDictionary(ids, i - from, limit)) return GAVE_UP;
    const id = ids++;
    scan[2] = ids;
    byId[p] = id + 1;
    idRow[id] = i;
    const s = start[i]!, n = len[i]!;
    if (lo < 0) scan[0] = scan[1] = lo = hi = i;
    else if (compareBytes(data, s, n, data, start[lo]!, len[lo]!) < 0) scan[0] = lo = i;
    else if (compareBytes(data, s, n, data, start[hi]!, len[hi]!) > 0) scan[1] = hi = i;
    indices[i - from] = id;
  }
  return ids;
}

/** Forgets the producer ids of dictionary ids [0, ids) (byId is scratch shared by every chunk). */
function clearById(pids: Int32Array, ids: number): void {
  for (let j = 0; j < ids; j++) byId[pids[idRow[j]!]!] = 0;
}

// Scratch of dictStrings, reused across chunks (the writer runs synchronously): the hash table
// (slot → dictionary id + 1, 0 = empty), and per dictionary id its hash and its row (the value's
// bytes stay in the caller's `data`); the row indices of the chunk; and a direct-mapped cache of
// byte ranges (slot by `start` → the last row + 1 whose value starts there): producers that point
// equal values at one copy (gen's URLs, zero-copy) then pay one probe per row, not a byte hash.
let slots = new Int32Array(1 << 12);
let recent = new Int32Array(1 << 12);
let idHash = new Int32Array(1 << 11);
let idRow = new Int32Array(1 << 11);
let indices = new Int32Array(1 << 12);

/**
 * Dictionary-encodes values[from, to), or returns null (nothing written to `page`, `dict` reset)
 * when column.ts would not (column.ts giveUpDictionary).
 */
function dictStrings(c: StringValues, from: number, to: number, page: ByteSink, dict: ByteSink, col: EncodedColumn): EncodedColumn | null {
  const count = to - from;
  if (count === 0) return null; // an RLE_DICTIONARY page needs a dictionary page
  const limit = Math.max(16, count >>> 1);
  let size = 1 << 4;
  while (size < 2 * Math.min(limit, count)) size <<= 1;
  if (slots.length < size) {
    slots = new Int32Array(size);
    recent = new Int32Array(size);
  } else {
    slots.fill(0, 0, size);
    recent.fill(0, 0, size);
  }
  if (idHash.length < limit) {
    idHash = new Int32Array(limit);
    idRow = new Int32Array(limit);
  }
  if (indices.length < count) indices = new Int32Array(count);
  const ids = scanBytes(c, from, to, limit, size);
  if (ids === GAVE_UP) {
    dict.reset();
    return null;
  }
  return dictionaryPage(c, ids, count, scan[0]!, scan[1]!, page, dict, col);
}

/**
 * dictStrings' loop (apart, as scanIds): the dictionary ids of values[from, to) into `indices`,
 * idRow, idHash, with a hash table of `size` slots; returns the dictionary size or GAVE_UP.
 */
function scanBytes(c: StringValues, from: number, to: number, limit: number, size: number): number {
  const { data, start, len } = c;
  const mask = size - 1;
  let ids = 0, lo = -1, hi = -1;
  const shift = 32 - Math.log2(size);
  for (let i = from; i < to; i++) {
    const s = start[i]!, n = len[i]!;
    const rs = Math.imul(s, 0x9e3779b1) >>> shift;
    const seen = recent[rs]! - 1;
    if (seen >= from && start[seen] === s && len[seen] === n) {
      indices[i - from] = indices[seen - from]!;
      continue;
    }
    recent[rs] = i + 1;
    let h = 0x811c9dc5;
    for (let k = 0; k < n; k++) h = Math.imul(h ^ data[s + k]!, 0x01000193);
    h ^= h >>> 15;
    let slot = h & mask, id = -1;
    for (;;) {
      const e = slots[slot]!;
      if (e === 0) break;
      const j = e - 1;
      if (idHash[j] === h) {
        const r = idRow[j]!;
        if (len[r] === n && compareBytes(data, start[r]!, n, data, s, n) === 0) {
          id = j;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (id < 0) {
      id = ids++;
      if (giveUpDictionary(id, i - from, limit)) return GAVE_UP;
      slots[slot] = id + 1;
      idHash[id] = h;
      idRow[id] = i;
      if (lo < 0) scan[0] = scan[1] = lo = hi = i;
      else if (compareBytes(data, s, n, data, start[lo]!, len[lo]!) < 0) scan[0] = lo = i;
      else if (compareBytes(data, s, n, data, start[hi]!, len[hi]!) > 0) scan[1] = hi = i;
    }
    indices[i - from] = id;
  }
  return ids;
}

/**
 * The dictionary page (the distinct values idRow[0, ids), length-prefixed, in first-seen order)
 * into `dict`, the indices of the chunk's `count` values into `page`, and the statistics (lo, hi:
 * rows of the least and greatest value).
 */
function dictionaryPage(c: StringValues, ids: number, count: number, lo: number, hi: number, page: ByteSink, dict: ByteSink, col: EncodedColumn): EncodedColumn {
  const { data, start, len } = c;
  let bytes = 0;
  for (let j = 0; j < ids; j++) bytes += 4 + len[idRow[j]!]!;
  dict.ensure(bytes);
  const buf = dict.buf;
  let at = dict.pos;
  for (let j = 0; j < ids; j++) {
    const r = idRow[j]!, s = start[r]!, n = len[r]!;
    buf[at] = n & 0xff;
    buf[at + 1] = (n >>> 8) & 0xff;
    buf[at + 2] = (n >>> 16) & 0xff;
    buf[at + 3] = n >>> 24;
    if (n <= 32) for (let k = 0; k < n; k++) buf[at + 4 + k] = data[s + k]!;
    else buf.set(data.subarray(s, s + n), at + 4);
    at += 4 + n;
  }
  dict.pos = at;
  col.dictCount = ids;
  col.encoding = ENC_RLE_DICTIONARY;
  const width = bitWidthFor(Math.max(0, ids - 1));
  page.u8(width);
  if (ids <= 1) writeRleRun(page, count, 0, width);
  else writeBitPacked(page, indices, count, width);
  col.min = data.slice(start[lo], start[lo]! + len[lo]!);
  col.max = data.slice(start[hi], start[hi]! + len[hi]!);
  return col;
}

/** Chunks of at least this many PLAIN strings go through the page kernel (fewer: its calls cost more than the JS loop). */
export const KERNEL_MIN_VALUES = 64;

function strings(c: StringValues, from: number, to: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const { data, start, len } = c;
  if (to - from >= KERNEL_MIN_VALUES) {
    const ext = plainStringsWasm(data, start, len, from, to, page);
    if (ext !== null) {
      col.min = data.slice(start[ext.lo], start[ext.lo]! + len[ext.lo]!);
      col.max = data.slice(start[ext.hi], start[ext.hi]! + len[ext.hi]!);
      return col;
    }
  }
  return stringsJs(c, from, to, page, col);
}

/** strings() in JavaScript: small chunks, and values spread thinly over a large buffer. */
function stringsJs(c: StringValues, from: number, to: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const { data, start, len } = c;
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += 4 + len[i]!;
  page.ensure(bytes);
  const buf = page.buf;
  let at = page.pos, lo = -1, hi = -1;
  for (let i = from; i < to; i++) {
    const s = start[i]!, n = len[i]!;
    buf[at] = n & 0xff;
    buf[at + 1] = (n >>> 8) & 0xff;
    buf[at + 2] = (n >>> 16) & 0xff;
    buf[at + 3] = n >>> 24;
    // Ids are short: a loop beats a native copy call per value.
    if (n <= 32) for (let k = 0; k < n; k++) buf[at + 4 + k] = data[s + k]!;
    else buf.set(data.subarray(s, s + n), at + 4);
    at += 4 + n;
    if (lo < 0) lo = hi = i;
    else if (compareBytes(data, s, n, data, start[lo]!, len[lo]!) < 0) lo = i;
    else if (compareBytes(data, s, n, data, start[hi]!, len[hi]!) > 0) hi = i;
  }
  page.pos = at;
  if (lo >= 0) {
    col.min = data.slice(start[lo], start[lo]! + len[lo]!);
    col.max = data.slice(start[hi], start[hi]! + len[hi]!);
  }
  return col;
}

/** Unsigned byte order of a[as, as + al) and b[bs, bs + bl): negative, 0 or positive. */
export function compareBytes(a: Uint8Array, as: number, al: number, b: Uint8Array, bs: number, bl: number): number {
  const n = al < bl ? al : bl;
  for (let k = 0; k < n; k++) {
    const d = a[as + k]! - b[bs + k]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

function int64s(f: Field, values: Float64Array, from: number, to: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const count = to - from;
  page.ensure(8 * count);
  // The PLAIN words straight into the page when its position is 4-byte aligned (it is: int64 pages hold nothing before).
  const aligned = (page.buf.byteOffset + page.pos) % 4 === 0;
  const words = aligned ? new Int32Array(page.buf.buffer, page.buf.byteOffset + page.pos, 2 * count) : new Int32Array(2 * count);
  const bad = int64Words(values, from, to, words);
  if (bad >= 0) throw invalid(f, `value ${values[bad]} at row ${bad} is not a safe integer`);
  if (aligned) page.pos += 8 * count;
  else page.bytes(new Uint8Array(words.buffer));
  if (count > 0) setInt64Stats(col, minMax[0]!, minMax[1]!);
  return col;
}

/** Where int64Words leaves the least and greatest value. */
const minMax = new Float64Array(2);

/**
 * values[from, to) as int64 two's-complement word pairs (lo, hi) into `words`, their extremes into
 * minMax; returns -1, or the first row whose value is not a safe integer.
 */
function int64Words(values: Float64Array, from: number, to: number, words: Int32Array): number {
  let min = Infinity, max = -Infinity;
  for (let i = from; i < to; i++) {
    const x = values[i]!;
    if (!Number.isSafeInteger(x)) return i;
    const k = 2 * (i - from);
    words[k] = x | 0;
    words[k + 1] = Math.floor(x / 4294967296);
    // Stored as they change (nothing but a return after the loop: see scanIds).
    if (x < min) minMax[0] = min = x;
    if (x > max) minMax[1] = max = x;
  }
  return -1;
}
