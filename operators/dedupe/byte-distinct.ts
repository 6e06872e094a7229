/**
 * dedupe's whole-row reduce from shuffle bytes to column batches (operators/dedupe/dedupe.ts uses it
 * when the key is every column, the input is DGSH shuffle files and the output writer takes
 * column batches, i.e. every field is a REQUIRED string or int64): the same rows in the same order
 * as distinct-merge.ts ShuffleDistinct (hence the same files), with no JS string and no row object:
 *   - each block is decoded with strings as UTF-8 byte ranges (storage/shuffle/format.ts
 *     decodeShuffleBlocksBytes) and appended to whole-input columns: dictionary strings as ids of
 *     one pool of their distinct values, plain strings as ranges of one buffer (the blocks' text
 *     appended, one copy each), int64 as doubles;
 *   - key hashes are hashKey's as the map computed them, read from the shuffle's hash column
 *     (row-index.ts HASH_FIELD): no row is hashed again; each block's rows are appended in order of
 *     their hashes' top bits (topBitsOrder: the hash-ordered passes then read each block front to
 *     back), and all rows are ordered by hash with one stable radix sort
 *     (equal hashes in arrival order: files, blocks, rows — the row reduce's merge order);
 *   - a run of equal hashes keeps the first arrival of each distinct row — equality by bytes (equal
 *     UTF-8 ⇔ equal strings) and ===, exact, so a 32-bit collision never merges two rows — ordered
 *     by key values (compareValues on the decoded strings, only for such runs);
 *   - survivors go out as column batches of DEFAULT_MAX_ROWS rows (the files the row path writes)
 *     that point into those buffers: nothing is copied per row; a column whose values all come
 *     from the pool carries its ids (the writer dictionary-encodes by id, no hashing).
 * add() returns false (the caller reads rows instead) for a file lacking a column or the hash
 * column, holding a null or a column of another kind. Memory: ~30 B per input row plus its text, once.
 */
import { DEFAULT_MAX_ROWS } from '../../storage/dataset/writer.js';
import { decodeShuffleBlocksBytes, type ShuffleBytesColumn } from '../../storage/shuffle/format.js';
import type { ColumnBatch, Value } from '../../storage/types.js';
import { Utf8Pool } from '../lib/columnar/utf8-pool.js';
import { compareKeys, sortByHash } from './distinct-merge.js';
import { HASH_FIELD } from './row-index.js';

const EMPTY_I32 = new Int32Array(0), EMPTY_F64 = new Float64Array(0);
/** Groups of the order a block's rows are appended in: by their hashes' top 11 bits (topBitsOrder). */
const ORDER_BITS = 11, ORDER_GROUPS = 1 << ORDER_BITS;

/** A column of the whole input, in arrival order: strings by pool id (dictionary) or as ranges of one
 * buffer of the plain blocks' bytes appended, int64 as doubles. */
class Column {
  kind: 'string' | 'f64' | null = null;
  /** Per row (string columns): pool id, or -1 when the row's value is in `bytes`; its range. */
  pid: Int32Array = EMPTY_I32;
  start: Int32Array = EMPTY_I32;
  len: Int32Array = EMPTY_I32;
  /** Per row (f64 columns). */
  values: Float64Array = EMPTY_F64;
  /** Rows the arrays of this column's kind hold. */
  private cap = 0;
  bytes: Uint8Array = new Uint8Array(1 << 16);
  used = 0;
  /** The distinct values of dictionary blocks, interned by their bytes. */
  readonly pool = new Utf8Pool();
  /** Whether some row's value is in `bytes` (then batches give ranges of it, else pool ranges and ids). */
  plain = false;

  /** Room for `rows` rows (at least `hint`), in the arrays of this column's kind only (set by then). */
  grow(rows: number, hint: number): void {
    if (rows <= this.cap) return;
    const n = Math.max(rows, hint, 2 * this.cap, 1024);
    if (this.kind === 'f64') {
      const v = new Float64Array(n);
      v.set(this.values);
      this.values = v;
    } else {
      const g32 = (a: Int32Array): Int32Array => {
        const b = new Int32Array(n);
        b.set(a);
        return b;
      };
      this.pid = g32(this.pid);
      this.start = g32(this.start);
      this.len = g32(this.len);
    }
    this.cap = n;
  }

  /** Appends `src` to `bytes`; returns where it starts. */
  append(src: Uint8Array): number {
    const at = this.room(src.length);
    this.bytes.set(src, at);
    return at;
  }

  /** Grows `bytes` to hold at least `total` bytes (one copy of what it holds). */
  reserveBytes(total: number): void {
    if (total <= this.bytes.length) return;
    const g = new Uint8Array(total);
    g.set(this.bytes.subarray(0, this.used));
    this.bytes = g;
  }

  /** Takes `k` more bytes of `bytes` (grown as needed); returns where they start. */
  room(k: number): number {
    const at = this.used;
    if (at + k > this.bytes.length) {
      const g = new Uint8Array(Math.max(this.bytes.length * 2, at + k));
      g.set(this.bytes.subarray(0, at));
      this.bytes = g;
    }
    this.used += k;
    return at;
  }
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class ByteDistinct {
  private readonly key: number[];
  private readonly cols: Column[];
  private hash: Uint32Array = new Uint32Array(1024);
  /** Scratch of topBitsOrder. */
  private readonly counts = new Int32Array(ORDER_GROUPS + 1);
  /** Rows expected in all (reserve()): arrays are sized for them at once, not doubled up to them. */
  private hint = 0;
  /** Rows added. */
  seen = 0;
  /** Distinct rows emitted so far. */
  emitted = 0;

  /** `names`: the output columns; `keyCols`: the key, in hashing order (a permutation of names). */
  constructor(private readonly names: readonly string[], keyCols: readonly string[]) {
    this.key = keyCols.map((k) => names.indexOf(k));
    this.cols = names.map(() => new Column());
  }

  /** Sizes the per-row arrays for `rows` rows in all, and each plain column's text for as many
   * bytes a row as so far (estimates: more still fits, by doubling). */
  reserve(rows: number): void {
    this.hint = Math.max(this.hint, Math.ceil(rows));
    if (this.seen === 0) return;
    for (const c of this.cols) if (c.plain) c.reserveBytes(Math.ceil((c.used / this.seen) * this.hint));
  }

  /** Adds a DGSH file's rows; false (the instance must read rows instead) when it lacks a column or
   * holds a null or a column of another kind. */
  add(bytes: Uint8Array): boolean {
    // A plain Uint8Array, not a Buffer (a subclass with another map): the loops over the blocks'
    // bytes, shared with the map, then see one kind of array (else "wrong map" deopts).
    const { schema, blocks } = decodeShuffleBlocksBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const at = this.names.map((nm) => schema.findIndex((f) => f.name === nm));
    const hc = schema.findIndex((f) => f.name === HASH_FIELD);
    if (at.includes(-1) || hc < 0) return false;
    for (const b of blocks) {
      const n = b.rows;
      if (n === 0) continue;
      const src = at.map((c) => b.columns[c]!);
      const h = b.columns[hc]!;
      if (!src.every((c, j) => this.fits(c, j, n)) || h.kind !== 'values' || !(h.values instanceof Int32Array)) return false;
      const base = this.seen;
      if (base + n > this.hash.length) {
        let m = Math.max(this.hash.length, this.hint);
        while (m < base + n) m *= 2;
        const g = new Uint32Array(m);
        g.set(this.hash.subarray(0, base));
        this.hash = g;
      }
      // The block's rows in order of their hashes' top bits (stable): see ORDER_BITS.
      const perm = topBitsOrder(new Uint32Array(h.values.buffer, h.values.byteOffset, n), this.counts, new Int32Array(n));
      for (let j = 0; j < src.length; j++) this.append(src[j]!, this.cols[j]!, base, n, perm);
      gatherU32(new Uint32Array(h.values.buffer, h.values.byteOffset, n), perm, this.hash, base);
      this.seen += n;
    }
    return true;
  }

  /** Whether a block's column can join column j: no null, and the same kind as before. */
  private fits(c: ShuffleBytesColumn, j: number, n: number): boolean {
    const col = this.cols[j]!;
    const kind = c.kind === 'values' ? 'f64' : 'string';
    if (col.kind !== null && col.kind !== kind) return false;
    col.kind = kind;
    if (c.kind === 'values') return c.values instanceof Float64Array;
    if (c.kind === 'plain') return allAtLeast(c.len, n, 0);
    return allBelow(c.idx, n, c.start.length);
  }

  /** Appends a block's column at row `base`, its rows in `perm`'s order. */
  private append(c: ShuffleBytesColumn, col: Column, base: number, n: number, perm: Int32Array): void {
    col.grow(base + n, this.hint);
    if (c.kind === 'values') {
      gatherF64At(c.values as Float64Array, perm, col.values, base);
      return;
    }
    const { pid, start, len } = col;
    if (c.kind === 'dict') {
      const ids = new Int32Array(c.start.length);
      for (let e = 0; e < ids.length; e++) ids[e] = col.pool.idOfBytes(c.utf8, c.start[e]!, c.len[e]!);
      appendDict(ids, c.idx, perm, col.pool.start, col.pool.len, pid, start, len, base, n);
      return;
    }
    // Plain: the block's text copied in perm's order (one copy), rows as ranges of it.
    col.plain = true;
    const off = col.room(c.utf8.length);
    pid.fill(-1, base, base + n);
    appendPlain(c.utf8, c.start, c.len, perm, col.bytes, off, start, len, base, n);
  }

  /** The bytes of column j's value in row r. */
  private bytesOf(j: number, r: number): Uint8Array {
    const c = this.cols[j]!;
    const data = c.pid[r]! >= 0 ? c.pool.bytes : c.bytes;
    return data.subarray(c.start[r], c.start[r]! + c.len[r]!);
  }

  /** Whether rows r1 and r2 are equal in every column (bytes, ===). */
  private same(r1: number, r2: number): boolean {
    for (let j = 0; j < this.cols.length; j++) {
      const c = this.cols[j]!;
      if (c.kind === 'f64') {
        if (c.values[r1] !== c.values[r2]) return false;
        continue;
      }
      const p1 = c.pid[r1]!, p2 = c.pid[r2]!;
      if (p1 >= 0 && p2 >= 0) {
        if (p1 !== p2) return false;
        continue;
      }
      const l = c.len[r1]!;
      if (l !== c.len[r2]) return false;
      const d1 = p1 >= 0 ? c.pool.bytes : c.bytes, d2 = p2 >= 0 ? c.pool.bytes : c.bytes;
      const s1 = c.start[r1]!, s2 = c.start[r2]!;
      for (let i = 0; i < l; i++) if (d1[s1 + i] !== d2[s2 + i]) return false;
    }
    return true;
  }

  private values(r: number): Value[] {
    return this.cols.map((c, j) => (c.kind === 'f64' ? c.values[r]! : decoder.decode(this.bytesOf(j, r))));
  }

  /**
   * The distinct rows in output order as column batches of at most `chunk` rows: all rows sorted
   * by hash (a stable radix sort, so equal hashes stay in arrival order — what the k-way merge of
   * the row reduce gives), runs of equal hashes resolved by bytes.
   */
  *batches(chunk = DEFAULT_MAX_ROWS): Generator<ColumnBatch> {
    const rows = this.survivors();
    for (let at = 0; at < rows.length; at += chunk) {
      const part = rows.subarray(at, Math.min(rows.length, at + chunk));
      yield this.batch(part, part.length);
    }
  }

  /** Every distinct row in output order: runs of equal hashes found by a leaf loop, the rows
   * between them copied natively, each run resolved by resolveRun. */
  private survivors(): Uint32Array {
    const N = this.seen;
    const { order, sorted } = sortByHash(this.hash.subarray(0, N));
    const runs = new Int32Array(N); // (start, end) of each run of ≥ 2 equal hashes: at most N/2 runs
    const nr = equalRuns(sorted, runs);
    const out = new Uint32Array(N);
    let k = 0, from = 0;
    for (let r = 0; r < nr; r += 2) {
      const i = runs[r]!, j = runs[r + 1]!;
      out.set(order.subarray(from, i), k);
      k += i - from;
      k = this.resolveRun(order, i, j, out, k);
      from = j;
    }
    out.set(order.subarray(from, N), k);
    k += N - from;
    return out.subarray(0, k);
  }

  /** Duplicates or a collision, order[i, j): the first arrival of each distinct row, ordered by key
   * values, appended to out at k; returns the new end. */
  private resolveRun(order: Uint32Array, i: number, j: number, out: Uint32Array, k: number): number {
    const first = order[i]!;
    let r = i + 1;
    while (r < j && this.same(first, order[r]!)) r++;
    if (r === j) {
      // Duplicates of one row (the common case): its first arrival.
      out[k] = first;
      return k + 1;
    }
    return this.resolveCollision(order, i, j, out, k);
  }

  /** A run holding distinct rows (a 32-bit hash collision): see resolveRun. */
  private resolveCollision(order: Uint32Array, i: number, j: number, out: Uint32Array, k: number): number {
    const kept: number[] = [];
    for (let r = i; r < j; r++) {
      const row = order[r]!;
      if (!kept.some((o) => this.same(o, row))) kept.push(row);
    }
    const sorted = kept.map((r) => ({ r, v: this.values(r) })).sort((x, y) => compareKeys(x.v, y.v, this.key));
    for (const x of sorted) out[k++] = x.r;
    return k;
  }

  private batch(rows: Uint32Array, n: number): ColumnBatch {
    const columns: ColumnBatch['columns'] = {};
    for (let j = 0; j < this.names.length; j++) {
      const c = this.cols[j]!;
      if (c.kind === 'f64') {
        columns[this.names[j]!] = { type: 'int64', values: gatherF64(c.values, rows, new Float64Array(n)) };
        continue;
      }
      const start = new Int32Array(n), len = new Int32Array(n);
      if (!c.plain) {
        // Every value from the pool: its ranges, with its ids (the writer dictionary-encodes by id).
        const ids = new Int32Array(n);
        gatherPool(c.pid, c.pool.start, c.pool.len, rows, ids, start, len);
        columns[this.names[j]!] = { type: 'string', data: c.pool.bytes.subarray(0, c.pool.used), start, len, ids };
        continue;
      }
      if (c.pool.used > 0) {
        // Some values from the pool, some plain: the pool's bytes appended to the plain ones, once.
        const off = c.append(c.pool.bytes.subarray(0, c.pool.used));
        rebase(c.pid, c.start, off, this.seen);
        c.pool.clear();
      }
      gatherRanges(c.start, c.len, rows, start, len);
      columns[this.names[j]!] = { type: 'string', data: c.bytes.subarray(0, c.used), start, len };
    }
    this.emitted += n;
    return { rows: n, columns };
  }
}

// The hot loops are leaf functions over typed arrays with nothing after the loop: V8 compiles each
// once for all its callers. Inlined into the methods above they were compiled on stack replacement
// in the first loop reached and deoptimized at each later statement not run yet (survivors,
// batch and sortByHash were compiled 6 to 10 times per thread at 1M).

function allAtLeast(a: Int32Array, n: number, min: number): boolean {
  for (let i = 0; i < n; i++) if (a[i]! < min) return false;
  return true;
}

function allBelow(a: Uint32Array, n: number, limit: number): boolean {
  for (let i = 0; i < n; i++) if (a[i]! >= limit) return false;
  return true;
}

/**
 * Rows 0..n-1 of a block ordered by their hashes' top bits, stably (one counting pass; `count` is
 * scratch of ORDER_GROUPS + 1): ORDER_BITS of them, fewer for a block of fewer rows than groups
 * (about log2 n), so a small block (many buckets) pays for its rows, not for 2,048 counters. The whole input is then sorted by hash, equal hashes in
 * arrival order — the same order as without this, since equal hashes share their top bits — but
 * the sorted order visits each block front to back, a few rows at a time: the gathers of survivors
 * (ranges, pool ids, doubles) and the Parquet writer's copy of their text read ~one sequential
 * stream per block instead of the whole input at random (cache misses were most of the reduce).
 */
function topBitsOrder(hash: Uint32Array, count: Int32Array, out: Int32Array): Int32Array {
  const bits = Math.max(1, Math.min(ORDER_BITS, 32 - Math.clz32(hash.length))), groups = 1 << bits;
  const shift = 32 - bits;
  count.fill(0, 0, groups + 1);
  for (let k = 0; k < hash.length; k++) count[(hash[k]! >>> shift) + 1]! += 1;
  for (let g = 0; g < groups; g++) count[g + 1]! += count[g]!;
  for (let k = 0; k < hash.length; k++) out[count[hash[k]! >>> shift]!++] = k;
  return out;
}

function gatherU32(src: Uint32Array, perm: Int32Array, out: Uint32Array, base: number): void {
  for (let i = 0; i < perm.length; i++) out[base + i] = src[perm[i]!]!;
}

function gatherF64At(src: Float64Array, perm: Int32Array, out: Float64Array, base: number): void {
  for (let i = 0; i < perm.length; i++) out[base + i] = src[perm[i]!]!;
}

function appendDict(ids: Int32Array, idx: Uint32Array, perm: Int32Array, ps: readonly number[], pl: readonly number[], pid: Int32Array, start: Int32Array, len: Int32Array, base: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = ids[idx[perm[i]!]!]!;
    pid[base + i] = id;
    start[base + i] = ps[id]!;
    len[base + i] = pl[id]!;
  }
}

/** The block's values (text `src`, ranges srcStart/srcLen) copied into `dst` from `off` in perm's
 * order, as rows base.. of start/len. Short values 4 bytes at a time through DataViews (~2× a byte
 * loop; no subarray object per value), long ones natively. */
function appendPlain(src: Uint8Array, srcStart: Int32Array, srcLen: Int32Array, perm: Int32Array, dst: Uint8Array, off: number, start: Int32Array, len: Int32Array, base: number, n: number): void {
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength), dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  let o = off;
  for (let i = 0; i < n; i++) {
    const r = perm[i]!;
    let s = srcStart[r]!;
    const l = srcLen[r]!, e = s + l;
    start[base + i] = o;
    len[base + i] = l;
    if (l > 32) {
      dst.set(src.subarray(s, e), o);
      o += l;
      continue;
    }
    for (; s + 4 <= e; s += 4, o += 4) dv.setUint32(o, sv.getUint32(s, true), true);
    for (; s < e; s++) dst[o++] = src[s]!;
  }
}

/** (start, end) of each run of ≥ 2 equal values of `sorted`, into runs; returns 2 × the run count. */
function equalRuns(sorted: Uint32Array, runs: Int32Array): number {
  const n = sorted.length;
  let r = 0;
  for (let i = 1; i < n; i++) {
    if (sorted[i] !== sorted[i - 1]) continue;
    const from = i - 1;
    while (i + 1 < n && sorted[i + 1] === sorted[from]) i++;
    runs[r++] = from;
    runs[r++] = i + 1;
  }
  return r;
}

function gatherF64(v: Float64Array, rows: Uint32Array, out: Float64Array): Float64Array {
  for (let k = 0; k < rows.length; k++) out[k] = v[rows[k]!]!;
  return out;
}

/** The pool ranges and ids of the rows (the pool is small and cache-resident: one random read per row). */
function gatherPool(pid: Int32Array, ps: readonly number[], pl: readonly number[], rows: Uint32Array, ids: Int32Array, start: Int32Array, len: Int32Array): void {
  for (let k = 0; k < rows.length; k++) {
    const id = pid[rows[k]!]!;
    ids[k] = id;
    start[k] = ps[id]!;
    len[k] = pl[id]!;
  }
}

function gatherRanges(cs: Int32Array, cl: Int32Array, rows: Uint32Array, start: Int32Array, len: Int32Array): void {
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    start[k] = cs[r]!;
    len[k] = cl[r]!;
  }
}

/** Pool rows (pid ≥ 0) of a column become ranges of its plain bytes, where the pool was appended at off. */
function rebase(pid: Int32Array, start: Int32Array, off: number, n: number): void {
  for (let r = 0; r < n; r++) {
    if (pid[r]! >= 0) {
      start[r] = start[r]! + off;
      pid[r] = -1;
    }
  }
}
