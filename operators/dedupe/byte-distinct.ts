/**
 * dedupe's whole-row reduce from shuffle bytes to column batches (operators/dedupe/dedupe.ts uses it
 * when the key is every column, the input is DGSH shuffle files and the output writer takes
 * column batches, i.e. every field is a REQUIRED string or int64): the same rows in the same order
 * as distinct-merge.ts ShuffleDistinct (hence the same files), with no JS string and no row object:
 *   - each block is decoded with strings as UTF-8 byte ranges (storage/shuffle/format.ts
 *     decodeShuffleBlocksBytes, views of the file's bytes);
 *   - key hashes are hashKey's, computed from the bytes (lib/row-index.ts mixUtf8), a dictionary
 *     first key column once per entry; each block is ordered by hash (radix sort) and all blocks
 *     are k-way merged (distinct-merge.ts mergeSurvivors);
 *   - a run of equal hashes keeps the first arrival of each distinct row — equality by bytes (equal
 *     UTF-8 ⇔ equal strings) and ===, exact, so a 32-bit collision never merges two rows — ordered
 *     by key values (compareValues on the decoded strings, only for such runs);
 *   - survivors are written as column batches of DEFAULT_MAX_ROWS rows (the files the row path
 *     writes): dictionary strings as ranges of one pool of their distinct values with their pool
 *     ids (the writer dictionary-encodes by id), plain strings copied, int64 as doubles.
 * add() returns false (the caller reads rows instead) for a file lacking a column or holding a
 * null. Memory: the instance's input files' bytes and a few typed arrays per row.
 */
import { DEFAULT_MAX_ROWS } from '../../storage/dataset/writer.js';
import { decodeShuffleBlocksBytes, type ShuffleBytesColumn } from '../../storage/shuffle/format.js';
import type { ColumnBatch, Value } from '../../storage/types.js';
import { compareKeys, hashOrder, mergeSurvivors } from './distinct-merge.js';
import { HASH_SEED, mixUtf8, mixValue } from './row-index.js';

/** A block's column: strings as byte ranges (a dictionary's entries with their pool ids), or doubles. */
type Col =
  | { kind: 'dict'; utf8: Uint8Array; start: Int32Array; len: Int32Array; idx: Uint32Array; pid: Int32Array }
  | { kind: 'plain'; utf8: Uint8Array; start: Int32Array; len: Int32Array }
  | { kind: 'f64'; values: Float64Array };

interface Block {
  /** Key hashes, ascending. */
  hash: Uint32Array;
  /** Row of each position of `hash`. */
  order: Uint32Array;
  cols: Col[];
}

/** The distinct values of a dictionary column across blocks, as one growing UTF-8 pool. */
class Pool {
  bytes = new Uint8Array(1 << 12);
  used = 0;
  start: number[] = [];
  len: number[] = [];
  private readonly ids = new Map<string, number>();
  id(data: Uint8Array, s: number, l: number): number {
    const key = Buffer.from(data.buffer, data.byteOffset + s, l).toString('latin1');
    let id = this.ids.get(key);
    if (id !== undefined) return id;
    if (this.used + l > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + l));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(data.subarray(s, s + l), this.used);
    id = this.start.length;
    this.start.push(this.used);
    this.len.push(l);
    this.used += l;
    this.ids.set(key, id);
    return id;
  }
}

const decoder = new TextDecoder();

export class ByteDistinct {
  private readonly blocks: Block[] = [];
  private readonly key: number[];
  private readonly pools: Pool[];
  /** Rows added. */
  seen = 0;
  /** Distinct rows emitted so far. */
  emitted = 0;

  /** `names`: the output columns; `keyCols`: the key, in hashing order (a permutation of names). */
  constructor(private readonly names: readonly string[], keyCols: readonly string[]) {
    this.key = keyCols.map((k) => names.indexOf(k));
    this.pools = names.map(() => new Pool());
  }

  /** Adds a DGSH file's rows; false (nothing added) when it lacks a column or holds a null. */
  add(bytes: Uint8Array): boolean {
    const { schema, blocks } = decodeShuffleBlocksBytes(bytes);
    const at = this.names.map((nm) => schema.findIndex((f) => f.name === nm));
    if (at.includes(-1)) return false;
    const added: Block[] = [];
    for (const b of blocks) {
      const n = b.rows;
      if (n === 0) continue;
      const cols: Col[] = [];
      for (let j = 0; j < at.length; j++) {
        const c = this.column(b.columns[at[j]!]!, j, n);
        if (c === null) return false;
        cols.push(c);
      }
      const hash = this.hashes(cols, n);
      const order = hashOrder(hash);
      const sorted = new Uint32Array(n);
      for (let i = 0; i < n; i++) sorted[i] = hash[order[i]!]!;
      added.push({ hash: sorted, order, cols });
    }
    for (const b of added) {
      this.blocks.push(b);
      this.seen += b.hash.length;
    }
    return true;
  }

  private column(c: ShuffleBytesColumn, j: number, n: number): Col | null {
    if (c.kind === 'values') return c.values instanceof Float64Array ? { kind: 'f64', values: c.values } : null;
    const { utf8, start, len } = c;
    if (c.kind === 'plain') {
      for (let i = 0; i < n; i++) if (len[i]! < 0) return null;
      return { kind: 'plain', utf8, start, len };
    }
    const count = start.length, idx = c.idx;
    for (let i = 0; i < n; i++) if (idx[i]! >= count) return null;
    const pool = this.pools[j]!;
    const pid = new Int32Array(count);
    for (let e = 0; e < count; e++) pid[e] = pool.id(utf8, start[e]!, len[e]!);
    return { kind: 'dict', utf8, start, len, idx, pid };
  }

  /** hashKey of every row of a block, a key column at a time, from the bytes. */
  private hashes(cols: Col[], n: number): Uint32Array {
    const h = new Int32Array(n).fill(HASH_SEED | 0);
    for (let k = 0; k < this.key.length; k++) {
      const c = cols[this.key[k]!]!;
      if (c.kind === 'f64') {
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
    return new Uint32Array(h.buffer);
  }

  /** Whether rows r1 of block b1 and r2 of block b2 are equal in every column (bytes, ===). */
  private same(b1: number, r1: number, b2: number, r2: number): boolean {
    const c1 = this.blocks[b1]!.cols, c2 = this.blocks[b2]!.cols;
    for (let j = 0; j < c1.length; j++) {
      const x = c1[j]!, y = c2[j]!;
      if (x.kind === 'f64' || y.kind === 'f64') {
        if (x.kind !== 'f64' || y.kind !== 'f64' || x.values[r1] !== y.values[r2]) return false;
        continue;
      }
      if (x.kind === 'dict' && y.kind === 'dict') {
        if (x.pid[x.idx[r1]!] !== y.pid[y.idx[r2]!]) return false;
        continue;
      }
      const [d1, s1, l1] = range(x, r1), [d2, s2, l2] = range(y, r2);
      if (l1 !== l2) return false;
      for (let i = 0; i < l1; i++) if (d1[s1 + i] !== d2[s2 + i]) return false;
    }
    return true;
  }

  private values(b: number, r: number): Value[] {
    return this.blocks[b]!.cols.map((c) => {
      if (c.kind === 'f64') return c.values[r]!;
      const [d, s, l] = range(c, r);
      return decoder.decode(d.subarray(s, s + l));
    });
  }

  /** The distinct rows in output order as column batches of at most `chunk` rows. */
  *batches(chunk = DEFAULT_MAX_ROWS): Generator<ColumnBatch> {
    const blocks = this.blocks, names = this.names, key = this.key;
    const run = (runB: Int32Array, runP: Int32Array, rn: number): number[] => {
      const kept: number[] = [];
      for (let r = 0; r < rn; r++) {
        const b = runB[r]!, row = blocks[b]!.order[runP[r]!]!;
        if (!kept.some((o) => this.same(runB[o]!, blocks[runB[o]!]!.order[runP[o]!]!, b, row))) kept.push(r);
      }
      if (kept.length === 1) return kept;
      const vals = kept.map((r) => ({ r, v: this.values(runB[r]!, blocks[runB[r]!]!.order[runP[r]!]!) }));
      vals.sort((x, y) => compareKeys(x.v, y.v, key));
      return vals.map((x) => x.r);
    };
    for (const s of mergeSurvivors(blocks.map((blk) => blk.hash), chunk, run)) {
      const n = s.n;
      const rows = new Int32Array(n);
      for (let k = 0; k < n; k++) rows[k] = blocks[s.b[k]!]!.order[s.p[k]!]!;
      const columns: ColumnBatch['columns'] = {};
      for (let j = 0; j < names.length; j++) columns[names[j]!] = this.gather(j, s.b, rows, n);
      this.emitted += n;
      yield { rows: n, columns };
    }
  }

  /** Column j of the survivors (block sb[k], row rows[k]). */
  private gather(j: number, sb: Int32Array, rows: Int32Array, n: number): ColumnBatch['columns'][string] {
    const blocks = this.blocks, nb = blocks.length;
    const first = blocks[sb[0]!]!.cols[j]!;
    if (first.kind === 'f64') {
      const vals = blocks.map((blk) => (blk.cols[j] as Extract<Col, { kind: 'f64' }>).values);
      const out = new Float64Array(n);
      for (let k = 0; k < n; k++) out[k] = vals[sb[k]!]![rows[k]!]!;
      return { type: 'int64', values: out };
    }
    // Per block: the column's bytes, value ranges and (dictionary) row → entry and entry → pool id.
    const utf8 = new Array<Uint8Array>(nb), starts = new Array<Int32Array>(nb), lens = new Array<Int32Array>(nb);
    const idxs = new Array<Uint32Array | null>(nb), pids = new Array<Int32Array | null>(nb);
    let allDict = true;
    for (let b = 0; b < nb; b++) {
      const c = blocks[b]!.cols[j]! as Exclude<Col, { kind: 'f64' }>;
      utf8[b] = c.utf8;
      starts[b] = c.start;
      lens[b] = c.len;
      idxs[b] = c.kind === 'dict' ? c.idx : null;
      pids[b] = c.kind === 'dict' ? c.pid : null;
      if (c.kind !== 'dict') allDict = false;
    }
    const start = new Int32Array(n), len = new Int32Array(n);
    if (allDict) {
      // Ranges of the pool, with its ids: the writer dictionary-encodes by id.
      const pool = this.pools[j]!;
      const ids = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const b = sb[k]!;
        const id = pids[b]![idxs[b]![rows[k]!]!]!;
        ids[k] = id;
        start[k] = pool.start[id]!;
        len[k] = pool.len[id]!;
      }
      return { type: 'string', data: pool.bytes.subarray(0, pool.used), start, len, ids };
    }
    let total = 0;
    for (let k = 0; k < n; k++) {
      const b = sb[k]!, idx = idxs[b] ?? null;
      const r = idx === null ? rows[k]! : idx[rows[k]!]!;
      const l = lens[b]![r]!;
      len[k] = l;
      total += l;
    }
    const data = new Uint8Array(total);
    let o = 0;
    for (let k = 0; k < n; k++) {
      const b = sb[k]!, idx = idxs[b] ?? null;
      const r = idx === null ? rows[k]! : idx[rows[k]!]!;
      const d = utf8[b]!, s = starts[b]![r]!, l = len[k]!;
      start[k] = o;
      if (l > 32) {
        data.set(d.subarray(s, s + l), o);
        o += l;
      } else for (let p = s, e = s + l; p < e; p++) data[o++] = d[p]!;
    }
    return { type: 'string', data, start, len };
  }
}

/** A string column's bytes for row r: [buffer, start, length]. */
function range(c: Col, r: number): [Uint8Array, number, number] {
  if (c.kind === 'dict') {
    const e = c.idx[r]!;
    return [c.utf8, c.start[e]!, c.len[e]!];
  }
  if (c.kind === 'plain') return [c.utf8, c.start[r]!, c.len[r]!];
  return [new Uint8Array(0), 0, 0];
}
