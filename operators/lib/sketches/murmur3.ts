/**
 * MurmurHash3 x86_128 (Austin Appleby), written with 32-bit integer ops only (Math.imul, >>>), so
 * it is BigInt-free and fast in V8. It yields 128 bits as four uint32 words; HyperLogLog uses the
 * first 64 bits (h1, h2) and the Bloom filter uses h1/h2 for double hashing. Strings are hashed
 * over their UTF-8 bytes (an ASCII fast path skips TextEncoder).
 * Verified against SMHasher's verification value 0xB3ECE62A (test/operators/murmur3.test.ts).
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Hashes bytes[off..off+len) with `seed`; writes the 4 uint32 words (h1..h4) into `out`. `off`
 * lets callers hash a value inside a page (rollup hashes Parquet's raw UTF-8 without a string).
 */
export function murmur3x86_128(bytes: Uint8Array, len: number, seed: number, out: Uint32Array, off = 0): void {
  let h1 = seed | 0, h2 = seed | 0, h3 = seed | 0, h4 = seed | 0;
  const nblocks = len >>> 4;
  let i = off;
  for (let b = 0; b < nblocks; b++, i += 16) {
    let k1 = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    let k2 = (bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24));
    let k3 = (bytes[i + 8]! | (bytes[i + 9]! << 8) | (bytes[i + 10]! << 16) | (bytes[i + 11]! << 24));
    let k4 = (bytes[i + 12]! | (bytes[i + 13]! << 8) | (bytes[i + 14]! << 16) | (bytes[i + 15]! << 24));
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2); h1 ^= k1;
    h1 = rotl(h1, 19); h1 = (h1 + h2) | 0; h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3); h2 ^= k2;
    h2 = rotl(h2, 17); h2 = (h2 + h3) | 0; h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4); h3 ^= k3;
    h3 = rotl(h3, 15); h3 = (h3 + h4) | 0; h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1); h4 ^= k4;
    h4 = rotl(h4, 13); h4 = (h4 + h1) | 0; h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  let k1 = 0, k2 = 0, k3 = 0, k4 = 0;
  const t = i;
  // Tail: byte j of the last <16 bytes goes into word k(j>>2) at bit (j&3)*8; words mixed as in
  // the reference switch (written without fall-through, which the compiler settings forbid).
  const rem = len & 15;
  for (let j = rem - 1; j >= 0; j--) {
    const v = bytes[t + j]! << ((j & 3) * 8);
    if (j >= 12) k4 ^= v;
    else if (j >= 8) k3 ^= v;
    else if (j >= 4) k2 ^= v;
    else k1 ^= v;
  }
  if (rem > 12) { k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1); h4 ^= k4; }
  if (rem > 8) { k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4); h3 ^= k3; }
  if (rem > 4) { k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3); h2 ^= k2; }
  if (rem > 0) { k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2); h1 ^= k1; }
  h1 ^= len; h2 ^= len; h3 ^= len; h4 ^= len;
  h1 = (h1 + h2) | 0; h1 = (h1 + h3) | 0; h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = fmix(h1); h2 = fmix(h2); h3 = fmix(h3); h4 = fmix(h4);
  h1 = (h1 + h2) | 0; h1 = (h1 + h3) | 0; h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  out[0] = h1; out[1] = h2; out[2] = h3; out[3] = h4;
}

let scratch = new Uint8Array(256);
const encoder = new TextEncoder();

/** Hashes a string's UTF-8 bytes into `out` (4 words). Reuses one scratch buffer: not re-entrant. */
export function hashString(s: string, out: Uint32Array, seed = 0): void {
  const n = s.length;
  if (scratch.length < n * 3) scratch = new Uint8Array(Math.max(n * 3, scratch.length * 2));
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) { ascii = false; break; }
    scratch[i] = c;
  }
  const len = ascii ? n : encoder.encodeInto(s, scratch).written;
  murmur3x86_128(scratch, len, seed, out);
}
