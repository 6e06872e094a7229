/**
 * Packed edge chunks: how equiv-components hands its edge set from one stage (or round) to the
 * next. A shuffle row is one `bytes` value holding many edges, each endpoint as
 * [u32 little-endian byte length][UTF-8 bytes] — copied from and staged back into a ByteInterner (or the WebAssembly kernel's ids, lib/byte-ids.ts)
 * (lib/byte-intern.ts) without a JS string or a row object per edge (a row of two strings per
 * edge cost an encode, a decode and an object per edge, every round).
 * EdgeChunkWriter buffers one chunk per bucket and writes it as a row when it reaches CHUNK_BYTES;
 * readEdgeChunk walks a chunk. A malformed chunk is SHUFFLE_INVALID.
 */
import { DagctlError } from '../../core/errors.js';
import type { Schema } from '../../storage/types.js';
import type { ShuffleWriter } from '../types.js';
import type { ByteIds } from './byte-ids.js';

export const EDGE_CHUNK_SCHEMA: Schema = [{ name: 'edges', type: 'bytes' }];

/** Bytes per chunk before it is written (a shuffle block holds a handful of them). */
export const CHUNK_BYTES = 1 << 18;

export class EdgeChunkWriter {
  private readonly bufs: Uint8Array[];
  private readonly used: Int32Array;
  private full: number[] = [];
  edges = 0;

  constructor(private readonly w: ShuffleWriter, private readonly chunkBytes = CHUNK_BYTES) {
    this.bufs = Array.from({ length: w.buckets }, () => new Uint8Array(0));
    this.used = new Int32Array(w.buckets);
  }

  /** Appends the edge (ids' x, ids' y) to `bucket`'s chunk; true when a chunk is full (drain()). */
  push(bucket: number, ids: ByteIds, x: number, y: number): boolean {
    const lx = ids.byteLength(x), ly = ids.byteLength(y);
    let at = this.used[bucket]!;
    const need = at + 8 + lx + ly;
    let buf = this.bufs[bucket]!;
    if (need > buf.length) {
      // First use: room for a whole chunk (one allocation, no regrowth); later only for an edge
      // of ids longer than the chunk's remaining room.
      const b = new Uint8Array(Math.max(need + (at === 0 ? 0 : this.chunkBytes), this.chunkBytes + 1024));
      b.set(buf.subarray(0, at));
      buf = this.bufs[bucket] = b;
    }
    buf[at] = lx; buf[at + 1] = lx >>> 8; buf[at + 2] = lx >>> 16; buf[at + 3] = lx >>> 24;
    at = ids.copyBytes(x, buf, at + 4);
    buf[at] = ly; buf[at + 1] = ly >>> 8; buf[at + 2] = ly >>> 16; buf[at + 3] = ly >>> 24;
    at = ids.copyBytes(y, buf, at + 4);
    this.used[bucket] = at;
    this.edges++;
    if (at >= this.chunkBytes) this.full.push(bucket);
    return this.full.length > 0;
  }

  private async write(b: number): Promise<void> {
    const n = this.used[b]!;
    if (n === 0) return;
    // The chunk is handed over (the writer may keep it: the test harness keeps rows as they
    // are); the bucket starts a new buffer on its next push.
    const chunk = this.bufs[b]!.subarray(0, n);
    this.bufs[b] = new Uint8Array(0);
    this.used[b] = 0;
    await this.w.write(b, [{ edges: chunk }]);
  }

  /** Writes the full chunks. */
  async drain(): Promise<void> {
    const full = this.full;
    this.full = [];
    for (const b of full) await this.write(b);
  }

  /** Writes every non-empty chunk. */
  async flush(): Promise<void> {
    this.full = [];
    for (let b = 0; b < this.bufs.length; b++) await this.write(b);
  }
}

const bad = (why: string): DagctlError => new DagctlError('SHUFFLE_INVALID', `equiv-components edge chunk: ${why}`);

/** Calls fn(buf, aOff, aLen, bOff, bLen) for every edge of `chunk`; returns the edge count. */
export function readEdgeChunk(chunk: unknown, fn: (buf: Uint8Array, ao: number, al: number, bo: number, bl: number) => void): number {
  if (!(chunk instanceof Uint8Array)) throw bad('not bytes');
  const n = chunk.length;
  let p = 0, edges = 0;
  while (p < n) {
    if (p + 4 > n) throw bad('truncated');
    const al = (chunk[p]! | (chunk[p + 1]! << 8) | (chunk[p + 2]! << 16) | (chunk[p + 3]! << 24)) >>> 0;
    const ao = p + 4;
    p = ao + al;
    if (p + 4 > n) throw bad('truncated');
    const bl = (chunk[p]! | (chunk[p + 1]! << 8) | (chunk[p + 2]! << 16) | (chunk[p + 3]! << 24)) >>> 0;
    const bo = p + 4;
    p = bo + bl;
    if (p > n) throw bad('truncated');
    fn(chunk, ao, al, bo, bl);
    edges++;
  }
  return edges;
}
