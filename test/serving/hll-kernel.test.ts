/**
 * serving/hll-kernel.ts (native/hll.c): the staged dense registers' max and the histogram of the
 * result equal a plain per-byte reference, for every precision and any number of staged sketches
 * up to the stage's capacity, over batches; and the embedded module is built from the current C
 * source (byte for byte, where clang 14 is installed).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { hllKernel } from '../../serving/hll-kernel.js';
import { HLL_SOURCE_SHA256 } from '../../serving/wasm/hll-wasm.js';

describe('hll kernel (WebAssembly SIMD dense merge)', () => {
  it('maxStaged + maxHist equal a per-byte max and count', () => {
    const k = hllKernel();
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 16 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }), fc.integer(), (p, batches, seed) => {
        const m = 1 << p;
        let x = seed | 1;
        const rnd = (): number => {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
          return x >>> 0;
        };
        const want = new Uint8Array(m);
        for (const [b, n0] of batches.entries()) {
          const n = Math.min(n0, k.stageSlots(m));
          for (let j = 0; j < n * m; j++) {
            // Skewed values like real ranks, sometimes the byte extremes (the histogram counts all 256).
            const r = rnd();
            const v = r % 97 === 0 ? 255 : (r >>> 8) % 24;
            k.stage[j] = v;
            if (v > want[j % m]!) want[j % m] = v;
          }
          if (b + 1 < batches.length) k.maxStaged(n, m);
          else k.maxHist(n, m);
        }
        assert.deepEqual(k.regs.subarray(0, m), want);
        const counts = new Array<number>(256).fill(0);
        for (const v of want) counts[v]!++;
        assert.deepEqual(Array.from(k.counts), counts);
        assert.ok(k.regs.subarray(m).every((v) => v === 0), 'nothing written past m');
        k.regs.fill(0, 0, m);
      }),
      { numRuns: 60 },
    );
  });

  it('the embedded module is built from the current native/hll.c', () => {
    // Its bytes: test/operators/wasm-components.test.ts runs build-wasm.mjs --check (every module) where clang is present.
    const src = fileURLToPath(new URL('../../../native/hll.c', import.meta.url));
    assert.equal(createHash('sha256').update(readFileSync(src)).digest('hex'), HLL_SOURCE_SHA256, 'run node scripts/build-wasm.mjs');
  });
});
