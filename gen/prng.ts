/**
 * Deterministic pseudo-random numbers for the data generator: mulberry32 (32-bit state, fast,
 * good enough for synthetic data) seeded from a string key hashed with FNV-1a, so any
 * (seed, kind, date, person) tuple gets its own independent, reproducible stream.
 *
 * For hot paths without strings or closures: a key's FNV-1a state can be carried on from a
 * precomputed prefix (KeyPrefix: the same key rngFor would hash), and mulberry32 is a counter, so
 * draw i of a stream is a pure function of (key, i) (drawAt) — equal to the stream's (i + 1)-th r().
 */
import { fnv1a32 } from '../core/hash.js';

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream keyed by its parts, e.g. rngFor(seed, 'person', k). */
export function rngFor(...parts: (string | number)[]): Rng {
  return mulberry32(fnv1a32(parts.join('\u0001')));
}

const FNV_PRIME = 0x01000193;

/** Draw i (0-based) of mulberry32(key): its state after i + 1 steps is key + (i + 1)·0x6d2b79f5. */
export function drawAt(key: number, i: number): number {
  return bitsAt(key, i) / 4294967296;
}

/** drawAt's 32 bits (drawAt = bitsAt / 2^32, so Math.floor(drawAt · 2^k) = bitsAt >>> (32 − k)). */
export function bitsAt(key: number, i: number): number {
  let t = (key + Math.imul(i + 1, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/**
 * rngFor's key for parts (...prefix, n) or (...prefix, n, m) with non-negative integers n, m,
 * hashed from the prefix's FNV-1a state (no string built): keyOf(n) === fnv1a32([...prefix, n].join('\u0001')).
 */
export class KeyPrefix {
  private readonly h: number;
  constructor(...prefix: (string | number)[]) {
    let h = 0x811c9dc5 | 0;
    const s = prefix.join('\u0001') + '\u0001';
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
    this.h = h;
  }
  keyOf(n: number): number {
    return fnvDigits(this.h, n) >>> 0;
  }
  keyOf2(n: number, m: number): number {
    return fnvDigits(Math.imul(fnvDigits(this.h, n) ^ 1, FNV_PRIME), m) >>> 0;
  }
}

/** FNV-1a state h carried on over the decimal digits of the non-negative integer n. */
function fnvDigits(h: number, n: number): number {
  if (n >= 10) h = fnvDigits(h, Math.floor(n / 10));
  return Math.imul(h ^ (48 + (n % 10)), FNV_PRIME);
}

export function int(r: Rng, n: number): number {
  return Math.floor(r() * n);
}

export function pick<T>(r: Rng, xs: readonly T[]): T {
  const x = xs[int(r, xs.length)];
  if (x === undefined) throw new Error('pick from empty list');
  return x;
}

const HEX = '0123456789abcdef';

/** `chars` lowercase hex digits, 4 per draw (as toString(16).padStart(4, '0') would write them). */
export function hex(r: Rng, chars: number): string {
  let s = '';
  while (s.length < chars) {
    const x = Math.floor(r() * 0x10000);
    s += HEX[x >>> 12]! + HEX[(x >>> 8) & 15]! + HEX[(x >>> 4) & 15]! + HEX[x & 15]!;
  }
  return s.slice(0, chars);
}

/** Skewed choice in [0, n): a few popular values, a long tail (power-law-ish). */
export function skewed(r: Rng, n: number): number {
  return skewedOf(r(), n);
}

/** skewed() of the draw u. */
export function skewedOf(u: number, n: number): number {
  return Math.min(n - 1, Math.floor(n * u * u * Math.sqrt(u))); // u ** 2.5, without Math.pow
}
