/**
 * lib/intern.ts against a Map<string, number> oracle: dense first-seen ints, the same int for
 * equal strings however they were built (fresh copies, as decoded from Parquet), growth from a
 * tiny capacity, forced 32-bit hash collisions compared by content, and non-ASCII code units.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Interner } from '../../operators/lib/intern.js';

function oracle(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of xs) if (!m.has(s)) m.set(s, m.size);
  return m;
}

describe('lib/intern', () => {
  it('matches a Map oracle on random strings, through growth (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 12, unit: 'binary' }), { maxLength: 400 }), (xs) => {
      const it = new Interner(1);
      const m = oracle(xs);
      for (const s of xs) assert.equal(it.id(s), m.get(s));
      assert.equal(it.size, m.size);
      for (const [s, i] of m) {
        assert.equal(it.name(i), s);
        assert.equal(it.get(s.slice()), i);
      }
      assert.equal(it.get('\u0000never-interned\u0000'), m.get('\u0000never-interned\u0000') ?? -1);
    }), { numRuns: 200 });
  });

  it('200k ids: fresh copies map to the same ints; missing strings are −1', () => {
    const it = new Interner();
    for (let i = 0; i < 200_000; i++) assert.equal(it.id(`user:${i}`), i);
    for (let i = 0; i < 200_000; i += 997) assert.equal(it.id(Buffer.from(`user:${i}`).toString()), i);
    assert.equal(it.size, 200_000);
    assert.equal(it.get('user:200000'), -1);
    assert.equal(it.get('user:1'), 1);
  });

  it('strings with equal 32-bit hashes stay distinct (compared by content)', () => {
    // Brute-force a collision of the full 32-bit hash among short strings (birthday bound ~2^16).
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const s = `k${i.toString(36)}`;
      const h = Interner.hash(s);
      const other = seen.get(h);
      if (other !== undefined) pair = [other, s];
      else seen.set(h, s);
    }
    const [a, b] = pair;
    assert.equal(Interner.hash(a), Interner.hash(b));
    const it = new Interner(4);
    assert.equal(it.id(a), 0);
    assert.equal(it.get(b), -1);
    assert.equal(it.id(b), 1);
    assert.equal(it.id(a), 0);
    assert.equal(it.id(b), 1);
  });
});
