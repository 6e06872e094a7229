/**
 * Bloom filter with the optimal size for n keys at false-positive rate p:
 *   m = ⌈−n·ln p / (ln 2)²⌉ bits, k = round(m/n · ln 2) hash functions,
 * and Kirsch–Mitzenmacher double hashing g_i = h1 + i·h2 (mod m) over MurmurHash3 x86_128's
 * first two words (h2 forced odd so the probe sequence never degenerates). Arithmetic is exact in
 * doubles (h1 + i·h2 < 2^38). Serialized form: 'B' 1 k 0, u32 m, u32 n, then the bit words.
 */
import { DagctlError } from '../../../core/errors.js';
import { hashString, murmur3x86_128 } from './murmur3.js';

const out = new Uint32Array(4);
/** hasBytes' copy of the probed value (murmur3x86_128 hashes from index 0). */
let scratch = new Uint8Array(256);

export function optimalBloomSize(n: number, p: number): { m: number; k: number } {
  if (!(p > 0 && p < 1)) throw new DagctlError('OPERATOR_PARAMS_INVALID', `bloom false-positive rate ${p} not in (0, 1)`);
  const nn = Math.max(1, n);
  const m = Math.max(64, Math.ceil((-nn * Math.log(p)) / (Math.LN2 * Math.LN2)));
  const k = Math.min(30, Math.max(1, Math.round((m / nn) * Math.LN2)));
  if (m > 0xffffffff) throw new DagctlError('OPERATOR_PARAMS_INVALID', `bloom filter of ${m} bits is too large`);
  return { m, k };
}

export class BloomFilter {
  readonly m: number;
  readonly k: number;
  private readonly words: Uint32Array;
  /** Keys added (with repeats). */
  n = 0;

  constructor(m: number, k: number, words?: Uint32Array) {
    this.m = m;
    this.k = k;
    this.words = words ?? new Uint32Array(Math.ceil(m / 32));
  }

  static forCapacity(n: number, p: number): BloomFilter {
    const { m, k } = optimalBloomSize(n, p);
    return new BloomFilter(m, k);
  }

  add(key: string): void {
    hashString(key, out);
    const h1 = out[0]!, h2 = (out[1]! | 1) >>> 0, m = this.m, w = this.words;
    for (let i = 0; i < this.k; i++) {
      const bit = (h1 + i * h2) % m;
      w[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.n++;
  }

  has(key: string): boolean {
    hashString(key, out);
    const h1 = out[0]!, h2 = (out[1]! | 1) >>> 0, m = this.m, w = this.words;
    for (let i = 0; i < this.k; i++) {
      const bit = (h1 + i * h2) % m;
      if ((w[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /**
   * has() on raw UTF-8 bytes bytes[start, start+len) — e.g. a value inside a decoded Parquet page —
   * without building a JS string. Agrees with has(s) for the string s whose UTF-8 encoding those
   * bytes are, because hashString hashes a string's UTF-8 bytes (murmur3.ts).
   */
  hasBytes(bytes: Uint8Array, start: number, len: number): boolean {
    if (scratch.length < len) scratch = new Uint8Array(Math.max(len, scratch.length * 2));
    const s = scratch;
    for (let i = 0; i < len; i++) s[i] = bytes[start + i]!;
    murmur3x86_128(s, len, 0, out);
    return this.test(out[0]!, (out[1]! | 1) >>> 0);
  }

  private test(h1: number, h2: number): boolean {
    const m = this.m, w = this.words;
    for (let i = 0; i < this.k; i++) {
      const bit = (h1 + i * h2) % m;
      if ((w[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  serialize(): Uint8Array {
    const buf = new Uint8Array(12 + this.words.length * 4);
    const dv = new DataView(buf.buffer);
    buf.set([0x42, 1, this.k, 0]);
    dv.setUint32(4, this.m, true);
    dv.setUint32(8, this.n, true);
    for (let i = 0; i < this.words.length; i++) dv.setUint32(12 + i * 4, this.words[i]!, true);
    return buf;
  }

  static deserialize(bytes: Uint8Array): BloomFilter {
    if (bytes.length < 12 || bytes[0] !== 0x42 || bytes[1] !== 1) throw new DagctlError('OPERATOR_INPUT_INVALID', 'invalid bloom filter bytes');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const k = bytes[2]!;
    const m = dv.getUint32(4, true);
    const nw = Math.ceil(m / 32);
    if (k < 1 || m < 1 || bytes.length !== 12 + nw * 4) throw new DagctlError('OPERATOR_INPUT_INVALID', 'invalid bloom filter length');
    const words = new Uint32Array(nw);
    for (let i = 0; i < nw; i++) words[i] = dv.getUint32(12 + i * 4, true);
    const f = new BloomFilter(m, k, words);
    f.n = dv.getUint32(8, true);
    return f;
  }
}
