/**
 * rollup on persons and URLs that start with U+FEFF: 'p' and '\uFEFFp' are two persons (their bytes
 * differ), so a file read as raw pages (persons hashed from bytes) and the same file read as rows
 * (the rows the Parquet decoder returns for it) give the same view, and its uniques and pageviews
 * equal a plain reference over the decoded rows.
 */
import assert from 'node:assert/strict';
import { rollup } from '../../operators/rollup/rollup.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { Row, Schema } from '../../storage/types.js';
import { runOperator } from './harness.js';

const T0 = 1_438_912_800;
const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'person', type: 'string' }, { name: 'ts', type: 'int64' }];
const rows: Row[] = [
  { url: 'http://a/', person: 'p', ts: T0 },
  { url: 'http://a/', person: '\uFEFFp', ts: T0 + 1 },
  { url: 'http://a/', person: 'p', ts: T0 + 2 },
  { url: '\uFEFFhttp://a/', person: 'q', ts: T0 + 3 },
  { url: 'http://a/', person: '\uFEFF\uFEFFp', ts: T0 + 4 },
];

const view = (out: Row[]): string[] => out.filter((v) => v.granularity === 'h').map((v) => JSON.stringify([v.url, v.bucket, v.pageviews, v.uniques])).sort();

describe('operators/rollup: values starting with U+FEFF', () => {
  it('uniques are equal whichever path a file takes, and equal the reference', async () => {
    const codec = defaultCodec();
    const decoded: Row[] = [];
    for await (const batch of codec.decode(await codec.encode(schema, rows))) decoded.push(...batch.map((r) => ({ ...r })));
    const raw = await runOperator(rollup, {}, { inputs: [{ partitions: { '2015-08-07': rows }, schema }], buckets: 2 });
    const byRows = await runOperator(rollup, {}, { inputs: [{ partitions: { '2015-08-07': decoded } }], buckets: 2 });
    const ref = new Map<string, { pv: number; people: Set<string> }>();
    for (const r of decoded) {
      const e = ref.get(r.url as string) ?? { pv: 0, people: new Set<string>() };
      e.pv++;
      e.people.add(r.person as string);
      ref.set(r.url as string, e);
    }
    const want = [...ref].map(([url, e]) => JSON.stringify([url, T0, e.pv, e.people.size])).sort();
    assert.deepEqual(view(raw.outputs[0]!.rows), want);
    assert.deepEqual(view(byRows.outputs[0]!.rows), want);
    assert.deepEqual(want, [JSON.stringify(['http://a/', T0, 4, 3]), JSON.stringify(['\uFEFFhttp://a/', T0, 1, 1])].sort());
  });
});
