/**
 * Copy-through of a view in column form, for partial recomputation: the old view's files minus
 * the rows of some keys, merged with the recomputed rows, as one ColumnBatch for
 * OutputWriter.writeColumns — no row object per old row, no full sort. The old rows' key bytes are
 * copied as they are (never decoded, except for the Bloom filter's hits, which are checked
 * exactly), their int64 columns read as numbers (storage/parquet/column-scan.ts).
 *
 *   const batch = await copyThrough(files, { key: 'person', ints: [...], drop, bloom }, recomputed)
 *   → null when a file is not readable that way (a key column that is nullable, dictionary pages
 *     the reader refuses, ids that are not UTF-8 …): the caller takes the row path, nothing written.
 *
 * Order: every old row group and the recomputed rows (sorted by the caller) are sorted runs,
 * merged by key in JS string order (UTF-16 code units, compared on UTF-8 bytes by
 * lib/byte-intern.ts compareUtf8Js) — the order the row path's sort gives. Preconditions: `bloom`,
 * when given, holds every key of `drop` (it is only a pre-filter: a hit is dropped only if its
 * decoded key is in `drop`); `recomputed` sorted by key, its keys strings and ints safe integers.
 */
import { isUtf8 } from 'node:buffer';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import type { ColumnBatch, Row } from '../../storage/types.js';
import type { SplitBlockBloom } from './split-bloom.js';
import { compareUtf8Js } from '../lib/columnar/byte-intern.js';

export interface CopySpec {
  key: string;
  ints: string[];
  drop: ReadonlySet<string>;
  bloom: SplitBlockBloom | null;
}

export interface CopyResult {
  batch: ColumnBatch;
  kept: number;
  dropped: number;
}

/** A growable byte pool plus per-row (start, len) and int columns. */
class Gather {
  pool: Uint8Array;
  used = 0;
  start: Int32Array;
  len: Int32Array;
  ints: Float64Array[];
  rows = 0;
  /** Presized (rows, key bytes): regrowing 100k-row arrays in a worker's heap cost more than the copy. */
  constructor(nInts: number, rows: number, bytes: number) {
    const n = Math.max(16, rows);
    this.pool = new Uint8Array(Math.max(1 << 10, bytes));
    this.start = new Int32Array(n);
    this.len = new Int32Array(n);
    this.ints = Array.from({ length: nInts }, () => new Float64Array(n));
  }

  private room(bytes: number): void {
    if (this.rows === this.start.length) {
      const n = this.rows * 2;
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => { const b = make(n); b.set(a); return b; };
      this.start = grow(this.start, (k) => new Int32Array(k));
      this.len = grow(this.len, (k) => new Int32Array(k));
      this.ints = this.ints.map((a) => grow(a, (k) => new Float64Array(k)));
    }
    if (this.used + bytes > this.pool.length) {
      const p = new Uint8Array(Math.max(this.pool.length * 2, this.used + bytes));
      p.set(this.pool.subarray(0, this.used));
      this.pool = p;
    }
  }

  add(src: Uint8Array, s: number, l: number, ints: Float64Array[], i: number): void {
    this.room(l);
    const pool = this.pool, at = this.used;
    for (let k = 0; k < l; k++) pool[at + k] = src[s + k]!;
    this.start[this.rows] = at;
    this.len[this.rows] = l;
    for (let c = 0; c < ints.length; c++) this.ints[c]![this.rows] = ints[c]![i]!;
    this.used += l;
    this.rows++;
  }
}

/** One old view file: its bytes, and the rows its version has deleted (sorted positions) or null. */
export interface CopyFile {
  read(): Promise<Uint8Array>;
  deleted: Int32Array | null;
}

/** The old view `files` (their bytes, minus their deleted rows) minus spec.drop, merged with `recomputed`; or null (see banner). */
export async function copyThrough(files: CopyFile[], spec: CopySpec, recomputed: Row[]): Promise<CopyResult | null> {
  const opened = [];
  let rows = recomputed.length, keyBytes = 0;
  for (const file of files) {
    const f = openColumnFile(await file.read());
    opened.push({ f, deleted: file.deleted });
    for (const rg of f.metadata.row_groups) {
      rows += Number(rg.num_rows);
      const c = rg.columns.find((x) => x.meta_data?.path_in_schema.length === 1 && x.meta_data.path_in_schema[0] === spec.key);
      keyBytes += Number(c?.meta_data?.total_uncompressed_size ?? 0);
    }
  }
  const g = new Gather(spec.ints.length, rows, keyBytes + 32 * recomputed.length);
  const runs: Array<[number, number]> = [];
  let dropped = 0;
  for (const { f, deleted } of opened) {
    let di = 0;
    for (let rg = 0; rg < f.rowGroups.length; rg++) {
      const rowStart = f.rowGroups[rg]!.rowStart;
      const pages = f.byteArrayPages(rg, spec.key);
      if (pages === null) return null;
      const nums = await f.numbers(rg, spec.ints);
      const cols = spec.ints.map((c) => nums[c]!);
      const first = g.rows;
      let row = 0;
      for (const p of pages) {
        // Values under 128 bytes have ASCII length prefixes: a valid page is valid UTF-8 whole.
        if (!isUtf8(p.data)) {
          for (let i = 0; i < p.count; i++) if (!isUtf8(p.data.subarray(p.start[i], p.start[i]! + p.len[i]!))) return null;
        }
        const buf = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
        const drop = new Uint8Array(p.count);
        const check = (i: number): void => {
          const s = p.start[i]!;
          if (spec.drop.has(buf.toString('utf8', s, s + p.len[i]!))) drop[i] = 1;
        };
        if (spec.bloom !== null) {
          const hits = new Int32Array(p.count);
          const nh = spec.bloom.probeRanges(p.data, p.start, p.len, p.count, hits, 0);
          for (let h = 0; h < nh; h++) check(hits[h]!);
        } else {
          for (let i = 0; i < p.count; i++) check(i);
        }
        if (deleted !== null) {
          // Rows the old version already deleted are not in it: neither kept nor counted as dropped.
          const at = rowStart + row;
          while (di < deleted.length && deleted[di]! < at) di++;
          for (; di < deleted.length && deleted[di]! < at + p.count; di++) drop[deleted[di]! - at] = 2;
        }
        for (let i = 0; i < p.count; i++) {
          if (drop[i] === 1) dropped++;
          else if (drop[i] === 0) g.add(p.data, p.start[i]!, p.len[i]!, cols, row + i);
        }
        row += p.count;
      }
      if (g.rows > first) runs.push([first, g.rows]);
    }
  }
  const kept = g.rows;
  const enc = new TextEncoder();
  const first = g.rows;
  for (const r of recomputed) {
    const key = enc.encode(r[spec.key] as string);
    g.add(key, 0, key.length, spec.ints.map((c) => Float64Array.of(r[c] as number)), 0);
  }
  if (g.rows > first) runs.push([first, g.rows]);
  const order = merge(g, runs);
  const n = g.rows;
  const start = new Int32Array(n), len = new Int32Array(n);
  const ints = spec.ints.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const j = order[i]!;
    start[i] = g.start[j]!;
    len[i] = g.len[j]!;
    for (let c = 0; c < ints.length; c++) ints[c]![i] = g.ints[c]![j]!;
  }
  const columns: ColumnBatch['columns'] = { [spec.key]: { type: 'string', data: g.pool.subarray(0, g.used), start, len } };
  spec.ints.forEach((c, i) => { columns[c] = { type: 'int64', values: ints[i]! }; });
  return { batch: { rows: n, columns }, kept, dropped };
}

/** K-way merge of sorted runs of g's rows by key (a binary heap of run heads): the row order. */
function merge(g: Gather, runs: Array<[number, number]>): Int32Array {
  const order = new Int32Array(g.rows);
  const head = runs.map(([a]) => a), end = runs.map(([, b]) => b);
  const heap: number[] = runs.map((_, i) => i);
  const less = (r: number, q: number): boolean => {
    const a = head[r]!, b = head[q]!;
    const c = compareUtf8Js(g.pool, g.start[a]!, g.len[a]!, g.pool, g.start[b]!, g.len[b]!);
    return c < 0 || (c === 0 && r < q);
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  let k = 0;
  while (heap.length > 0) {
    const r = heap[0]!;
    order[k++] = head[r]!;
    head[r] = head[r]! + 1;
    if (head[r] === end[r]) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) down(0);
  }
  return order;
}
