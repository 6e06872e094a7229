/**
 * operators/normalize/byte-memo.ts against a Map keyed by the bytes (as latin1) that forgets
 * exactly when the memo's bounds say it must (fits(), a new generation): every find returns the
 * code last set for equal bytes, wherever in whichever buffer they lie, or MISSING for bytes not
 * set since it last forgot.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteMemo, hashBytes, MISSING } from '../../operators/normalize/byte-memo.js';

/** A deterministic pseudo-random byte (murmur3's finalizer of a counter). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) & 0xff;
}

/** Two different keys of `n` ≥ 5 bytes with equal hashBytes (a birthday search over pseudo-random keys). */
function collidingKeys(n: number): [Uint8Array, Uint8Array] {
  const seen = new Map<number, Uint8Array>();
  for (let i = 1; ; i++) {
    const k = Uint8Array.from({ length: n }, (_, j) => mix(i * 64 + j));
    const h = hashBytes(new DataView(k.buffer), k, 0, n);
    const other = seen.get(h);
    if (other !== undefined) return [other, k];
    seen.set(h, k);
  }
}

describe('operators/normalize/byte-memo', () => {
  it('finds exactly the codes set for equal bytes, forgetting all at its bounds and on clear (fast-check)', () => {
    // Short and long keys (the hash reads words, then a tail of up to 3 bytes), URL-like and
    // non-ASCII ones, and keys equal but for one byte anywhere (their words or their tails).
    const text = fc.oneof(fc.constantFrom('http://a.com/', 'http://a.com/x', 'http://b.com/', '', 'https://é.example/ü?b=1', 'http://a.com/0123456789abcdef0123456789abcdef/x?y=1'), fc.string({ maxLength: 70 }), fc.string({ unit: 'binary', maxLength: 20 }));
    const base = Buffer.from('http://example.com/path/segment?q=12');
    const nearby = fc.constantFrom(base, ...[0, 3, 4, 17, 31, 32, 33, 34, 35].map((at) => {
      const c = Uint8Array.from(base);
      c[at] = c[at]! ^ 0x01;
      return c;
    }), base.subarray(0, 33), base.subarray(0, 32)).map((b) => new Uint8Array(b));
    const key = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 90 }), text.map((s) => new Uint8Array(Buffer.from(s))), nearby);
    const op = fc.oneof(
      fc.record({ k: key, pad: fc.nat({ max: 9 }), code: fc.integer({ min: -5, max: 1 << 20 }) }),
      fc.constant('clear' as const),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 200 }), fc.array(op, { maxLength: 300 }), (maxEntries, maxBytes, ops) => {
      const memo = new ByteMemo(maxEntries, maxBytes);
      const model = new Map<string, number>();
      let used = 0;
      for (const o of ops) {
        if (o === 'clear') {
          const gen = memo.generation;
          memo.clear();
          assert.equal(memo.generation, gen + 1);
          model.clear();
          used = 0;
          continue;
        }
        // The key at an offset inside a larger buffer of other bytes.
        const buf = new Uint8Array(o.pad + o.k.length + 3).fill(0x5a);
        buf.set(o.k, o.pad);
        const name = Buffer.from(o.k).toString('latin1');
        const got = memo.find(buf, o.pad, o.k.length);
        assert.equal(got, model.get(name) ?? MISSING, `find ${JSON.stringify(name)}`);
        if (got !== MISSING) continue;
        const gen = memo.generation;
        const fits = memo.fits(o.k.length);
        memo.set(o.code);
        if (model.size === maxEntries || used + o.k.length > maxBytes) {
          assert.ok(!fits && memo.generation === gen + 1);
          model.clear();
          used = 0;
        } else assert.ok(fits && memo.generation === gen);
        if (o.k.length > maxBytes) continue;
        model.set(name, o.code);
        used += o.k.length;
        assert.equal(memo.size, model.size);
      }
    }), { numRuns: 300 });
  });

  it('tells apart keys whose hashes are equal, at every alignment in the buffer', () => {
    for (const n of [5, 8, 11, 21]) {
      const [a, b] = collidingKeys(n);
      assert.notDeepEqual(a, b);
      for (let pad = 0; pad < 4; pad++) {
        const memo = new ByteMemo(16, 1 << 10);
        const buf = new Uint8Array(pad + 2 * n).fill(0x5a);
        buf.set(a, pad);
        buf.set(b, pad + n);
        assert.equal(memo.find(buf, pad, n), MISSING);
        memo.set(7);
        assert.equal(memo.find(buf, pad + n, n), MISSING, `n=${n} pad=${pad}: b is not a`);
        memo.set(9);
        assert.equal(memo.find(a, 0, n), 7);
        assert.equal(memo.find(b, 0, n), 9);
      }
    }
  });
});
