/**
 * dedupe operator through the harness against a plain reference (group by key, pick the survivor
 * by the documented rule), with fast-check over random rows, partitionings and bucket counts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dedupe } from '../../operators/dedupe.js';
import { runOperator, sortRows } from './harness.js';
import type { Row } from '../../storage/types.js';

function oracle(rows: Row[], key: string[] | null, orderBy: string | null, keep: 'first' | 'last'): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const cols = key ?? Object.keys(r).sort();
    const k = JSON.stringify(cols.map((c) => r[c]));
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const canon = (r: Row): string => JSON.stringify(Object.keys(r).sort().map((c) => r[c]));
  return [...groups.values()].map((g) => [...g].sort((a, b) => {
    if (orderBy !== null) {
      const x = a[orderBy] as number, y = b[orderBy] as number;
      if (x !== y) return keep === 'first' ? x - y : y - x;
    }
    return canon(a) < canon(b) ? -1 : canon(a) > canon(b) ? 1 : 0;
  })[0]!);
}

describe('operators/dedupe', () => {
  it('removes exact duplicates across partitions', async () => {
    const a = { url: 'u1', person: 'p', ts: 1 }, b = { url: 'u2', person: 'p', ts: 1 };
    const r = await runOperator(dedupe, {}, { inputs: [{ partitions: { d1: [a, b, a], d2: [a, b] } }], buckets: 3 });
    assert.deepEqual(sortRows(r.outputs[0]!.rows), sortRows([a, b]));
    assert.equal(r.metrics.rowsIn, 5);
    assert.equal(r.metrics.rowsOut, 2);
    assert.equal(r.metrics.removed, 3);
  });

  it('keeps first/last by orderBy on a key, whatever the arrival order', async () => {
    const rows = [{ id: 'x', ts: 5, v: 'b' }, { id: 'x', ts: 3, v: 'a' }, { id: 'x', ts: 5, v: 'a' }, { id: 'y', ts: 1, v: 'z' }];
    const first = await runOperator(dedupe, { key: ['id'], orderBy: 'ts', keep: 'first' }, { inputs: [{ rows }] });
    assert.deepEqual(sortRows(first.outputs[0]!.rows), sortRows([{ id: 'x', ts: 3, v: 'a' }, { id: 'y', ts: 1, v: 'z' }]));
    const last = await runOperator(dedupe, { key: ['id'], orderBy: 'ts', keep: 'last' }, { inputs: [{ rows: [...rows].reverse() }] });
    // ts tie (5, 'a') vs (5, 'b'): the smaller canonical row wins.
    assert.deepEqual(sortRows(last.outputs[0]!.rows), sortRows([{ id: 'x', ts: 5, v: 'a' }, { id: 'y', ts: 1, v: 'z' }]));
  });

  it('equals the reference for random rows, partitions and buckets (fast-check)', async () => {
    const row = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd'), ts: fc.integer({ min: 0, max: 5 }), v: fc.constantFrom('x', 'y') }, { noNullPrototype: true });
    await fc.assert(fc.asyncProperty(
      fc.array(row, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }),
      fc.constantFrom<string[] | null>(null, ['id'], ['id', 'v']), fc.constantFrom(null, 'ts'), fc.constantFrom('first' as const, 'last' as const),
      async (rows, parts, buckets, key, orderBy, keep) => {
        const partitions: Record<string, Row[]> = {};
        rows.forEach((r, i) => { (partitions[`p${i % parts}`] ??= []).push(r); });
        const r = await runOperator(dedupe, { key, orderBy, keep }, { inputs: [{ partitions }], buckets });
        assert.deepEqual(sortRows(r.outputs[0]!.rows), sortRows(oracle(rows, key, orderBy, keep)));
      }), { numRuns: 150 });
  });
});
