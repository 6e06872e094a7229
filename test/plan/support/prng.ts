/**
 * Seeded randomness for reproducible tests: the generator's mulberry32 (gen/prng.ts) and a
 * Box–Muller normal on top of it.
 */
export { mulberry32 } from '../../../gen/prng.js';

export function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
