/**
 * read-records on inline CSV and JSON-lines fixtures: quoting (escaped quotes, quoted delimiters,
 * quoted line breaks), declared and inferred column types, repeated headers, and every malformed
 * line in rejects with its reason and count — rows + rejects account for every record line.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { csvFields, readRecords } from '../../operators/read-records.js';
import { runOperator } from './harness.js';

const CSV = [
  'id,name,score,ok',
  '1,alice,3.5,true',
  '2,"bob, jr",4,false',
  '3,"say ""hi""",,true',
  '4,"two',
  'lines",5,true',
  '5,short',
  'id,name,score,ok',
  '6,eve,x1,true',
  '7,bad"quote,1,true',
  '',
  '8,zed,-2,false',
];

const JSONL = [
  '{"url":"/a","n":1,"tags":["x"]}',
  '{"url":"/b","n":2.5}',
  'not json',
  '[1,2]',
  '{"url":"/c","n":"three"}',
  '{"url":"/d","n":4,"extra":true}',
  '',
];

describe('operators/read-records', () => {
  it('splits CSV fields as RFC 4180 says', () => {
    assert.deepEqual(csvFields('a,"b,c","d""e",', ','), ['a', 'b,c', 'd"e', '']);
    assert.equal(csvFields('a,"open', ','), null);
    assert.deepEqual(csvFields('a,b"c', ','), []);
  });

  it('reads CSV with inferred types; malformed lines go to rejects with reasons and counts', async () => {
    const r = await runOperator(readRecords, { format: 'csv' }, { inputs: [{ lines: CSV }], outputs: 2 });
    assert.deepEqual(r.outputs[0]!.schema, [
      { name: 'id', type: 'int64', nullable: true },
      { name: 'name', type: 'string', nullable: true },
      { name: 'score', type: 'string', nullable: true },
      { name: 'ok', type: 'boolean', nullable: true },
    ]);
    assert.deepEqual(r.outputs[0]!.rows.map((x) => x.name), ['alice', 'bob, jr', 'say "hi"', 'two\nlines', 'eve', 'zed']);
    assert.deepEqual(r.outputs[1]!.rows.map((x) => [x.file_line, x.reason]), [[7, 'column_count'], [10, 'malformed']]);
    assert.equal(r.metrics.rejected, 2);
    assert.equal(r.metrics['rejected.column_count'], 1);
    assert.equal(r.metrics.rowsOut! + r.metrics.rejected, 8);
  });

  it('declared CSV columns: values that are not of the type are rejected as bad_value', async () => {
    const r = await runOperator(readRecords, { format: 'csv', columns: { id: 'int64', name: 'string', score: 'double', ok: 'boolean' } }, { inputs: [{ lines: CSV }], outputs: 2 });
    assert.deepEqual(r.outputs[0]!.rows.map((x) => [x.id, x.score]), [[1, 3.5], [2, 4], [3, null], [4, 5], [8, -2]]);
    assert.deepEqual(r.outputs[1]!.rows.map((x) => x.reason), ['column_count', 'bad_value', 'malformed']);
  });

  it('reads JSON lines; unknown columns, bad values and non-objects are rejected', async () => {
    const r = await runOperator(readRecords, { format: 'jsonl', columns: { url: 'string', n: 'double' } }, { inputs: [{ lines: JSONL }], outputs: 2 });
    assert.deepEqual(r.outputs[0]!.rows, [{ url: '/b', n: 2.5 }]);
    assert.deepEqual(r.outputs[1]!.rows.map((x) => [x.file_line, x.reason]), [[1, 'unknown_column'], [3, 'malformed'], [4, 'malformed'], [5, 'bad_value'], [6, 'unknown_column']]);
    const inferred = await runOperator(readRecords, { format: 'jsonl', inferRows: 2 }, { inputs: [{ lines: JSONL }], outputs: 2 });
    assert.deepEqual(inferred.outputs[0]!.schema!.map((f) => [f.name, f.type]), [['url', 'string'], ['n', 'double'], ['tags', 'string']]);
    assert.equal(inferred.metrics.rowsOut! + inferred.metrics.rejected!, 6);
  });

  it('without a rejects output a malformed line fails the instance (never dropped silently)', async () => {
    await assert.rejects(runOperator(readRecords, { format: 'jsonl' }, { inputs: [{ lines: JSONL }] }), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
  });
});
