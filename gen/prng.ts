/**
 * Deterministic pseudo-random numbers for the data generator: mulberry32 (32-bit state, fast,
 * good enough for synthetic data) seeded from a string key hashed with FNV-1a, so any
 * (seed, kind, date, person) tuple gets its own independent, reproducible stream.
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
  const u = r();
  return Math.min(n - 1, Math.floor(n * u * u * Math.sqrt(u))); // u ** 2.5, without Math.pow
}
