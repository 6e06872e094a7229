/**
 * serving/query.ts mergeSketches: the union straight from serialized bytes equals folding
 * HyperLogLog.merge (same bytes, so the same estimate) for sparse, dense and mixed lists of every
 * precision; bad bytes and mixed precisions are refused.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { mergeSketches } from '../../serving/query.js';

describe('serving mergeSketches', () => {
  it('equals folding HyperLogLog.merge, byte for byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 16 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 6 }).map((l) => l.map(([o, n]): [number, number] => [o, n % 7 === 0 ? n : n % 300])), (p, parts) => {
        const bytes = parts.map(([off, n]) => {
          const h = new HyperLogLog(p);
          for (let i = 0; i < n; i++) h.add(`p${off * 3 + i}`);
          return h.serialize();
        });
        const want = HyperLogLog.deserialize(bytes[0]!);
        for (const b of bytes.slice(1)) want.merge(HyperLogLog.deserialize(b));
        const got = mergeSketches(bytes);
        assert.deepEqual(got.serialize(), want.serialize());
        assert.equal(got.count(), want.count());
        // Dense registers are maxed four at a time when 4-byte aligned, one at a time otherwise (Redis buffers).
        const unaligned = bytes.map((b) => {
          const buf = new Uint8Array(b.length + 1);
          buf.set(b, 1);
          return buf.subarray(1);
        });
        assert.deepEqual(mergeSketches(unaligned).serialize(), want.serialize());
      }),
      { numRuns: 150 },
    );
  });

  it('refuses bad bytes and mixed precisions', () => {
    const dense = new HyperLogLog(4);
    for (let i = 0; i < 1000; i++) dense.add(`x${i}`);
    const other = new HyperLogLog(5);
    other.add('y');
    assert.throws(() => mergeSketches([dense.serialize(), other.serialize()]), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    assert.throws(() => mergeSketches([dense.serialize(), dense.serialize().subarray(0, 10)]), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
  });
});
