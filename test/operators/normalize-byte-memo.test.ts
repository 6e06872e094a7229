/**
 * operators/normalize/byte-memo.ts against a Map keyed by the bytes (as latin1) that forgets
 * exactly when the memo's bounds say it must (fits(), a new generation): every find returns the
 * code last set for equal bytes, wherever in whichever buffer they lie, or MISSING for bytes not
 * set since it last forgot.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteMemo, MISSING } from '../../operators/normalize/byte-memo.js';

describe('operators/normalize/byte-memo', () => {
  it('finds exactly the codes set for equal bytes, forgetting all at its bounds and on clear (fast-check)', () => {
    const key = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.constantFrom('http://a.com/', 'http://a.com/x', 'http://b.com/', '').map((s) => new Uint8Array(Buffer.from(s))));
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
});
