/**
 * docs/hll_reader.py (the standalone Python reader of the sketch format, docs/serving.md) against
 * dagctl's HyperLogLog: the same merged estimate for sparse, dense and mixed sketches of every
 * precision (including unions crossing the sparse → dense threshold), and refusal of bad bytes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { pyReader } from './support.js';

describe('docs/hll_reader.py against dagctl HyperLogLog', function () {
  this.timeout(120_000);

  it('merges and estimates exactly as dagctl does (sparse, dense, mixed; p 4..16)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-hll-'));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4, max: 16 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 6000 })), { minLength: 1, maxLength: 4 }),
        async (p, parts) => {
          const sketches = parts.map(([off, n]) => {
            const h = new HyperLogLog(p);
            for (let i = 0; i < n; i++) h.add(`person-${off * 7 + i}`);
            return h;
          });
          const files: string[] = [];
          for (const [k, h] of sketches.entries()) {
            const f = join(dir, `s${k}.hll`);
            await writeFile(f, h.serialize());
            files.push(`@${f}`);
          }
          const merged = HyperLogLog.deserialize(sketches[0]!.serialize());
          for (const h of sketches.slice(1)) merged.merge(h);
          const r = pyReader(files);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.out!.p, p);
          const want = merged.estimate();
          assert.ok(Math.abs(r.out!.estimate - want) <= 1e-9 * Math.max(1, want), `estimate ${r.out!.estimate} vs dagctl ${want}`);
          assert.equal(r.out!.count, merged.count());
          assert.equal(r.out!.mode, merged.serialize()[3] === 0 ? 'sparse' : 'dense');
        },
      ),
      { numRuns: 40 },
    );
  });

  it('base64 arguments, and refuses bytes that are not a sketch (exit 2)', () => {
    const h = new HyperLogLog(14);
    for (let i = 0; i < 100; i++) h.add(`u${i}`);
    const r = pyReader([Buffer.from(h.serialize()).toString('base64')]);
    assert.equal(r.out?.count, h.count());
    assert.equal(pyReader([Buffer.from('nope').toString('base64')]).code, 2);
    const bad = h.serialize();
    bad[4] = 99; // sparse count no longer matches the length
    assert.equal(pyReader([Buffer.from(bad).toString('base64')]).code, 2);
  });
});
