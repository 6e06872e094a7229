/**
 * The Parquet readers decode string columns strictly (storage/parquet/utf8.ts), over hand-made
 * files (hyparquet-writer given raw bytes for a STRING column; parquet.js given a Buffer for a UTF8
 * column, for the parquetjs-lite codec, which reads only parquet.js's files): a value that is not UTF-8 is
 * PARQUET_INVALID_UTF8 naming the column, the row (counted from the file's first row, across row
 * groups) and the row group — plain and dictionary-encoded pages alike — and readRows adds the
 * file; with `invalidUtf8: 'mark'` the rows come back and exactly the bad one is marked. A value
 * that genuinely holds U+FFFD is read as it is, unmarked.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type * as Parquetjs from 'parquetjs-lite';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { isDagctlError, type DagctlError } from '../../core/errors.js';
import { readRows } from '../../storage/dataset/read.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import { invalidUtf8Columns } from '../../storage/parquet/utf8.js';
import type { Row } from '../../storage/types.js';

const BAD = new Uint8Array([...Buffer.from('http://example.com/'), 0xff, 0xfe, 0x41]);

/** 100 rows in row groups of 40; row `badRow` of `url` holds BAD (-1: none); `dict`: few distinct values (dictionary pages). */
function file(badRow: number, dict: boolean): Uint8Array {
  const url: Array<string | Uint8Array> = Array.from({ length: 100 }, (_, i) => (dict ? `http://example.com/${i % 2}` : `http://example.com/p${i}`));
  if (badRow >= 0) url[badRow] = BAD;
  return new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'url', data: url, type: 'STRING' },
      { name: 'note', data: Array.from({ length: 100 }, (_, i) => (i === 1 ? 'genuine \uFFFD' : `n${i}`)), type: 'STRING' },
      { name: 'ts', data: Array.from({ length: 100 }, (_, i) => BigInt(i)), type: 'INT64' },
    ],
    rowGroupSize: 40,
  }));
}

/** The same 100 rows written by parquet.js itself (PLAIN pages only), row groups of 40. */
async function parquetjsFile(badRow: number): Promise<Uint8Array> {
  const { ParquetSchema, ParquetWriter } = createRequire(import.meta.url)('parquetjs-lite') as typeof Parquetjs;
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const schema = new ParquetSchema({ url: { type: 'UTF8' }, note: { type: 'UTF8' }, ts: { type: 'INT64' } });
  const w = await ParquetWriter.openStream(schema, sink, { rowGroupSize: 40 });
  for (let i = 0; i < 100; i++) {
    // parquet.js writes a Buffer given for a UTF8 column as it is.
    await w.appendRow({ url: i === badRow ? Buffer.from(BAD) : `http://example.com/p${i}`, note: i === 1 ? 'genuine \uFFFD' : `n${i}`, ts: BigInt(i) });
  }
  await w.close();
  return new Uint8Array(Buffer.concat(chunks));
}

/** A file of `codec`'s kind (parquet.js's for parquetjs-lite, which reads no other writer's). */
async function fileFor(codec: string, badRow: number, dict: boolean): Promise<Uint8Array> {
  return codec === 'parquetjs-lite' ? parquetjsFile(badRow) : file(badRow, dict);
}

const CODECS = ['flat', 'hyparquet', 'parquetjs-lite'];

async function failure(it: AsyncIterable<Row[]>): Promise<DagctlError> {
  try {
    for await (const b of it) void b;
  } catch (e) {
    if (isDagctlError(e, 'PARQUET_INVALID_UTF8')) return e;
    throw e;
  }
  assert.fail('expected PARQUET_INVALID_UTF8');
}

async function all(it: AsyncIterable<Row[]>): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

describe('parquet reader: strict UTF-8', () => {
  for (const codec of CODECS) {
    for (const dict of codec === 'parquetjs-lite' ? [false] : [false, true]) {
      it(`${codec}, ${dict ? 'dictionary' : 'plain'} pages: PARQUET_INVALID_UTF8 naming column, row and row group`, async () => {
        const bytes = await fileFor(codec, 60, dict);
        const encodings = parquetMetadata(bytes.slice().buffer).row_groups[1]?.columns[0]?.meta_data?.encodings ?? [];
        assert.equal(encodings.includes('RLE_DICTIONARY'), dict, `encodings ${encodings.join(',')}`);
        const e = await failure(getCodec(codec).decode(bytes));
        assert.deepEqual([e.details.column, e.details.row, e.details.rowGroup], ['url', 60, 1]);
        assert.equal(e.details.bytes, Buffer.from(BAD).toString('hex'));
        // Projected away, the bad column is not read.
        assert.equal((await all(getCodec(codec).decode(bytes, { columns: ['ts', 'note'] }))).length, 100);
      });
    }
  }

  for (const codec of CODECS) {
    it(`${codec}, mark: every row comes back, only the bad one marked; genuine U+FFFD is kept unmarked`, async () => {
      for (const dict of codec === 'parquetjs-lite' ? [false] : [false, true]) {
        const rows = await all(getCodec(codec).decode(await fileFor(codec, 99, dict), { invalidUtf8: 'mark' }));
        assert.equal(rows.length, 100);
        assert.equal(rows[99]?.url, Buffer.from(BAD).toString('utf8'), 'the marked value holds U+FFFD for the bad bytes');
        assert.deepEqual(rows.map((r, i) => [i, invalidUtf8Columns(r)]).filter(([, m]) => m !== undefined), [[99, ['url']]]);
        assert.equal(rows[1]?.note, 'genuine \uFFFD');
        assert.deepEqual(Object.keys(rows[99]), ['url', 'note', 'ts'], 'the mark is not a column');
        assert.equal(invalidUtf8Columns({ ...rows[99] }), undefined, 'a copy drops the mark');
      }
    });
  }

  for (const codec of ['flat', 'parquetjs-lite']) {
    it(`${codec}: readRows names the file`, async () => {
      const store = new MemoryObjectStore('utf8');
      await store.putIfAbsent('date=2024-03-01/part-0.parquet', await fileFor(codec, 0, false));
      await store.putIfAbsent('date=2024-03-01/part-1.parquet', await fileFor(codec, -1, false));
      const files = ['part-1', 'part-0'].map((p) => ({ path: `date=2024-03-01/${p}.parquet`, rows: 100, bytes: 0, sha256: '' }));
      const e = await failure(readRows(store, files, getCodec(codec)));
      assert.deepEqual([e.details.file, e.details.column, e.details.row], ['date=2024-03-01/part-0.parquet', 'url', 0]);
      assert.ok(e.message.includes('date=2024-03-01/part-0.parquet'));
    });
  }
});
