/**
 * Columnar removal of exact duplicates over DGSH shuffle files: dedupe's reduce when the key is the
 * whole row (every column, each once) and its input is shuffle files. Same output, same order as
 * the row path (RowIndex + sortedRows): rows in key-hash order, equal hashes ordered by the key
 * values (compareValues over the key columns), one row per distinct key.
 *
 * Why: the row path builds an object per input row, keeps ~1.25M of them alive until the end (so
 * every scavenge copies them, then they get promoted), and writes its output in hash order, i.e.
 * it visits those objects and their strings in random memory order — half of the reduce went to
 * cache misses in the Parquet writer and to GC. Here:
 *   - each block is decoded into columns (storage/shuffle/format.ts decodeShuffleBlocks): a string
 *     dictionary + index per row, or one joined string + lengths, or typed arrays — no row objects;
 *   - key hashes are computed column by column (sequential), in place over the joined text, and
 *     for a dictionary first key column once per dictionary entry (the hash's prefix state);
 *   - each block (≤ a few thousand rows, cache-resident) is sorted by hash and its columns permuted
 *     into that order, then all blocks are k-way merged by (hash, block): equal keys meet in the
 *     merge, so no hash table is needed, and every array is read sequentially;
 *   - output rows are built only for survivors, in output order, a chunk at a time (short-lived).
 * Runs of equal hashes (duplicates, and 32-bit collisions) are resolved as the row path does: the
 * first-arriving row of each key survives (for a whole-row key all its duplicates are equal), then
 * the run is ordered by key values, ties in arrival order (files, blocks, rows as listed).
 * Hashes equal hashKey (lib/row-index.ts) of the decoded rows, so the order is the row path's.
 * Preconditions: the files' columns include `names`; their values are what the map wrote.
 * Memory: the decoded columns of the instance's whole input (~40 B per pageview row).
 */
import { RowBuilder } from '../../storage/row-builder.js';
import { decodeShuffleBlocks, PLAIN_NULL, type ShuffleColumn } from '../../storage/shuffle/format.js';
import type { Row, Value } from '../../storage/types.js';
import { compareValues } from '../lib/rows.js';
import { HASH_SEED, mixNull, mixStringAt, mixValue, sameValue } from './row-index.js';

/** A block's column in hash order ('plain' strings with their start offsets in `joined`). */
type SortedColumn =
  | { kind: 'dict'; dict: Array<string | null>; idx: Uint32Array }
  | { kind: 'plain'; joined: string; start: Uint32Array; lens: Uint32Array }
  | { kind: 'values'; values: ArrayLike<Value> };

interface SortedBlock {
  n: number;
  /** Key hashes, ascending. */
  hash: Uint32Array;
  /** Columns in the caller's `names` order, permuted into hash order. */
  cols: SortedColumn[];
}

function valueAt(c: SortedColumn, p: number): Value {
  if (c.kind === 'dict') return c.dict[c.idx[p]!] ?? null;
  if (c.kind === 'values') return c.values[p] ?? null;
  const len = c.lens[p]!;
  if (len === PLAIN_NULL) return null;
  const s = c.start[p]!;
  return c.joined.slice(s, s + len);
}

/** Start offset of each row's value in a plain column's joined text. */
function startsOf(lens: Uint32Array): Uint32Array {
  const out = new Uint32Array(lens.length);
  let s = 0;
  for (let i = 0; i < lens.length; i++) {
    out[i] = s;
    const len = lens[i]!;
    if (len !== PLAIN_NULL) s += len;
  }
  return out;
}

/** hashKey of every row of a block, computed a key column at a time. */
function blockHashes(cols: ShuffleColumn[], starts: Array<Uint32Array | null>, key: readonly number[], n: number): Uint32Array {
  const h = new Int32Array(n).fill(HASH_SEED | 0);
  for (let k = 0; k < key.length; k++) {
    const c = cols[key[k]!]!;
    if (c.kind === 'dict') {
      const { dict, idx } = c;
      if (k === 0) {
        // First key column: the hash state after it depends on the entry only.
        const pre = new Int32Array(dict.length);
        for (let e = 0; e < dict.length; e++) pre[e] = mixValue(HASH_SEED, dict[e]);
        for (let i = 0; i < n; i++) {
          const e = idx[i]!;
          h[i] = e < dict.length ? pre[e]! : mixNull(HASH_SEED);
        }
      } else {
        for (let i = 0; i < n; i++) h[i] = mixValue(h[i]!, dict[idx[i]!] ?? null);
      }
    } else if (c.kind === 'plain') {
      const { joined, lens } = c;
      const st = starts[key[k]!]!;
      for (let i = 0; i < n; i++) {
        const len = lens[i]!;
        h[i] = len === PLAIN_NULL ? mixNull(h[i]!) : mixStringAt(h[i]!, joined, st[i]!, len);
      }
    } else {
      const v = c.values;
      for (let i = 0; i < n; i++) h[i] = mixValue(h[i]!, v[i] ?? null);
    }
  }
  return new Uint32Array(h.buffer);
}

/**
 * Row indexes in (hash, row) order: an LSD radix sort (stable, so equal hashes keep row order) of
 * 11 bits a pass — 3 passes, every digit's counts taken in one first pass, a digit whose values are
 * all equal skipped — that moves each row's hash along with its index, so every pass reads
 * sequentially (no gather through the order). Linear, where a comparison sort is ~4× slower.
 */
export function hashOrder(hash: Uint32Array): Uint32Array {
  return sortByHash(hash).order;
}

/** hashOrder's permutation, with the hashes in that order (`sorted[i] = hash[order[i]]`). */
export function sortByHash(hash: Uint32Array): { order: Uint32Array; sorted: Uint32Array } {
  const n = hash.length;
  let order = new Uint32Array(n), keys = new Uint32Array(n);
  iota(order);
  keys.set(hash);
  if (n < 2) return { order, sorted: keys };
  const counts = new Int32Array(3 * 2048);
  countDigits(hash, counts);
  let tmpOrder = new Uint32Array(n), tmpKeys = new Uint32Array(n);
  for (let pass = 0, shift = 0; pass < 3; pass++, shift += 11) {
    const base = pass * 2048;
    if (counts[base + ((hash[0]! >>> shift) & 2047)] === n) continue; // one digit value: nothing moves
    scatter(keys, order, tmpKeys, tmpOrder, counts, base, shift);
    const o = order, k = keys;
    order = tmpOrder;
    keys = tmpKeys;
    tmpOrder = o;
    tmpKeys = k;
  }
  return { order, sorted: keys };
}

// The loops of sortByHash are leaf functions over typed arrays with nothing after them: V8 compiles
// each once, where one function holding them all was compiled on stack replacement in its first
// loop and deoptimized at every later statement it had not run yet (~6 compiles per thread).

function iota(order: Uint32Array): void {
  for (let i = 0; i < order.length; i++) order[i] = i;
}

/** Counts of each 11-bit digit of every hash, the three digits' tables one after the other. */
function countDigits(hash: Uint32Array, counts: Int32Array): void {
  for (let i = 0; i < hash.length; i++) {
    const h = hash[i]!;
    counts[h & 2047]! += 1;
    counts[2048 + ((h >>> 11) & 2047)]! += 1;
    counts[4096 + (h >>> 22)]! += 1;
  }
}

/** One stable pass on the digit at `shift`: counts[base, base + 2048) become its start offsets. */
function scatter(keys: Uint32Array, order: Uint32Array, toKeys: Uint32Array, toOrder: Uint32Array, counts: Int32Array, base: number, shift: number): void {
  let sum = 0;
  for (let d = base; d < base + 2048; d++) {
    const c = counts[d]!;
    counts[d] = sum;
    sum += c;
  }
  for (let i = 0; i < keys.length; i++) {
    const h = keys[i]!;
    const at = counts[base + ((h >>> shift) & 2047)]!++;
    toKeys[at] = h;
    toOrder[at] = order[i]!;
  }
}

function permute(c: ShuffleColumn, start: Uint32Array | null, order: Uint32Array): SortedColumn {
  const n = order.length;
  if (c.kind === 'dict') {
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = c.idx[order[i]!]!;
    return { kind: 'dict', dict: c.dict, idx };
  }
  if (c.kind === 'plain') {
    // The text itself is re-joined in hash order too (while the block is in cache), so the merge
    // and the Parquet writer read it sequentially instead of jumping around every block's text.
    const st = new Uint32Array(n), lens = new Uint32Array(n);
    const parts = new Array<string>(n);
    const joined = c.joined;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      const len = c.lens[r]!;
      lens[i] = len;
      st[i] = s;
      if (len === PLAIN_NULL) {
        parts[i] = '';
        continue;
      }
      const from = start![r]!;
      parts[i] = joined.slice(from, from + len);
      s += len;
    }
    return { kind: 'plain', joined: parts.join(''), start: st, lens };
  }
  const src = c.values;
  let values: Float64Array | Int32Array | Value[];
  if (src instanceof Float64Array) values = new Float64Array(n);
  else if (src instanceof Int32Array) values = new Int32Array(n);
  else values = new Array<Value>(n);
  for (let i = 0; i < n; i++) values[i] = src[order[i]!]!; // same element kind as src
  return { kind: 'values', values };
}

/** The distinct rows of DGSH files, by key-hash merge (see the banner). */
export class ShuffleDistinct {
  private readonly blocks: SortedBlock[] = [];
  private readonly key: number[];
  /** One JS string per distinct dictionary entry across blocks: the Parquet writer's dictionary
   * (a Map keyed by string) then finds each by identity instead of comparing characters. */
  private readonly interned = new Map<string, string>();
  /** Rows added. */
  seen = 0;
  /** Distinct rows emitted so far. */
  emitted = 0;

  /** `names`: the output columns (row properties); `keyCols`: the key, in hashing order (a permutation of names). */
  constructor(private readonly names: readonly string[], keyCols: readonly string[]) {
    this.key = keyCols.map((k) => names.indexOf(k));
  }

  /** Adds a DGSH file's rows; false (nothing added) when the file lacks one of the columns. */
  add(bytes: Uint8Array): boolean {
    const { schema, blocks } = decodeShuffleBlocks(bytes);
    const at = this.names.map((nm) => schema.findIndex((f) => f.name === nm));
    if (at.includes(-1)) return false;
    for (const b of blocks) {
      const n = b.rows;
      if (n === 0) continue;
      const cols = at.map((c) => b.columns[c]!);
      for (const c of cols) if (c.kind === 'dict') this.intern(c.dict);
      const starts = cols.map((c) => (c.kind === 'plain' ? startsOf(c.lens) : null));
      const hash = blockHashes(cols, starts, this.key, n);
      const order = hashOrder(hash);
      const sorted = new Uint32Array(n);
      for (let i = 0; i < n; i++) sorted[i] = hash[order[i]!]!;
      this.blocks.push({ n, hash: sorted, cols: cols.map((c, j) => permute(c, starts[j]!, order)) });
      this.seen += n;
    }
    return true;
  }

  private intern(dict: Array<string | null>): void {
    const m = this.interned;
    for (let e = 0; e < dict.length; e++) {
      const s = dict[e];
      if (s === null || s === undefined) continue;
      const t = m.get(s);
      if (t === undefined) m.set(s, s);
      else dict[e] = t;
    }
  }

  /** The distinct rows in output order, in chunks of at most `chunk` rows. */
  *rows(chunk = 8192): Generator<Row[]> {
    const blocks = this.blocks, names = this.names, key = this.key, width = names.length;
    const valuesAt = (b: number, p: number): Value[] => blocks[b]!.cols.map((c) => valueAt(c, p));
    // Duplicates or a collision: the first arrival of each key, ordered by key values.
    const run = (runB: Int32Array, runP: Int32Array, rn: number): number[] => {
      const kept: Array<{ r: number; vals: Value[] }> = [];
      for (let r = 0; r < rn; r++) {
        const vals = valuesAt(runB[r]!, runP[r]!);
        if (!kept.some((o) => key.every((c) => sameValue(o.vals[c], vals[c])))) kept.push({ r, vals });
      }
      kept.sort((x, y) => compareKeys(x.vals, y.vals, key));
      return kept.map((k) => k.r);
    };
    for (const s of mergeSurvivors(blocks.map((blk) => blk.hash), chunk, run)) {
      const out: Value[][] = names.map(() => new Array<Value>(s.n));
      for (let k = 0; k < s.n; k++) {
        const cols = blocks[s.b[k]!]!.cols, p = s.p[k]!;
        for (let j = 0; j < width; j++) out[j]![k] = valueAt(cols[j]!, p);
      }
      this.emitted += s.n;
      yield new RowBuilder(names, out.map((values) => ({ kind: 'values' as const, values }))).rows(0, s.n);
    }
  }
}

/** Key order within a run of equal hashes: compareValues over the key columns (indexes into vals). */
export function compareKeys(x: readonly Value[], y: readonly Value[], key: readonly number[]): number {
  for (const c of key) {
    const d = compareValues(x[c], y[c]);
    if (d !== 0) return d;
  }
  return 0;
}

/** Survivors of a merge, in output order: block b[k], position p[k] (in its hash order), k < n. */
export interface Survivors {
  n: number;
  b: Int32Array;
  p: Int32Array;
}

/**
 * The k-way merge of blocks by key hash (each `hashes[b]` ascending), in chunks of at most `chunk`
 * survivors: a hash held by one row only is its row; a run of equal hashes (duplicates, and 32-bit
 * collisions) — its rows in (block, position) order, i.e. arrival order — goes to `run`, which
 * returns the indexes (into the run) of its survivors in output order.
 */
export function* mergeSurvivors(hashes: readonly Uint32Array[], chunk: number, run: (runB: Int32Array, runP: Int32Array, rn: number) => number[]): Generator<Survivors> {
  const nb = hashes.length;
  const pos = new Int32Array(nb);
  // Min-heap of blocks keyed by hash·2^21 + block (exact in a double while nb ≤ 2^21, else by
  // hash, then block): one number comparison per step, no indirection to the block.
  const packed = nb <= 1 << 21;
  const heapB = new Int32Array(nb);
  const heapK = new Float64Array(nb);
  let hn = 0;
  const keyOf = (b: number): number => {
    const h = hashes[b]![pos[b]!]!;
    return packed ? h * 2097152 + b : h;
  };
  const less = (ka: number, a: number, kb: number, b: number): boolean => ka < kb || (ka === kb && a < b);
  const siftDown = (i: number): void => {
    const b = heapB[i]!, k = heapK[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= hn) break;
      if (c + 1 < hn && less(heapK[c + 1]!, heapB[c + 1]!, heapK[c]!, heapB[c]!)) c++;
      if (!less(heapK[c]!, heapB[c]!, k, b)) break;
      heapB[i] = heapB[c]!;
      heapK[i] = heapK[c]!;
      i = c;
    }
    heapB[i] = b;
    heapK[i] = k;
  };
  for (let b = 0; b < nb; b++) {
    if (hashes[b]!.length === 0) continue;
    heapB[hn] = b;
    heapK[hn++] = keyOf(b);
  }
  for (let i = (hn >> 1) - 1; i >= 0; i--) siftDown(i);
  const topHash = (): number => hashes[heapB[0]!]![pos[heapB[0]!]!]!;
  let outB = new Int32Array(chunk), outP = new Int32Array(chunk), k = 0;
  let runB = new Int32Array(64), runP = new Int32Array(64);
  while (hn > 0) {
    const h = topHash();
    let rn = 0;
    do {
      const b = heapB[0]!, hb = hashes[b]!;
      let p = pos[b]!;
      do {
        if (rn === runB.length) {
          const gb = new Int32Array(rn * 2), gp = new Int32Array(rn * 2);
          gb.set(runB);
          gp.set(runP);
          runB = gb;
          runP = gp;
        }
        runB[rn] = b;
        runP[rn++] = p;
        p++;
      } while (p < hb.length && hb[p] === h);
      pos[b] = p;
      if (p === hb.length) {
        hn--;
        heapB[0] = heapB[hn]!;
        heapK[0] = heapK[hn]!;
      } else heapK[0] = keyOf(b);
      if (hn > 0) siftDown(0);
    } while (hn > 0 && topHash() === h);
    if (rn === 1) {
      outB[k] = runB[0]!;
      outP[k++] = runP[0]!;
      if (k === chunk) {
        yield { n: k, b: outB, p: outP };
        outB = new Int32Array(chunk);
        outP = new Int32Array(chunk);
        k = 0;
      }
      continue;
    }
    for (const r of run(runB, runP, rn)) {
      outB[k] = runB[r]!;
      outP[k++] = runP[r]!;
      if (k === chunk) {
        yield { n: k, b: outB, p: outP };
        outB = new Int32Array(chunk);
        outP = new Int32Array(chunk);
        k = 0;
      }
    }
  }
  if (k > 0) yield { n: k, b: outB, p: outP };
}
