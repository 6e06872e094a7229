/**
 * bloom-join through the harness against a plain nested-loop inner join, plus the measured
 * false-positive rate of the filter against the target.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bloomJoin } from '../../operators/bloom-join.js';
import { runOperator, sortRows } from './harness.js';
import type { Row } from '../../storage/types.js';

function nestedLoop(large: Row[], small: Row[], lk: string[], sk: string[]): Row[] {
  const out: Row[] = [];
  for (const l of large) {
    for (const s of small) {
      if (lk.some((c, i) => l[c] === null || l[c] !== s[sk[i]!])) continue;
      const row: Row = { ...l };
      for (const [k, v] of Object.entries(s)) if (!sk.includes(k)) row[k in l ? `small_${k}` : k] = v;
      out.push(row);
    }
  }
  return out;
}

describe('operators/bloom-join', () => {
  it('equals a nested-loop join and measures its false-positive rate near the target', async () => {
    const small = Array.from({ length: 2000 }, (_, i) => ({ person: `user:${i * 7}`, age: 20 + (i % 50) }));
    const large = Array.from({ length: 30_000 }, (_, i) => ({ person: `user:${i}`, url: `http://a.com/${i % 13}`, ts: i }));
    const parts = { d1: large.slice(0, 10_000), d2: large.slice(10_000, 20_000), d3: large.slice(20_000) };
    const r = await runOperator(bloomJoin, { largeKey: ['person'], smallKey: ['person'], falsePositiveRate: 0.02 }, {
      inputs: [{ partitions: parts }, { rows: small }], buckets: 4, batchSize: 1000,
    });
    const expected = nestedLoop(large.filter((l) => Number((l.person).slice(5)) % 7 === 0), small, ['person'], ['person']);
    assert.deepEqual(sortRows(r.outputs[0]!.rows), sortRows(expected));
    const m = r.metrics;
    assert.equal(m.rowsIn, 30_000);
    assert.equal(m.rowsOut, expected.length);
    assert.equal(m.survivors, expected.length + m.falsePositives!);
    const negatives = 30_000 - expected.length;
    const fpr = m.falsePositives! / negatives;
    assert.ok(fpr > 0.01 && fpr < 0.03, `measured false-positive rate ${fpr}`);
    assert.ok(Math.abs(m.selectivity! - m.survivors / 30_000) < 1e-12);
  });

  it('handles composite keys, duplicates on both sides, nulls and name clashes (fast-check)', async () => {
    const lrow = fc.record({ a: fc.constantFrom('x', 'y', null), b: fc.integer({ min: 0, max: 3 }), v: fc.integer() }, { noNullPrototype: true });
    const srow = fc.record({ k1: fc.constantFrom('x', 'y', 'z'), k2: fc.integer({ min: 0, max: 3 }), v: fc.integer() }, { noNullPrototype: true });
    await fc.assert(fc.asyncProperty(fc.array(lrow, { maxLength: 30 }), fc.array(srow, { maxLength: 10 }), fc.integer({ min: 1, max: 5 }), async (large, small, buckets) => {
      const r = await runOperator(bloomJoin, { largeKey: ['a', 'b'], smallKey: ['k1', 'k2'] }, { inputs: [{ rows: large }, { rows: small }], buckets });
      assert.deepEqual(sortRows(r.outputs[0]!.rows), sortRows(nestedLoop(large, small, ['a', 'b'], ['k1', 'k2'])));
    }), { numRuns: 150 });
  });
});
