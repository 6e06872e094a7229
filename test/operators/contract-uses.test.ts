/**
 * The operator-contract extensions in use and the kernels behind the fast paths: rollup infers the
 * component join from the input count; schemas come from InputHandle.schema() (int32 survives);
 * partial-recompute's plan sees the old view (auto mode, fallback); RowIndex / hashKey agree with a
 * string-key reference; the two-generation LRU stays bounded.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rollup } from '../../operators/rollup/rollup.js';
import { dedupe } from '../../operators/dedupe/dedupe.js';
import { bloomJoin } from '../../operators/bloom-join.js';
import { partialRecompute } from '../../operators/partial-recompute/partial-recompute.js';
import { hashKey, RowIndex, sameValue } from '../../operators/dedupe/row-index.js';
import { LruCache } from '../../operators/normalize/lru.js';
import { isDagctlError } from '../../core/errors.js';
import { runOperator } from './harness.js';
import type { Row, Schema } from '../../storage/types.js';

const T0 = 1_438_912_800;

describe('operators: contract extensions in use', () => {
  it('rollup joins components when given 2 inputs, without the components param', async () => {
    const rows: Row[] = [
      { url: 'http://foo.com/a', person: 'cookie:1', ts: T0 },
      { url: 'http://foo.com/a', person: 'user:9', ts: T0 + 10 },
      { url: 'http://foo.com/a', person: 'cookie:2', ts: T0 + 20 },
    ];
    const ids = [{ id: 'cookie:1', person: 'cookie:1' }, { id: 'user:9', person: 'cookie:1' }];
    assert.deepEqual(rollup.stages(rollup.params.parse({}), { inputs: 2 }).map((s) => s.name), ['index', 'map', 'join', 'aggregate']);
    assert.deepEqual(rollup.stages(rollup.params.parse({}), { inputs: 1 }).map((s) => s.name), ['map', 'aggregate']);
    const r = await runOperator(rollup, { granularities: ['h'] }, { inputs: [{ rows }, { rows: ids }], buckets: 3 });
    assert.deepEqual(r.outputs[0]!.rows.map((v) => [v.pageviews, v.uniques]), [[3, 2]]);
    assert.equal(r.metrics.joined, 2);
    await assert.rejects(runOperator(rollup, { components: false }, { inputs: [{ rows }, { rows: ids }] }), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
  });

  it('dedupe and bloom-join write the input schema (int32 kept, not guessed from rows)', async () => {
    const schema: Schema = [{ name: 'person', type: 'string' }, { name: 'age', type: 'int32' }, { name: 'note', type: 'string', nullable: true }];
    const rows: Row[] = [{ person: 'a', age: 3, note: null }, { person: 'a', age: 3, note: null }, { person: 'b', age: 4, note: null }];
    const d = await runOperator(dedupe, {}, { inputs: [{ rows, schema }], buckets: 2, batchSize: 2 });
    assert.equal(d.outputs[0]!.rows.length, 2);
    assert.deepEqual(d.outputs[0]!.schema, schema);
    const j = await runOperator(bloomJoin, { largeKey: ['person'], smallKey: ['person'] }, {
      inputs: [{ rows, schema }, { rows: [{ person: 'b', v: 1 }], schema: [{ name: 'person', type: 'string' }, { name: 'v', type: 'int32' }] }], buckets: 2,
    });
    assert.deepEqual(j.outputs[0]!.rows, [{ person: 'b', age: 4, note: null, v: 1 }]);
    assert.deepEqual(j.outputs[0]!.schema, [...schema, { name: 'v', type: 'int32' }]);
  });

  it('partial-recompute: auto sees the old view size in plan; partial without a view is full', async () => {
    const master = Array.from({ length: 400 }, (_, i) => ({ person: `user:${i % 100}`, age: 30, ts: T0 + (i % 4) * 1000 }));
    const old = (await runOperator(partialRecompute, { mode: 'full' }, { inputs: [{ rows: master }, { rows: [] }], buckets: 4 })).outputs[0]!.rows;
    const batch = [{ person: 'user:3', age: 31, ts: T0 + 40_000_000 }];
    const auto = await runOperator(partialRecompute, { mode: 'auto' }, { inputs: [{ rows: master }, { rows: batch }], previous: [old], buckets: 4 });
    assert.equal(auto.metrics.partial, 1);
    assert.equal(auto.metrics.recomputed, 1);
    const none = await runOperator(partialRecompute, { mode: 'partial' }, { inputs: [{ rows: master }, { rows: batch }], previous: [null], buckets: 4 });
    assert.equal(none.metrics.fallbackFull, 1);
    assert.equal(none.metrics.partial, 0);
  });
});

describe('lib/row-index, lib/lru', () => {
  const value = fc.oneof(fc.constantFrom(null, 'a', 'ab', '', 0, 1, -1, 2 ** 40, 1.5, true, false), fc.string({ maxLength: 3 }), fc.integer());
  it('RowIndex finds a row iff a string-key reference does; hashKey equal for equal keys', () => {
    fc.assert(fc.property(fc.array(fc.tuple(value, value), { maxLength: 60 }), (pairs) => {
      const idx = new RowIndex(['x', 'y'], 4);
      const ref = new Map<string, number>();
      for (const [x, y] of pairs) {
        const k = JSON.stringify([x, y]);
        const at = idx.findOrAdd({ x, y });
        if (ref.has(k)) assert.equal(at, ref.get(k));
        else { assert.equal(at, -1); ref.set(k, idx.size - 1); }
      }
      assert.equal(idx.size, ref.size);
      const sorted = idx.sortedRows(() => 0);
      assert.equal(sorted.length, ref.size);
    }));
    assert.equal(hashKey({ a: 5 }, ['a']), hashKey({ a: 5n }, ['a']));
    assert.ok(sameValue(5, 5n) && sameValue(null, undefined) && !sameValue('1', 1) && sameValue(new Uint8Array([1]), new Uint8Array([1])));
    assert.notEqual(hashKey({ a: 'ab', b: 'c' }, ['a', 'b']), hashKey({ a: 'a', b: 'bc' }, ['a', 'b']));
  });

  it('LruCache holds at most capacity entries and keeps recently used ones', () => {
    const c = new LruCache<number, number>(10);
    let computed = 0;
    for (let i = 0; i < 1000; i++) {
      c.getOrCompute(i, (k) => { computed++; return k; });
      c.getOrCompute(0, (k) => { computed++; return k; }); // hot key
      assert.ok(c.size <= 10);
    }
    assert.equal(computed, 1000); // 0 never recomputed
    assert.equal(c.misses, 1000);
  });
});
