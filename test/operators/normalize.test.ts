/**
 * normalize operator through the harness: normalized columns, pass-through columns, rejects
 * output with reasons and `rejected.<reason>` metrics, idempotence over the whole operator.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalize } from '../../operators/normalize/normalize.js';
import { runOperator, sortRows } from './harness.js';
import { isDagctlError } from '../../core/errors.js';

const rows = [
  { url: 'HTTP://Foo.com:80/a/./b?utm_source=x&z=1&a=2#top', person: ' Cookie:ABC ', ts: 10 },
  { url: 'foo.com/about', person: 'user:007', ts: 11 },
  { url: 'ftp://foo.com/', person: 'user:1', ts: 12 },
  { url: 'http://foo.com/', person: 'fax:1', ts: 13 },
  { url: 'http://foo.com/x', person: 'email: Sally@Example.com ', ts: 14 },
  // URL normalized, then the identifier rejected: the reject keeps the original URL
  { url: 'HTTP://Foo.com/y', person: 'fax:2', ts: 15 },
];

describe('operators/normalize/normalize', () => {
  it('normalizes URLs and identifiers, and routes rejects with reasons', async () => {
    const r = await runOperator(normalize, {}, { inputs: [{ partitions: { '2024-01-01': rows.slice(0, 3), '2024-01-02': rows.slice(3) } }], outputs: 2 });
    assert.deepEqual(sortRows(r.outputs[0]!.rows), sortRows([
      { url: 'http://foo.com/a/b?a=2&z=1', person: 'cookie:abc', ts: 10 },
      { url: 'http://foo.com/about', person: 'user:7', ts: 11 },
      { url: 'http://foo.com/x', person: 'email:sally@example.com', ts: 14 },
    ]));
    assert.deepEqual(sortRows(r.outputs[1]!.rows), sortRows([
      { ...rows[2]!, reason: 'bad_scheme' },
      { ...rows[3]!, reason: 'id_unknown_type' },
      { ...rows[5]!, reason: 'id_unknown_type' },
    ]));
    assert.equal(r.metrics.rejected, 3);
    assert.equal(r.metrics['rejected.bad_scheme'], 1);
    assert.equal(r.metrics['rejected.id_unknown_type'], 2);
    assert.equal(r.metrics.rowsIn, 6);
    assert.equal(r.metrics.rowsOut, 3);
  });

  it('drops rejects (still counted) without a second output, and handles other column sets', async () => {
    const r = await runOperator(normalize, { urlColumns: [], idColumns: ['id1', 'id2'] }, {
      inputs: [{ rows: [{ id1: 'user:01', id2: 'Cookie:FF', ts: 1 }, { id1: 'user:x', id2: 'cookie:1', ts: 2 }, { id1: null, id2: 'cookie:1', ts: 3 }] }],
    });
    assert.deepEqual(r.outputs[0]!.rows, [{ id1: 'user:1', id2: 'cookie:ff', ts: 1 }]);
    assert.equal(r.metrics['rejected.id_bad_user'], 1);
    assert.equal(r.metrics['rejected.null_value'], 1);
  });

  it('rejects unknown params with OPERATOR_PARAMS_INVALID', async () => {
    await assert.rejects(runOperator(normalize, { nope: 1 }, { inputs: [{ rows }] }), (e) => isDagctlError(e, 'OPERATOR_PARAMS_INVALID'));
  });

  it('is idempotent as an operator (fast-check)', async () => {
    const row = fc.record({
      url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('a.com/x?utm_id=1&b=%7e', 'HTTP://A.COM:80/./x/../y')),
      person: fc.constantFrom('cookie:AB', ' user:0012', 'email: X@Y.z ', 'user:x'),
      ts: fc.integer({ min: 0, max: 1e9 }),
    }, { noNullPrototype: true });
    await fc.assert(fc.asyncProperty(fc.array(row, { maxLength: 20 }), fc.boolean(), async (input, fold) => {
      const params = { foldWww: fold, trailingSlash: 'strip' };
      const once = await runOperator(normalize, params, { inputs: [{ rows: input }] });
      const twice = await runOperator(normalize, params, { inputs: [{ rows: once.outputs[0]!.rows }] });
      assert.deepEqual(twice.outputs[0]!.rows, once.outputs[0]!.rows);
      assert.equal(twice.metrics.rejected, 0);
    }), { numRuns: 100 });
  });
});
