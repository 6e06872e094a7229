/**
 * Split-block Bloom filter (the layout of Parquet's SBBF): the bit array is cut into 256-bit
 * blocks of eight 32-bit words; a key picks one block and sets (tests) one bit in each of its
 * eight words, so a lookup touches one cache line and needs one 32-bit hash — MurmurHash3 x86_32
 * of the key's UTF-8 bytes, read in place (no copy). Made for probing raw Parquet byte values:
 * partial-recompute's Bloom join tests every master person this way (lib/late-scan.ts), where
 * lib/bloom.ts (128-bit hash over a copy, k probes over the whole array) cost ~0.1 µs per value.
 * Sizing: the classic filter's bits for (n, p) (lib/bloom.ts optimalBloomSize) plus 25% (a split
 * block filter needs a few more bits for the same rate), in whole blocks.
 * has(s) == hasBytes(utf8(s)) for every string s (strings are hashed over their UTF-8 encoding,
 * TextEncoder's, lone surrogates as U+FFFD; test/operators/late-scan.test.ts).
 * probeRanges(bytes, start, len, count, hits) tests a whole page of values in one call (the hot loop
 * of lib/late-scan.ts: the hash and the block test inlined, 4-byte loads through a DataView, the
 * words read as int32 — a per-value closure → hasBytes → murmur3x86_32 → test chain cost ~2.5×).
 * Same answers as hasBytes value by value (test/operators/late-scan.test.ts). The page kernel
 * (native/pages.c probePlain, via layout()) runs the same hash and test on whole compressed pages.
 * Serialized form: 'S' 1 0 0, u32 blocks, u32 n (keys added), then the words (little-endian).
 */
import { DagctlError } from '../../core/errors.js';
import { optimalBloomSize } from '../lib/sketches/bloom.js';
import type { BloomWords } from '../../storage/parquet/page-kernel.js';

/** Odd multipliers (Parquet's SBBF salts): word i of a block gets bit (h2 · SALT[i]) >>> 27. */
const SALT = new Uint32Array([0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31]);
/** SALT as int32 (Math.imul reads its operands as int32 either way). */
const SALT_I = new Int32Array(SALT.buffer);
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** MurmurHash3 x86_32 of bytes[start, start+len), seed 0, as a uint32. */
export function murmur3x86_32(bytes: Uint8Array, start: number, len: number): number {
  let h = 0;
  const end4 = start + (len & ~3);
  let i = start;
  for (; i < end4; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = bytes[i]!;
    if (tail > 1) k ^= bytes[i + 1]! << 8;
    if (tail > 2) k ^= bytes[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A second, independent-looking 32-bit value from h (for the in-block bits). */
function rehash(h: number): number {
  let x = (h ^ 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d);
  x = Math.imul(x ^ (x >>> 12), 0x297a2d39);
  return (x ^ (x >>> 15)) >>> 0;
}

export class SplitBlockBloom {
  readonly blocks: number;
  private readonly words: Uint32Array;
  /** The same bits as int32 (probeRanges: no uint32 → double conversions in the hot loop). */
  private readonly iwords: Int32Array;
  /** Keys added (with repeats). */
  n = 0;

  constructor(blocks: number, words?: Uint32Array) {
    this.blocks = blocks;
    this.words = words ?? new Uint32Array(blocks * 8);
    this.iwords = new Int32Array(this.words.buffer, this.words.byteOffset, this.words.length);
  }

  static forCapacity(n: number, p: number): SplitBlockBloom {
    const { m } = optimalBloomSize(n, p);
    return new SplitBlockBloom(Math.max(1, Math.ceil((m * 1.25) / 256)));
  }

  private static utf8(key: string): number {
    // UTF-8 is at most 3 bytes per UTF-16 unit.
    if (scratch.length < key.length * 3) scratch = new Uint8Array(Math.max(key.length * 3, scratch.length * 2));
    return encoder.encodeInto(key, scratch).written;
  }

  add(key: string): void {
    const len = SplitBlockBloom.utf8(key);
    this.addHash(murmur3x86_32(scratch, 0, len));
  }

  has(key: string): boolean {
    const len = SplitBlockBloom.utf8(key);
    return this.test(murmur3x86_32(scratch, 0, len));
  }

  /** has() on the raw UTF-8 bytes bytes[start, start+len), without building a string. */
  hasBytes(bytes: Uint8Array, start: number, len: number): boolean {
    return this.test(murmur3x86_32(bytes, start, len));
  }

  /**
   * hasBytes for values i < count of one page (value i = bytes[start[i], start[i] + len[i]), in
   * bounds: the caller's page split checked them): appends the indices i that pass to `hits` from
   * index `at` (room: count) and returns the new end.
   */
  probeRanges(bytes: Uint8Array, start: Int32Array, len: Int32Array, count: number, hits: Int32Array, at: number): number {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const w = this.iwords, blocks = this.blocks;
    const s0 = SALT_I[0]!, s1 = SALT_I[1]!, s2 = SALT_I[2]!, s3 = SALT_I[3]!, s4 = SALT_I[4]!, s5 = SALT_I[5]!, s6 = SALT_I[6]!, s7 = SALT_I[7]!;
    let nh = at;
    for (let v = 0; v < count; v++) {
      const st = start[v]!, ln = len[v]!;
      // MurmurHash3 x86_32, the same as murmur3x86_32 (tests hold them equal) but written out here:
      // blocks as little-endian int32 loads and no call per value are most of this method's gain.
      let h = 0, i = st;
      const end4 = st + (ln & ~3);
      for (; i < end4; i += 4) {
        let k = dv.getInt32(i, true);
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, 0x1b873593);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      const tail = ln & 3;
      if (tail > 0) {
        let k = bytes[i]!;
        if (tail > 1) k ^= bytes[i + 1]! << 8;
        if (tail > 2) k ^= bytes[i + 2]! << 16;
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, 0x1b873593);
        h ^= k;
      }
      h ^= ln;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      // test(h >>> 0): the block, then one bit per word (rehash inlined, as int32).
      // floor((h / 2^32) · blocks) · 8 as test() computes it (scaling by 2^-32 is exact, and the
      // value is a non-negative int32, so | 0 floors).
      const base = (((h >>> 0) * blocks * 2.3283064365386963e-10) | 0) * 8;
      let x = h ^ 0x9e3779b9;
      x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d);
      x = Math.imul(x ^ (x >>> 12), 0x297a2d39);
      x = x ^ (x >>> 15);
      // All eight words, no early exit: a miss fails at an unpredictable word, and the branches
      // cost more than the loads (measured).
      const ok = (w[base]! >>> (Math.imul(x, s0) >>> 27)) & (w[base + 1]! >>> (Math.imul(x, s1) >>> 27)) & (w[base + 2]! >>> (Math.imul(x, s2) >>> 27)) & (w[base + 3]! >>> (Math.imul(x, s3) >>> 27))
        & (w[base + 4]! >>> (Math.imul(x, s4) >>> 27)) & (w[base + 5]! >>> (Math.imul(x, s5) >>> 27)) & (w[base + 6]! >>> (Math.imul(x, s6) >>> 27)) & (w[base + 7]! >>> (Math.imul(x, s7) >>> 27));
      if ((ok & 1) === 0) continue;
      hits[nh++] = v;
    }
    return nh;
  }

  /** The filter's blocks and words, for storage/parquet/page-kernel.ts probePlainPage (read-only). */
  layout(): BloomWords {
    return { blocks: this.blocks, words: this.words };
  }

  private addHash(h: number): void {
    const base = Math.floor((h / 4294967296) * this.blocks) * 8, h2 = rehash(h), w = this.words;
    for (let i = 0; i < 8; i++) w[base + i]! |= 1 << (Math.imul(h2, SALT[i]!) >>> 27);
    this.n++;
  }

  private test(h: number): boolean {
    const base = Math.floor((h / 4294967296) * this.blocks) * 8, h2 = rehash(h), w = this.words;
    for (let i = 0; i < 8; i++) if ((w[base + i]! & (1 << (Math.imul(h2, SALT[i]!) >>> 27))) === 0) return false;
    return true;
  }

  serialize(): Uint8Array {
    const buf = new Uint8Array(12 + this.words.length * 4);
    const dv = new DataView(buf.buffer);
    buf.set([0x53, 1, 0, 0]);
    dv.setUint32(4, this.blocks, true);
    dv.setUint32(8, this.n, true);
    for (let i = 0; i < this.words.length; i++) dv.setUint32(12 + i * 4, this.words[i]!, true);
    return buf;
  }

  static deserialize(bytes: Uint8Array): SplitBlockBloom {
    if (bytes.length < 12 || bytes[0] !== 0x53 || bytes[1] !== 1) throw new DagctlError('OPERATOR_INPUT_INVALID', 'invalid split-block bloom filter bytes');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const blocks = dv.getUint32(4, true);
    if (blocks < 1 || bytes.length !== 12 + blocks * 32) throw new DagctlError('OPERATOR_INPUT_INVALID', 'invalid split-block bloom filter length');
    const words = new Uint32Array(blocks * 8);
    for (let i = 0; i < words.length; i++) words[i] = dv.getUint32(12 + i * 4, true);
    const f = new SplitBlockBloom(blocks, words);
    f.n = dv.getUint32(8, true);
    return f;
  }
}
