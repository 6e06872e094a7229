/**
 * dedupe on values that start with U+FEFF: '\uFEFFhttp://a' and 'http://a' are different values
 * (their bytes differ), so the byte paths (byte-map.ts, byte-distinct.ts) and the row paths give
 * the same output. The row paths read the rows the Parquet decoder returns for the files (not the
 * rows the test wrote), and a plain reference (distinct rows of those decoded rows) checks both.
 */
import assert from 'node:assert/strict';
import { dedupe, type DedupeParams } from '../../operators/dedupe/dedupe.js';
import type { InputHandle, StageContext } from '../../operators/types.js';
import { decodeShuffle, encodeHeader } from '../../storage/shuffle/format.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { memInput } from './harness.js';
import type { ColumnBatch, Row, Schema } from '../../storage/types.js';

const SCHEMA: Schema = [{ name: 'url', type: 'string' }, { name: 'person', type: 'string' }, { name: 'ts', type: 'int64' }];
const KEY = ['url', 'person', 'ts'];
const FILES: Row[][] = [
  [{ url: '\uFEFFhttp://a', person: 'p', ts: 1 }, { url: 'http://a', person: '\uFEFFp', ts: 1 }, { url: '\uFEFFhttp://a', person: 'p', ts: 1 }],
  [{ url: 'http://a', person: 'p', ts: 1 }, { url: '\uFEFF', person: '\uFEFF\uFEFFp', ts: 2 }, { url: '\uFEFFhttp://a', person: 'p', ts: 1 }],
];

/** The files as the default codec writes them, and the rows its decoder returns for them. */
async function encoded(): Promise<{ bytes: Uint8Array[]; decoded: Row[] }> {
  const codec = defaultCodec();
  const bytes = await Promise.all(FILES.map((rows) => codec.encode(SCHEMA, rows)));
  const decoded: Row[] = [];
  for (const b of bytes) for await (const batch of codec.decode(b)) decoded.push(...batch.map((r) => ({ ...r })));
  return { bytes, decoded };
}

/** dedupe's map: with `blocks` over the raw files (byte path), else over the decoded rows. Rows received per bucket. */
async function mapOver(blocks: boolean, buckets: number): Promise<{ byBucket: Row[][]; raw: Uint8Array[][] }> {
  const { bytes, decoded } = await encoded();
  const input: InputHandle = memInput('in', decoded, 1000, [], SCHEMA, () => bytes.map((b, i) => ({ path: `date=d/f${i}.parquet`, bytes: b.byteLength, read: async () => b })));
  const byBucket: Row[][] = Array.from({ length: buckets }, () => []);
  const raw: Uint8Array[][] = Array.from({ length: buckets }, () => []);
  const header = encodeHeader(SCHEMA);
  const params: DedupeParams = { key: KEY, orderBy: null, keep: 'first', columnTypes: {}, buckets };
  const ctx = {
    params, stage: { name: 'map', fanout: 'partition' }, buckets, inputs: [input],
    shuffle: {
      buckets,
      open: () => ({
        buckets,
        write: async (b: number, rows: Row[]) => {
          if (blocks) throw new Error('byte path expected');
          byBucket[b]!.push(...rows.map((r) => ({ ...r })));
        },
        ...(blocks ? { writeBlock: async (b: number, block: Uint8Array) => {
          raw[b]!.push(block);
          byBucket[b]!.push(...[...decodeShuffle(Buffer.concat([header, block]))].flat().map((r) => ({ ...r })));
        } } : {}),
      }),
    },
  } as unknown as StageContext<DedupeParams>;
  await dedupe.run(ctx);
  return { byBucket, raw };
}

/** dedupe's whole-row reduce of one bucket's DGSH file: column batches (byte path) or rows. */
async function reduceOver(file: Uint8Array, columns: boolean): Promise<Row[]> {
  const rows = [...decodeShuffle(file)].flat();
  const input = memInput('prior', rows, 7, [], SCHEMA, () => [{ path: 'f0.dgsh', bytes: file.byteLength, read: async () => file }]);
  const out: Row[] = [];
  const writer = {
    write: async (rs: Row[]) => { out.push(...rs.map((r) => ({ ...r }))); },
    ...(columns ? { writeColumns: async (b: ColumnBatch) => {
      for (let i = 0; i < b.rows; i++) {
        const r: Row = {};
        for (const nm of KEY) {
          const c = b.columns[nm]!;
          r[nm] = c.type === 'int64' ? c.values[i]! : Buffer.from(c.data.subarray(c.start[i], c.start[i]! + c.len[i]!)).toString('utf8');
        }
        out.push(r);
      }
    } } : {}),
  };
  const params: DedupeParams = { key: KEY, orderBy: null, keep: 'first', columnTypes: {}, buckets: 1 };
  const ctx = {
    params, stage: { name: 'reduce', fanout: 'bucket' }, bucket: 0, buckets: 1,
    prior: { bucket: () => input }, outputs: [{ open: () => writer }],
  } as unknown as StageContext<DedupeParams>;
  await dedupe.run(ctx);
  return out;
}

const canon = (r: Row): string => JSON.stringify([r.url, r.person, r.ts]);
const sorted = (rows: Row[]): string[] => rows.map(canon).sort();

describe('operators/dedupe: values starting with U+FEFF', () => {
  it('the Parquet decoder returns the written values', async () => {
    assert.deepEqual((await encoded()).decoded, FILES.flat());
  });

  for (const buckets of [1, 3]) {
    it(`the byte map routes and carries what the row map does over the decoded rows (${buckets} buckets)`, async () => {
      const bytes = await mapOver(true, buckets), rows = await mapOver(false, buckets);
      assert.deepEqual(bytes.byBucket.map(sorted), rows.byBucket.map(sorted));
      assert.deepEqual(sorted(bytes.byBucket.flat()), sorted((await encoded()).decoded));
    });
  }

  it('the byte reduce writes what the row reduce writes: the distinct decoded rows', async () => {
    const { raw } = await mapOver(true, 1);
    const file = Buffer.concat([encodeHeader(SCHEMA), ...raw[0]!]);
    const byBytes = await reduceOver(file, true), byRows = await reduceOver(file, false);
    assert.deepEqual(byBytes, byRows);
    const oracle = [...new Set((await encoded()).decoded.map(canon))].sort();
    assert.deepEqual(sorted(byBytes), oracle);
    assert.equal(oracle.length, 4);
  });
});
