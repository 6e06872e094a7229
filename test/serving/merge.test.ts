/**
 * serving/query.ts mergeSketches: the union straight from serialized bytes equals folding
 * HyperLogLog.merge (same bytes, same estimate) for sparse, dense and mixed lists of every
 * precision, on both paths for dense sketches (the WebAssembly SIMD kernel and the JS one); bad
 * bytes and mixed precisions are refused, and a refused merge leaves nothing behind in the scratch
 * the next merge reuses.
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
        const got = mergeSketches(bytes, { bytes: true });
        assert.deepEqual(got.bytes, want.serialize());
        assert.equal(got.uniques, want.count());
        // The estimate alone (the query path without sketches): the same.
        assert.equal(mergeSketches(bytes).uniques, want.count());
        // Dense registers are maxed four at a time when 4-byte aligned, one at a time otherwise (Redis buffers).
        const unaligned = bytes.map((b) => {
          const buf = new Uint8Array(b.length + 1);
          buf.set(b, 1);
          return buf.subarray(1);
        });
        assert.deepEqual(mergeSketches(unaligned, { bytes: true }).bytes, want.serialize());
      }),
      { numRuns: 150 },
    );
  });

  /** Dense sketch bytes with random registers (skewed like real ranks) of precision p. */
  const denseBytes = (p: number, seed: number): Uint8Array => {
    const m = 1 << p, b = new Uint8Array(4 + m);
    b.set([0x48, 1, p, 1]);
    let x = seed | 1;
    for (let i = 0; i < m; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const r = x >>> 0;
      b[4 + i] = r % 1000 === 0 ? 64 - p + 1 : (r >>> 10) % (r % 3 === 0 ? 4 : 20);
    }
    return b;
  };

  it('dense-heavy mixes: kernel and JS paths give the bytes and estimate of HyperLogLog.merge', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 5, 8, 10, 12, 14, 16),
        fc.array(fc.oneof(fc.record({ dense: fc.constant(true), seed: fc.integer() }), fc.record({ dense: fc.constant(false), seed: fc.integer({ min: 0, max: 1e6 }), n: fc.integer({ min: 0, max: 60 }) })), { minLength: 1, maxLength: 30 }),
        (p, parts) => {
          const bytes = parts.map((q) => {
            if (q.dense) return denseBytes(p, q.seed);
            const h = new HyperLogLog(p);
            for (let i = 0; i < q.n; i++) h.add(`s${q.seed + i}`);
            return h.serialize();
          });
          const want = HyperLogLog.deserialize(bytes[0]!);
          for (const b of bytes.slice(1)) want.merge(HyperLogLog.deserialize(b));
          for (const kernel of [true, false]) {
            const got = mergeSketches(bytes, { bytes: true, kernel });
            assert.deepEqual(got.bytes, want.serialize());
            assert.equal(got.uniques, want.count());
            assert.equal(mergeSketches(bytes, { kernel }).uniques, want.count());
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('more dense sketches than the kernel stages at once (p = 16: several batches)', () => {
    const bytes = Array.from({ length: 75 }, (_, i) => denseBytes(16, i * 7919 + 1));
    const want = HyperLogLog.deserialize(bytes[0]!);
    for (const b of bytes.slice(1)) want.merge(HyperLogLog.deserialize(b));
    const got = mergeSketches(bytes, { bytes: true });
    assert.deepEqual(got.bytes, want.serialize());
    assert.equal(got.uniques, want.count());
    assert.equal(mergeSketches(bytes, { kernel: false }).uniques, want.count());
  });

  it('refuses bad bytes and mixed precisions', () => {
    const dense = new HyperLogLog(4);
    for (let i = 0; i < 1000; i++) dense.add(`x${i}`);
    const other = new HyperLogLog(5);
    other.add('y');
    assert.throws(() => mergeSketches([dense.serialize(), other.serialize()]), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    assert.throws(() => mergeSketches([dense.serialize(), dense.serialize().subarray(0, 10)]), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
  });

  it('refuses out-of-range registers and leaves no trace for the next merge (its scratch is reused)', () => {
    const sparse = new HyperLogLog(10);
    for (let i = 0; i < 3; i++) sparse.add(`s${i}`);
    const dense = new HyperLogLog(10);
    for (let i = 0; i < 1000; i++) dense.add(`x${i}`);
    const badDense = dense.serialize();
    badDense[4 + 7] = 64 - 10 + 2; // past the highest rank of p = 10
    const badSparse = sparse.serialize();
    badSparse[8 + 4] = 41; // a sparse rank past 40
    assert.throws(() => mergeSketches([sparse.serialize(), badDense]), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    assert.throws(() => mergeSketches([sparse.serialize(), badDense], { kernel: false }), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    const denseAlone = mergeSketches([dense.serialize()], { bytes: true });
    assert.deepEqual(denseAlone.bytes, dense.serialize());
    assert.equal(denseAlone.uniques, dense.count());
    assert.throws(() => mergeSketches([dense.serialize(), sparse.serialize(), badSparse]), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    assert.equal(sparse.serialize()[3], 0);
    const alone = HyperLogLog.deserialize(sparse.serialize());
    const got = mergeSketches([sparse.serialize()], { bytes: true });
    assert.deepEqual(got.bytes, alone.serialize());
    assert.equal(got.uniques, alone.count());
  });
});
