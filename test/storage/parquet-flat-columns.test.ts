/**
 * storage/parquet/flat/columns.ts (writeFlatColumns) against the row writer as its oracle: the
 * same values as columns and as rows give byte-identical files (PLAIN strings — near-unique ids,
 * for which the row writer gives its dictionary up — and int64s, several row groups, Snappy or
 * not); bad input is PARQUET_INVALID; DataFileWriter.writeColumns splits at maxRows. And lib/byte-intern.ts compareUtf8Js equals JS string order.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { writeFlatColumns, writeFlatParquet } from '../../storage/parquet/flat/file.js';
import { compareUtf8Js } from '../../operators/lib/columnar/byte-intern.js';
import { isDagctlError } from '../../core/errors.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { ColumnBatch, Row, Schema } from '../../storage/types.js';

const SCHEMA: Schema = [{ name: 'id', type: 'string' }, { name: 'a', type: 'int64' }, { name: 'b', type: 'int64' }];
const chars = ['a', 'Z', '0', ':', 'é', '\u4e2d', '\uE000', '\uFFFD', '\u{1F600}'];

function columnsOf(rows: Row[]): ColumnBatch {
  const parts = rows.map((r) => Buffer.from(r.id as string, 'utf8'));
  const data = Buffer.concat(parts);
  const start = new Int32Array(rows.length), len = new Int32Array(rows.length);
  let at = 0;
  parts.forEach((p, i) => { start[i] = at; len[i] = p.length; at += p.length; });
  return { rows: rows.length, columns: { id: { type: 'string', data, start, len }, a: { type: 'int64', values: Float64Array.from(rows, (r) => r.a as number) }, b: { type: 'int64', values: Float64Array.from(rows, (r) => r.b as number) } } };
}

describe('flat parquet writer from columns', () => {
  it('writes the same bytes as the row writer for the same values (fast-check)', () => {
    const int = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, -(2 ** 32) - 1));
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.array(fc.constantFrom(...chars), { maxLength: 5 }).map((c) => c.join('')), int, int), { minLength: 34, maxLength: 150 }),
      fc.integer({ min: 34, max: 60 }), fc.boolean(),
      (vals, groupRows, snappy) => {
        // Unique ids (the index as a prefix), every row group over 16 rows: the row writer gives
        // its dictionary up (over half the values distinct), as for ids; a smaller group it would
        // dictionary-encode, which the column writer never does (its banner).
        const g = Math.min(groupRows, vals.length);
        const rows = vals.slice(0, vals.length - (vals.length % g)).map(([s, a, b], i) => ({ id: `${i.toString(36)}-${s}`, a, b }));
        const opts = { compression: snappy ? 'SNAPPY' as const : 'UNCOMPRESSED' as const, rowGroupRows: g };
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, columnsOf(rows), opts)), Buffer.from(writeFlatParquet(SCHEMA, rows, opts)));
      }), { numRuns: 150 });
  });

  it('refuses nullable fields, type mismatches, short columns and unsafe integers (PARQUET_INVALID)', () => {
    const rows = [{ id: 'x', a: 1, b: 2 }];
    const opts = { compression: 'UNCOMPRESSED' as const, rowGroupRows: 10 };
    const bad = (schema: Schema, batch: ColumnBatch): void => assert.throws(() => writeFlatColumns(schema, batch, opts), (e: unknown) => isDagctlError(e, 'PARQUET_INVALID'));
    bad([{ name: 'id', type: 'string', nullable: true }], columnsOf(rows));
    bad([{ name: 'a', type: 'string' }], columnsOf(rows));
    bad(SCHEMA, { ...columnsOf(rows), rows: 2 });
    const unsafe = columnsOf(rows);
    unsafe.columns.a = { type: 'int64', values: Float64Array.of(2 ** 53) };
    bad(SCHEMA, unsafe);
  });

  it('DataFileWriter.writeColumns: files of at most maxRows rows, read back as the rows; a codec without encodeColumns refuses', async () => {
    const store = new MemoryObjectStore();
    const rows = Array.from({ length: 7 }, (_, i) => ({ id: `id-${i}`, a: i * 1000, b: 3 - i }));
    const w = new DataFileWriter({ store, codec: getCodec('flat'), schema: SCHEMA, folder: '', salt: 's', maxRows: 3 });
    await w.write(rows.slice(0, 1));
    await w.writeColumns(columnsOf(rows.slice(1)));
    const files = await w.close();
    assert.deepEqual(files.map((f) => f.rows), [1, 3, 3]);
    const back: Row[] = [];
    for (const f of files) for await (const b of getCodec('flat').decode(await store.get(f.path))) back.push(...b);
    assert.deepEqual(back, rows);
    const h = new DataFileWriter({ store, codec: getCodec('hyparquet'), schema: SCHEMA, folder: '', salt: 's' });
    await assert.rejects(h.writeColumns(columnsOf(rows)), (e: unknown) => isDagctlError(e, 'PARQUET_INVALID'));
  });

  it('compareUtf8Js orders UTF-8 bytes as JS orders the strings (UTF-16 code units)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 6 }), fc.array(fc.constantFrom(...chars), { maxLength: 6 }), (x, y) => {
      const a = x.join(''), b = y.join('');
      const buf = Buffer.concat([Buffer.from(a), Buffer.from(b)]);
      const c = compareUtf8Js(buf, 0, Buffer.byteLength(a), buf, Buffer.byteLength(a), Buffer.byteLength(b));
      assert.equal(Math.sign(c), a < b ? -1 : a > b ? 1 : 0);
    }), { numRuns: 500 });
  });
});
