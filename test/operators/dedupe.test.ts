/**
 * dedupe operator through the harness against a plain reference (group by key, pick the survivor
 * by the documented rule), with fast-check over random rows, partitionings and bucket counts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dedupe, type DedupeParams } from '../../operators/dedupe/dedupe.js';
import { hashKey, KeyHasher } from '../../operators/dedupe/row-index.js';
import { hashOrder, sortByHash } from '../../operators/dedupe/distinct-merge.js';
import type { InputHandle, StageContext } from '../../operators/types.js';
import { decodeShuffle, encodeBlock, encodeHeader } from '../../storage/shuffle/format.js';
import { memInput, runOperator, sortRows } from './harness.js';
import type { Row, Schema } from '../../storage/types.js';

/**
 * dedupe's reduce alone over DGSH shuffle files (each a list of blocks): with `raw` the input
 * hands out the files (the columnar whole-row path, lib/distinct-merge.ts), without it only
 * decoded rows (the row path). Returns the output rows in written order and the metrics.
 */
async function reduceOver(files: Row[][][], schema: Schema, key: string[] | null, raw: boolean): Promise<{ rows: Row[]; metrics: Record<string, number> }> {
  const bytes = files.map((blocks) => Buffer.concat([encodeHeader(schema), ...blocks.filter((b) => b.length > 0).map((b) => encodeBlock(schema, b))]));
  const rows = bytes.flatMap((b) => [...decodeShuffle(b)].flat());
  const base = memInput('prior', rows, 7, [], schema);
  const input: InputHandle = raw ? { ...base, rawFiles: () => bytes.map((b, i) => ({ path: `f${i}.dgsh`, bytes: b.byteLength, read: async () => b })) } : base;
  const out: Row[] = [];
  const params: DedupeParams = { key, orderBy: null, keep: 'first', columnTypes: {}, buckets: 1 };
  const ctx = {
    params, stage: { name: 'reduce', fanout: 'bucket' }, bucket: 0, buckets: 1,
    prior: { bucket: () => input },
    outputs: [{ open: () => ({ write: async (rs: Row[]) => { out.push(...rs); } }) }],
  } as unknown as StageContext<DedupeParams>;
  const r = await dedupe.run(ctx);
  return { rows: out, metrics: r.metrics ?? {} };
}

/** Two distinct persons whose {url, person, ts} rows collide on hashKey (found by search). */
function collidingPersons(url: string, ts: number): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const person = `p${i}`;
    const h = hashKey({ url, person, ts }, ['url', 'person', 'ts']);
    const other = seen.get(h);
    if (other !== undefined) return [other, person];
    seen.set(h, person);
  }
}

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

describe('operators/dedupe/dedupe', () => {
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

  it('sorts by hash stably (radix sortByHash/hashOrder against a stable comparison sort, fast-check)', () => {
    // Hashes from narrow pools make long runs of equal hashes and digits that never vary (skipped passes).
    const hashArb = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 2047, 2048, 0x3fffff, 0x400000, 0xffffffff), fc.integer({ min: 0, max: 7 }).map((x) => x * 0x800 + 5));
    fc.assert(fc.property(fc.array(hashArb, { maxLength: 3000 }), (hs) => {
      const hash = Uint32Array.from(hs);
      const want = hs.map((h, i) => ({ h, i })).sort((x, y) => x.h - y.h || x.i - y.i);
      const { order, sorted } = sortByHash(hash);
      assert.deepEqual([...order], want.map((x) => x.i));
      assert.deepEqual([...sorted], want.map((x) => x.h));
      assert.deepEqual([...hashOrder(hash)], want.map((x) => x.i));
      assert.deepEqual([...hash], hs, 'input untouched');
    }), { numRuns: 200 });
  });

  it('routes by KeyHasher, which equals hashKey (memo hit, miss, full and dropped)', () => {
    const cols = ['url', 'person', 'ts'];
    const h = new KeyHasher(cols);
    const rows: Row[] = [];
    // Repeating first values (memo hits), then 30k distinct ones (memo full, then dropped), then repeats again.
    for (let i = 0; i < 5000; i++) rows.push({ url: `u${i % 37}`, person: `p${i}`, ts: i });
    for (let i = 0; i < 30000; i++) rows.push({ url: `v${i}`, person: i % 3 === 0 ? null : `p${i}`, ts: i % 5 === 0 ? 2 ** 40 + i : i });
    for (let i = 0; i < 5000; i++) rows.push({ url: i % 7 === 0 ? null : `u${i % 37}`, person: 'é', ts: -i });
    for (const r of rows) assert.equal(h.hash(r), hashKey(r, cols));
    fc.assert(fc.property(fc.array(fc.record({ url: fc.option(fc.string({ maxLength: 3 }), { nil: null }), person: fc.string(), ts: fc.integer() }, { noNullPrototype: true })), (rs) => {
      const k = new KeyHasher(cols);
      for (const r of rs) assert.equal(k.hash(r), hashKey(r, cols));
    }));
  });

  describe('whole-row reduce over shuffle files (columnar path)', () => {
    const schema: Schema = [
      { name: 'url', type: 'string', nullable: true },
      { name: 'person', type: 'string', nullable: true },
      { name: 'ts', type: 'int64', nullable: true },
      { name: 'w', type: 'double', nullable: true },
    ];
    const str = fc.oneof(fc.constantFrom('a', 'b', 'é', '\u{1F600}', 'ab', ''), fc.string({ maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 }));
    const row = fc.record({
      url: fc.option(str, { nil: null }),
      person: fc.option(str, { nil: null }),
      ts: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }),
      w: fc.option(fc.constantFrom(0.5, -1.25, 2), { nil: null }),
    }, { noNullPrototype: true });

    it('writes exactly what the row path writes (rows, order, metrics) and matches the reference (fast-check)', async () => {
      await fc.assert(fc.asyncProperty(
        fc.array(fc.array(fc.array(row, { maxLength: 30 }), { maxLength: 3 }), { maxLength: 4 }),
        fc.constantFrom<string[] | null>(null, ['w', 'ts', 'person', 'url'], ['person', 'url', 'ts', 'w']),
        async (files, key) => {
          const fast = await reduceOver(files, schema, key, true);
          const slow = await reduceOver(files, schema, key, false);
          assert.deepEqual(fast.rows, slow.rows);
          assert.deepEqual(fast.metrics, slow.metrics);
          assert.deepEqual(sortRows(fast.rows), sortRows(oracle(files.flat(2), key, null, 'first')));
        }), { numRuns: 200 });
    });

    it('orders hash collisions by key values and dedupes them across files and blocks', async () => {
      const [p1, p2] = collidingPersons('u', 7);
      const a = { url: 'u', person: p1, ts: 7, w: 1 }, b = { url: 'u', person: p2, ts: 7, w: 1 }, c = { url: 'v', person: 'q', ts: 1, w: null };
      // Arrival: b before a; the written order must still put the smaller key first.
      const files: Row[][][] = [[[b, c], [a]], [[a, b, b]], [[c]]];
      const fast = await reduceOver(files, schema, ['url', 'person', 'ts', 'w'], true);
      const slow = await reduceOver(files, schema, ['url', 'person', 'ts', 'w'], false);
      assert.deepEqual(fast.rows, slow.rows);
      assert.equal(fast.metrics.rowsOut, 3);
      assert.equal(fast.metrics.removed, 4);
      const at = (r: Row): number => fast.rows.findIndex((x) => x.person === r.person && x.url === r.url);
      const [lo, hi] = p1 < p2 ? [a, b] : [b, a];
      assert.equal(at(hi), at(lo) + 1);
    });

    it('hashes dictionary and plain string columns as hashKey does (many blocks, repeated urls)', async () => {
      // 300 rows per block: url repeats (dictionary-encoded), person is mostly distinct (plain).
      const blocks: Row[][] = [];
      for (let b = 0; b < 6; b++) {
        const rows: Row[] = [];
        for (let i = 0; i < 300; i++) rows.push({ url: `https://e.com/${(i * 7 + b) % 11}`, person: `cookie:${(i * 13 + b * 5) % 700}`, ts: i % 3, w: null });
        blocks.push(rows);
      }
      const fast = await reduceOver([blocks.slice(0, 4), blocks.slice(4)], schema, null, true);
      const slow = await reduceOver([blocks.slice(0, 4), blocks.slice(4)], schema, null, false);
      assert.deepEqual(fast.rows, slow.rows);
      const hs = fast.rows.map((r) => hashKey(r, ['person', 'ts', 'url', 'w']));
      assert.ok(hs.every((h, i) => i === 0 || hs[i - 1]! <= h), 'rows in key-hash order');
    });
  });
});
