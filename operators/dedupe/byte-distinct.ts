/**
 * dedupe's whole-row reduce from shuffle bytes to column batches (operators/dedupe/dedupe.ts uses it
 * when the key is every column, the input is DGSH shuffle files and the output writer takes
 * column batches, i.e. every field is a REQUIRED string or int64): the same rows in the same order
 * as distinct-merge.ts ShuffleDistinct (hence the same files), with no JS string and no row object:
 *   - each block is decoded with strings as UTF-8 byte ranges (storage/shuffle/format.ts
 *     decodeShuffleBlocksBytes) and appended to whole-input columns: dictionary strings as ids of
 *     one pool of their distinct values, plain strings as ranges of one buffer (the blocks' text
 *     appended, one copy each), int64 as doubles;
 *   - key hashes are hashKey's, computed from the bytes (lib/row-index.ts mixUtf8), a dictionary
 *     first key column once per entry; all rows are ordered by hash with one stable radix sort
 *     (equal hashes in arrival order: files, blocks, rows — the row reduce's merge order);
 *   - a run of equal hashes keeps the first arrival of each distinct row — equality by bytes (equal
 *     UTF-8 ⇔ equal strings) and ===, exact, so a 32-bit collision never merges two rows — ordered
 *     by key values (compareValues on the decoded strings, only for such runs);
 *   - survivors go out as column batches of DEFAULT_MAX_ROWS rows (the files the row path writes)
 *     that point into those buffers: nothing is copied per row; a column whose values all come
 *     from the pool carries its ids (the writer dictionary-encodes by id, no hashing).
 * add() returns false (the caller reads rows instead) for a file lacking a column, holding a null
 * or a column of another kind. Memory: ~30 B per input row plus its text, once.
 */
import { DEFAULT_MAX_ROWS } from '../../storage/dataset/writer.js';
import { decodeShuffleBlocksBytes, type ShuffleBytesColumn } from '../../storage/shuffle/format.js';
import type { ColumnBatch, Value } from '../../storage/types.js';
import { Utf8Pool } from '../lib/columnar/utf8-pool.js';
import { compareKeys, sortByHash } from './distinct-merge.js';
import { HASH_SEED, mixUtf8, mixValue } from './row-index.js';

const EMPTY_I32 = new Int32Array(0), EMPTY_F64 = new Float64Array(0);

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

  append(src: Uint8Array): number {
    const at = this.used;
    if (at + src.length > this.bytes.length) {
      const g = new Uint8Array(Math.max(this.bytes.length * 2, at + src.length));
      g.set(this.bytes.subarray(0, at));
      this.bytes = g;
    }
    this.bytes.set(src, at);
    this.used += src.length;
    return at;
  }
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class ByteDistinct {
  private readonly key: number[];
  private readonly cols: Column[];
  private hash: Uint32Array = new Uint32Array(1024);
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

  /** Sizes the per-row arrays for `rows` rows in all (an estimate: more rows still fit, by doubling). */
  reserve(rows: number): void {
    this.hint = Math.max(this.hint, Math.ceil(rows));
  }

  /** Adds a DGSH file's rows; false (the instance must read rows instead) when it lacks a column or
   * holds a null or a column of another kind. */
  add(bytes: Uint8Array): boolean {
    const { schema, blocks } = decodeShuffleBlocksBytes(bytes);
    const at = this.names.map((nm) => schema.findIndex((f) => f.name === nm));
    if (at.includes(-1)) return false;
    for (const b of blocks) {
      const n = b.rows;
      if (n === 0) continue;
      const src = at.map((c) => b.columns[c]!);
      if (!src.every((c, j) => this.fits(c, j, n))) return false;
      const base = this.seen;
      if (base + n > this.hash.length) {
        let m = Math.max(this.hash.length, this.hint);
        while (m < base + n) m *= 2;
        const g = new Uint32Array(m);
        g.set(this.hash.subarray(0, base));
        this.hash = g;
      }
      for (let j = 0; j < src.length; j++) this.append(src[j]!, this.cols[j]!, base, n);
      this.hashes(src, base, n);
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
    if (c.kind === 'plain') {
      for (let i = 0; i < n; i++) if (c.len[i]! < 0) return false;
      return true;
    }
    const count = c.start.length;
    for (let i = 0; i < n; i++) if (c.idx[i]! >= count) return false;
    return true;
  }

  private append(c: ShuffleBytesColumn, col: Column, base: number, n: number): void {
    col.grow(base + n, this.hint);
    if (c.kind === 'values') {
      col.values.set(c.values as Float64Array, base);
      return;
    }
    const { pid, start, len } = col;
    if (c.kind === 'dict') {
      const ids = new Int32Array(c.start.length);
      for (let e = 0; e < ids.length; e++) ids[e] = col.pool.idOfBytes(c.utf8, c.start[e]!, c.len[e]!);
      const idx = c.idx;
      for (let i = 0; i < n; i++) {
        const id = ids[idx[i]!]!;
        pid[base + i] = id;
        start[base + i] = col.pool.start[id]!;
        len[base + i] = col.pool.len[id]!;
      }
      return;
    }
    // Plain: the block's text appended as it is (one copy), rows as ranges of it.
    col.plain = true;
    const off = col.append(c.utf8);
    for (let i = 0; i < n; i++) {
      pid[base + i] = -1;
      start[base + i] = off + c.start[i]!;
      len[base + i] = c.len[i]!;
    }
  }

  /** hashKey of a block's rows (added at `base`), a key column at a time, from the bytes. */
  private hashes(src: ShuffleBytesColumn[], base: number, n: number): void {
    const h = new Int32Array(n).fill(HASH_SEED | 0);
    for (let k = 0; k < this.key.length; k++) {
      const c = src[this.key[k]!]!;
      if (c.kind === 'values') {
        const v = c.values;
        for (let i = 0; i < n; i++) h[i] = mixValue(h[i]!, v[i]);
      } else if (c.kind === 'dict') {
        const { utf8, start, len, idx } = c;
        if (k === 0) {
          const pre = new Int32Array(start.length);
          for (let e = 0; e < start.length; e++) pre[e] = mixUtf8(HASH_SEED, utf8, start[e]!, len[e]!);
          for (let i = 0; i < n; i++) h[i] = pre[idx[i]!]!;
        } else {
          for (let i = 0; i < n; i++) {
            const e = idx[i]!;
            h[i] = mixUtf8(h[i]!, utf8, start[e]!, len[e]!);
          }
        }
      } else {
        const { utf8, start, len } = c;
        for (let i = 0; i < n; i++) h[i] = mixUtf8(h[i]!, utf8, start[i]!, len[i]!);
      }
    }
    this.hash.set(new Uint32Array(h.buffer), base);
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

  /** Every distinct row in output order (a plain method: V8 optimizes its loop, not a generator's). */
  private survivors(): Int32Array {
    const N = this.seen;
    const { order, sorted } = sortByHash(this.hash.subarray(0, N));
    const out = new Int32Array(N);
    let k = 0;
    for (let i = 0; i < N;) {
      const h = sorted[i]!;
      let j = i + 1;
      while (j < N && sorted[j] === h) j++;
      if (j - i === 1) out[k++] = order[i]!;
      else k = this.resolveRun(order, i, j, out, k);
      i = j;
    }
    return out.subarray(0, k);
  }

  /** Duplicates or a collision, order[i, j): the first arrival of each distinct row, ordered by key
   * values, appended to out at k; returns the new end. */
  private resolveRun(order: Uint32Array, i: number, j: number, out: Int32Array, k: number): number {
    const kept: number[] = [];
    for (let r = i; r < j; r++) {
      const row = order[r]!;
      if (!kept.some((o) => this.same(o, row))) kept.push(row);
    }
    const sorted = kept.length === 1 ? kept : kept.map((r) => ({ r, v: this.values(r) })).sort((x, y) => compareKeys(x.v, y.v, this.key)).map((x) => x.r);
    for (const r of sorted) out[k++] = r;
    return k;
  }

  private batch(rows: Int32Array, n: number): ColumnBatch {
    const columns: ColumnBatch['columns'] = {};
    for (let j = 0; j < this.names.length; j++) {
      const c = this.cols[j]!;
      if (c.kind === 'f64') {
        const v = new Float64Array(n);
        for (let k = 0; k < n; k++) v[k] = c.values[rows[k]!]!;
        columns[this.names[j]!] = { type: 'int64', values: v };
        continue;
      }
      const start = new Int32Array(n), len = new Int32Array(n);
      if (!c.plain) {
        // Every value from the pool: its ranges, with its ids (the writer dictionary-encodes by id).
        const ids = new Int32Array(n);
        const pid = c.pid, ps = c.pool.start, pl = c.pool.len;
        for (let k = 0; k < n; k++) {
          // The range from the pool by id (small, cache-resident): one random read per row, not three.
          const id = pid[rows[k]!]!;
          ids[k] = id;
          start[k] = ps[id]!;
          len[k] = pl[id]!;
        }
        columns[this.names[j]!] = { type: 'string', data: c.pool.bytes.subarray(0, c.pool.used), start, len, ids };
        continue;
      }
      if (c.pool.used > 0) {
        // Some values from the pool, some plain: the pool's bytes appended to the plain ones, once.
        const off = c.append(c.pool.bytes.subarray(0, c.pool.used));
        for (let r = 0; r < this.seen; r++) {
          if (c.pid[r]! >= 0) {
            c.start[r] = c.start[r]! + off;
            c.pid[r] = -1;
          }
        }
        c.pool.clear();
      }
      for (let k = 0; k < n; k++) {
        const r = rows[k]!;
        start[k] = c.start[r]!;
        len[k] = c.len[r]!;
      }
      columns[this.names[j]!] = { type: 'string', data: c.bytes.subarray(0, c.used), start, len };
    }
    this.emitted += n;
    return { rows: n, columns };
  }
}
