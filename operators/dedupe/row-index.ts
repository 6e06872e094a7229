/**
 * Hashing and indexing rows by key columns without building key strings. A per-row key string
 * (concatenation, or JSON before that) costs an allocation, a flatten and a string hash in every
 * Map lookup — ~3 µs per row, the bulk of dedupe's reduce. Here:
 *   hashKey(row, cols): 32-bit FNV-1a over each value's type tag and content (strings by UTF-16
 *     code unit, integers by their two 32-bit halves, other numbers/bigints by their decimal
 *     string, bytes by byte), stable across processes — used for bucket routing too;
 *   RowIndex: open addressing (linear probing, load ≤ 1/2) of row slots by that hash, equality by
 *     comparing the key columns' values (sameValue), so a lookup allocates nothing.
 * Values that compare equal hash equally (a number and the bigint of the same integer included).
 * dedupe's map carries each row's hashKey to the reduce in one more shuffle column (HASH_FIELD,
 * int32; shuffleSchema), so the reduce never hashes a row again.
 */
import { DagctlError } from '../../core/errors.js';
import type { Row, Schema, Value } from '../../storage/types.js';

/** The shuffle column holding each row's hashKey of the key columns (int32: the hash's bits). */
export const HASH_FIELD = '\u0000hash';

/** dedupe's shuffle schema: the input's fields, then HASH_FIELD. An input column of that name is
 * OPERATOR_INPUT_INVALID. */
export function shuffleSchema(schema: Schema): Schema {
  if (schema.some((f) => f.name === HASH_FIELD)) throw new DagctlError('OPERATOR_INPUT_INVALID', `dedupe: the input has a column named ${JSON.stringify(HASH_FIELD)}, the name of the shuffle's hash column`, { column: HASH_FIELD });
  return [...schema, { name: HASH_FIELD, type: 'int32' }];
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixInt(h: number, x: number): number {
  h = Math.imul(h ^ (x & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((x >>> 8) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((x >>> 16) & 0xff), FNV_PRIME);
  return Math.imul(h ^ (x >>> 24), FNV_PRIME);
}

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Mixes one key value into the hash state h (hashKey is this over the key columns from FNV_OFFSET). */
export function mixValue(h: number, v: Value | undefined): number {
  if (typeof v === 'string') return mixString(mixInt(Math.imul(h ^ 0x73, FNV_PRIME), v.length), v);
  if (v === null || v === undefined) return Math.imul(h ^ 0x7a, FNV_PRIME);
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? mixValue(h, n) : mixString(Math.imul(h ^ 0x6e, FNV_PRIME), v.toString());
  }
  if (typeof v === 'number') {
    h = Math.imul(h ^ 0x6e, FNV_PRIME);
    if (Number.isSafeInteger(v)) return mixInt(mixInt(h, v | 0), Math.floor(v / 4294967296) | 0);
    return mixString(h, String(v));
  }
  if (typeof v === 'boolean') return Math.imul(h ^ (v ? 0x74 : 0x66), FNV_PRIME);
  h = mixInt(Math.imul(h ^ 0x62, FNV_PRIME), v.length);
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v[i]!, FNV_PRIME);
  return h;
}

/**
 * mixValue(h, s) of the string s = joined.slice(start, start + len), without slicing it out
 * (columnar readers hash a whole column's joined text in place).
 */
export function mixStringAt(h: number, joined: string, start: number, len: number): number {
  h = mixInt(Math.imul(h ^ 0x73, FNV_PRIME), len);
  const end = start + len;
  for (let i = start; i < end; i++) h = Math.imul(h ^ joined.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Out-parameter of mixUtf8: the value's UTF-16 length, or -1 when its bytes are not UTF-8. */
export const utf8Value = { units: 0 };

/**
 * mixValue(h, s) of the string s whose UTF-8 bytes are data[start, start + len), without decoding
 * it (raw Parquet readers hash stored bytes): the hash is over UTF-16 code units, so ASCII bytes
 * are mixed as they are and other characters decoded on the fly. Sets utf8Value.units to s.length,
 * or to -1 (and returns 0) when the bytes are not well-formed UTF-8 (what a fatal TextDecoder
 * refuses: overlong forms, surrogates, past U+10FFFF, truncated sequences).
 */
export function mixUtf8(h: number, data: Uint8Array, start: number, len: number): number {
  const end = start + len;
  let g = mixInt(Math.imul(h ^ 0x73, FNV_PRIME), len);
  let i = start;
  for (; i < end; i++) {
    const b = data[i]!;
    if (b >= 0x80) break;
    g = Math.imul(g ^ b, FNV_PRIME);
  }
  if (i === end) {
    utf8Value.units = len;
    return g;
  }
  const units = utf16Units(data, i, end);
  if (units < 0) {
    utf8Value.units = -1;
    return 0;
  }
  const total = i - start + units;
  utf8Value.units = total;
  g = mixInt(Math.imul(h ^ 0x73, FNV_PRIME), total);
  for (let j = start; j < end;) {
    const b = data[j]!;
    let cp: number;
    if (b < 0x80) {
      cp = b;
      j++;
    } else if (b < 0xe0) {
      cp = ((b & 0x1f) << 6) | (data[j + 1]! & 0x3f);
      j += 2;
    } else if (b < 0xf0) {
      cp = ((b & 0x0f) << 12) | ((data[j + 1]! & 0x3f) << 6) | (data[j + 2]! & 0x3f);
      j += 3;
    } else {
      cp = ((b & 0x07) << 18) | ((data[j + 1]! & 0x3f) << 12) | ((data[j + 2]! & 0x3f) << 6) | (data[j + 3]! & 0x3f);
      j += 4;
    }
    if (cp < 0x10000) g = Math.imul(g ^ cp, FNV_PRIME);
    else {
      cp -= 0x10000;
      g = Math.imul(g ^ (0xd800 | (cp >>> 10)), FNV_PRIME);
      g = Math.imul(g ^ (0xdc00 | (cp & 0x3ff)), FNV_PRIME);
    }
  }
  return g;
}

/** UTF-16 length of the UTF-8 bytes data[from, end), or -1 when they are not well-formed UTF-8. */
export function utf16Units(data: Uint8Array, from: number, end: number): number {
  let units = 0;
  for (let j = from; j < end;) {
    const b = data[j]!;
    if (b < 0x80) {
      units++;
      j++;
      continue;
    }
    let need: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return -1;
    if (j + need >= end) return -1; // truncated
    const b1 = data[j + 1]!;
    if (b1 < lo || b1 > hi) return -1;
    for (let k = 2; k <= need; k++) {
      const c = data[j + k]!;
      if (c < 0x80 || c > 0xbf) return -1;
    }
    units += need === 3 ? 2 : 1;
    j += need + 1;
  }
  return units;
}

/** The hash state mixValue of a null starts from (columnar readers mix nulls without a value). */
export function mixNull(h: number): number {
  return Math.imul(h ^ 0x7a, FNV_PRIME);
}

export const HASH_SEED = FNV_OFFSET;

/** 32-bit hash (unsigned) of the row's values in `cols`. */
export function hashKey(row: Row, cols: readonly string[]): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < cols.length; i++) h = mixValue(h, row[cols[i]!]);
  return h >>> 0;
}

/**
 * hashKey with the first key column's share memoized per string value: the hash state after the
 * first column depends on its value only, and in dedupe's map that column (url) takes a few
 * hundred distinct values while each is tens of characters — hashing it per row was most of the
 * key hashing. The memo is bounded (CACHE_MAX values) and dropped when the column barely repeats.
 * Same results as hashKey.
 */
export class KeyHasher {
  private cache: Map<string, number> | null = new Map();
  private lookups = 0;
  private misses = 0;
  constructor(private readonly cols: readonly string[]) {}

  hash(row: Row): number {
    const cols = this.cols;
    if (cols.length === 0) return FNV_OFFSET >>> 0;
    const v = row[cols[0]!];
    const cache = this.cache;
    let h: number;
    if (cache !== null && typeof v === 'string') {
      const c = cache.get(v);
      if (c !== undefined) h = c;
      else {
        h = mixValue(FNV_OFFSET, v);
        if (cache.size < CACHE_MAX) cache.set(v, h);
        else this.misses++;
      }
      // Once full, a memo that misses on over a quarter of the rows costs more than it saves.
      if (++this.lookups >= 4 * CACHE_MAX && cache.size >= CACHE_MAX) {
        if (this.misses * 4 > this.lookups) this.cache = null;
        this.lookups = this.misses = 0;
      }
    } else h = mixValue(FNV_OFFSET, v);
    for (let i = 1; i < cols.length; i++) h = mixValue(h, row[cols[i]!]);
    return h >>> 0;
  }
}
const CACHE_MAX = 4096;

/** Equality of key values: ===, both null/undefined, number vs bigint of the same value, equal bytes. */
export function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  if ((typeof a === 'bigint' && typeof b === 'number') || (typeof a === 'number' && typeof b === 'bigint')) return BigInt(a) === BigInt(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  return false;
}

/** Rows with distinct keys, found by key without key strings. */
export class RowIndex {
  readonly rows: Row[] = [];
  private slots: Int32Array;
  private hashes: Int32Array;
  private mask: number;
  /** Key hash of rows[i]. */
  private rowHash = new Uint32Array(1024);

  constructor(private readonly cols: readonly string[], capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.slots = new Int32Array(n).fill(-1);
    this.hashes = new Int32Array(n);
    this.mask = n - 1;
  }

  get size(): number {
    return this.rows.length;
  }

  /** Index of the row with the same key as `row`, or -1 after adding `row` (a new key). */
  findOrAdd(row: Row, h = hashKey(row, this.cols)): number {
    const slots = this.slots, hashes = this.hashes, cols = this.cols;
    let i = h & this.mask;
    for (;;) {
      const s = slots[i]!;
      if (s === -1) break;
      if (hashes[i] === (h | 0)) {
        const other = this.rows[s]!;
        let eq = true;
        for (let c = 0; c < cols.length; c++) {
          if (!sameValue(row[cols[c]!], other[cols[c]!])) { eq = false; break; }
        }
        if (eq) return s;
      }
      i = (i + 1) & this.mask;
    }
    const n = this.rows.length;
    slots[i] = n;
    hashes[i] = h | 0;
    if (n === this.rowHash.length) {
      const g = new Uint32Array(n * 2);
      g.set(this.rowHash);
      this.rowHash = g;
    }
    this.rowHash[n] = h >>> 0;
    this.rows.push(row);
    if (this.rows.length * 2 > this.mask + 1) this.grow();
    return -1;
  }

  /**
   * The rows in key-hash order, equal hashes by key values (`compare`): deterministic, whatever
   * the arrival order, and a native typed-array sort (packed hash and index) instead of a
   * comparator sort over strings with long common prefixes (~3× slower on URLs).
   */
  sortedRows(compare: (a: Row, b: Row) => number): Row[] {
    const n = this.rows.length;
    // hash·2^21 + index is exact in a double while n ≤ 2^21 (hash < 2^32): a Float64Array sort, no
    // BigInt per row. Larger indexes fall back to BigUint64Array packing (hash·2^32 + index).
    const order = new Int32Array(n);
    const hashOf = new Uint32Array(n);
    if (n <= 1 << 21) {
      const packed = new Float64Array(n);
      for (let i = 0; i < n; i++) packed[i] = this.rowHash[i]! * 2097152 + i;
      packed.sort();
      for (let i = 0; i < n; i++) {
        const x = packed[i]!;
        const h = Math.floor(x / 2097152);
        order[i] = x - h * 2097152;
        hashOf[i] = h;
      }
    } else {
      const packed = new BigUint64Array(n);
      for (let i = 0; i < n; i++) packed[i] = (BigInt(this.rowHash[i]!) << 32n) | BigInt(i);
      packed.sort();
      for (let i = 0; i < n; i++) {
        order[i] = Number(packed[i]! & 0xffffffffn);
        hashOf[i] = Number(packed[i]! >> 32n);
      }
    }
    const out = new Array<Row>(n);
    for (let i = 0; i < n; i++) out[i] = this.rows[order[i]!]!;
    // Runs of equal hashes (collisions) are ordered by value.
    for (let i = 0; i < n; ) {
      const h = hashOf[i]!;
      let j = i + 1;
      while (j < n && hashOf[j] === h) j++;
      if (j - i > 1) {
        const run = out.slice(i, j).sort(compare);
        for (let k = i; k < j; k++) out[k] = run[k - i]!;
      }
      i = j;
    }
    return out;
  }

  private grow(): void {
    const n = (this.mask + 1) * 2;
    const slots = new Int32Array(n).fill(-1), hashes = new Int32Array(n);
    const mask = n - 1;
    for (let j = 0; j <= this.mask; j++) {
      const s = this.slots[j]!;
      if (s === -1) continue;
      const h = this.hashes[j]!;
      let i = h & mask;
      while (slots[i] !== -1) i = (i + 1) & mask;
      slots[i] = s;
      hashes[i] = h;
    }
    this.slots = slots;
    this.hashes = hashes;
    this.mask = mask;
  }
}
