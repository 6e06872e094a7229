/**
 * Packed hashed pageviews: how rollup hands (url, ts, h1, h2) rows to its aggregate stage. Rows are
 * packed per bucket into columnar blocks carried as one `bytes` value each through the ordinary
 * shuffle (PACKED_SCHEMA), so neither side builds a row object per pageview (the DGSH row path cost
 * one object per row on each side, and GC was 13–25 % of the stages), and the aggregate resolves
 * each block's URL dictionary once per entry instead of looking the URL up per row.
 *
 * Block layout (little-endian, platform typed arrays; every section padded to 8 bytes):
 *   u32 rows n | u32 dictCount d | u32 utf8Bytes | u32 version (1)
 *   u32 × d    UTF-16 length of each dictionary URL
 *   UTF-8      the dictionary URLs concatenated
 *   f64 × n ts | i32 × n h1 | i32 × n h2 | i32 × n URL (dictionary index)
 * Preconditions: ts are safe integers (int64 as f64, as DGSH does); h1/h2 are the first two words
 * of the person's MurmurHash3 x86_128 as int32. A malformed block is SHUFFLE_INVALID.
 */
import { DagctlError } from '../../core/errors.js';
import type { Schema } from '../../storage/types.js';
import type { ShuffleWriter } from '../types.js';

export const PACKED_SCHEMA: Schema = [{ name: 'block', type: 'bytes' }];
const VERSION = 1;
const pad8 = (n: number): number => (n + 7) & ~7;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * An empty array whose elements are objects (strings, class instances) from the start: an empty
 * literal starts with small-integer elements, and its first push of an object changes its kind
 * under the optimized code that pushes ('not a Smi' deopts, once per array).
 */
export function objectArray<T>(): T[] {
  const a: unknown[] = [null];
  a.length = 0;
  return a as T[];
}

/** One bucket's open block: columns of up to `cap` rows and its URL dictionary (global ids). */
class OpenBlock {
  n = 0;
  readonly ts: Float64Array;
  readonly h1: Int32Array;
  readonly h2: Int32Array;
  readonly u: Int32Array;
  dict: number[] = [];
  constructor(cap: number) {
    this.ts = new Float64Array(cap);
    this.h1 = new Int32Array(cap);
    this.h2 = new Int32Array(cap);
    this.u = new Int32Array(cap);
  }
}

/**
 * Buffers pageviews per bucket(url) and writes full blocks; `push` returns true when it filled a
 * block, and the caller must then `drain()` before pushing again (at most one block is full).
 */
export class PackedPageviewsWriter {
  rows = 0;
  private readonly blocks: OpenBlock[];
  private readonly ids = new Map<string, number>();
  private readonly urls: string[] = objectArray<string>();
  private urlBucket = new Int32Array(256);
  /** Per global URL id: its index in its bucket's open block dictionary + 1 (0 = not in it). */
  private local = new Int32Array(256);

  constructor(private readonly w: ShuffleWriter, private readonly bucketOf: (url: string) => number, private readonly cap = 16384) {
    this.blocks = Array.from({ length: w.buckets }, () => new OpenBlock(cap));
  }

  push(url: string, ts: number, h1: number, h2: number): boolean {
    return this.pushId(this.urlId(url), ts, h1, h2);
  }

  /** The id of a URL in this writer (what pushId takes), registered on first sight. */
  urlId(url: string): number {
    let g = this.ids.get(url);
    if (g === undefined) {
      g = this.urls.length;
      this.ids.set(url, g);
      this.urls.push(url);
      if (g >= this.local.length) {
        const a = new Int32Array(this.local.length * 2), b = new Int32Array(a.length);
        a.set(this.local);
        b.set(this.urlBucket);
        this.local = a;
        this.urlBucket = b;
      }
      this.urlBucket[g] = this.bucketOf(url);
    }
    return g;
  }

  /** push() of the URL with id g (from urlId). */
  pushId(g: number, ts: number, h1: number, h2: number): boolean {
    const blk = this.blocks[this.urlBucket[g]!]!;
    if (blk.n === this.cap) throw new DagctlError('INTERNAL', 'rollup packed writer: push into a full block (drain first)');
    let l = this.local[g]!;
    if (l === 0) {
      blk.dict.push(g);
      l = blk.dict.length;
      this.local[g] = l;
    }
    const i = blk.n++;
    blk.ts[i] = ts;
    blk.h1[i] = h1;
    blk.h2[i] = h2;
    blk.u[i] = l - 1;
    this.rows++;
    // No list of full blocks to update here: drain finds the one that filled (a list's push
    // ran first when a block filled, after V8 had compiled the callers' loops: a deopt each).
    return blk.n === this.cap;
  }

  /** Writes the full block (push returned true). */
  async drain(): Promise<void> {
    for (let b = 0; b < this.blocks.length; b++) if (this.blocks[b]!.n === this.cap) await this.write(b);
  }

  async flush(): Promise<void> {
    for (let b = 0; b < this.blocks.length; b++) if (this.blocks[b]!.n > 0) await this.write(b);
  }

  private async write(bucket: number): Promise<void> {
    const blk = this.blocks[bucket]!;
    const bytes = this.encode(blk);
    for (const g of blk.dict) this.local[g] = 0;
    blk.dict = [];
    blk.n = 0;
    await this.w.write(bucket, [{ block: bytes }]);
  }

  private encode(blk: OpenBlock): Uint8Array {
    const n = blk.n, d = blk.dict.length;
    const strs = blk.dict.map((g) => this.urls[g]!);
    const utf8 = encoder.encode(strs.join(''));
    const lensAt = 16, utf8At = lensAt + pad8(4 * d), tsAt = utf8At + pad8(utf8.length);
    const h1At = tsAt + 8 * n, h2At = h1At + pad8(4 * n), uAt = h2At + pad8(4 * n), end = uAt + pad8(4 * n);
    const buf = new Uint8Array(end);
    const ab = buf.buffer;
    new Uint32Array(ab, 0, 4).set([n, d, utf8.length, VERSION]);
    const lens = new Uint32Array(ab, lensAt, d);
    for (let k = 0; k < d; k++) lens[k] = strs[k]!.length;
    buf.set(utf8, utf8At);
    new Float64Array(ab, tsAt, n).set(blk.ts.subarray(0, n));
    new Int32Array(ab, h1At, n).set(blk.h1.subarray(0, n));
    new Int32Array(ab, h2At, n).set(blk.h2.subarray(0, n));
    new Int32Array(ab, uAt, n).set(blk.u.subarray(0, n));
    return buf;
  }
}

export interface PackedBlock {
  n: number;
  urls: string[];
  ts: Float64Array;
  h1: Int32Array;
  h2: Int32Array;
  /** Index into `urls` per row. */
  u: Int32Array;
}

/** Views over one block's bytes (copied first when they are not 8-aligned). */
export function decodePackedBlock(value: Uint8Array): PackedBlock {
  const bad = (why: string): DagctlError => new DagctlError('SHUFFLE_INVALID', `rollup packed block: ${why}`);
  if (value.byteLength < 16) throw bad('too short');
  const bytes = value.byteOffset % 8 === 0 ? value : value.slice();
  const ab = bytes.buffer, o = bytes.byteOffset;
  const [n, d, utf8Bytes, version] = new Uint32Array(ab, o, 4) as unknown as [number, number, number, number];
  if (version !== VERSION) throw bad(`version ${version}`);
  const lensAt = 16, utf8At = lensAt + pad8(4 * d), tsAt = utf8At + pad8(utf8Bytes);
  const h1At = tsAt + 8 * n, h2At = h1At + pad8(4 * n), uAt = h2At + pad8(4 * n), end = uAt + pad8(4 * n);
  if (end !== bytes.byteLength) throw bad('length');
  const lens = new Uint32Array(ab, o + lensAt, d);
  const joined = decoder.decode(bytes.subarray(utf8At, utf8At + utf8Bytes));
  const urls = new Array<string>(d);
  let p = 0;
  for (let k = 0; k < d; k++) {
    const len = lens[k]!;
    urls[k] = joined.slice(p, p + len);
    p += len;
  }
  if (p !== joined.length) throw bad('dictionary');
  const u = new Int32Array(ab, o + uAt, n);
  for (let i = 0; i < n; i++) if (u[i]! >>> 0 >= d) throw bad('url index');
  return { n, urls, ts: new Float64Array(ab, o + tsAt, n), h1: new Int32Array(ab, o + h1At, n), h2: new Int32Array(ab, o + h2At, n), u };
}
