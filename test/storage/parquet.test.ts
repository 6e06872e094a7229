/**
 * Parquet codecs: every codec reads what every codec writes, and DuckDB (independent oracle) reads
 * both with identical rows — nulls, int64 extremes, bytes, unicode. DuckDB-written files are read
 * by both codecs. Unsafe int64 values fail with PARQUET_INVALID on write and on read.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isDagctlError } from '../../core/errors.js';
import { decodeWithFallback, defaultCodec, getCodec, readSchemaOf } from '../../storage/parquet/registry.js';
import type { ParquetCodec, Row, Schema } from '../../storage/types.js';
import { rejectsWith } from '../conformance/object-store.js';
import { duckRows, sqlPath, tempDir } from './helpers.js';

const CODECS = ['flat', 'flat-uncompressed', 'hyparquet', 'hyparquet-uncompressed', 'parquetjs-lite'];

const SCHEMA: Schema = [
  { name: 's', type: 'string', nullable: true },
  { name: 'i64', type: 'int64' },
  { name: 'n64', type: 'int64', nullable: true },
  { name: 'i32', type: 'int32', nullable: true },
  { name: 'd', type: 'double', nullable: true },
  { name: 'b', type: 'boolean', nullable: true },
  { name: 'bytes', type: 'bytes', nullable: true },
];

function sampleRows(n: number): Row[] {
  const words = ['plain', 'ünïcödé', '日本語', '😀 emoji', '', 'quote\'s "x"', 'tab\tnew\nline'];
  return Array.from({ length: n }, (_, i) => ({
    s: i % 7 === 3 ? null : `${words[i % words.length] ?? ''}-${i}`,
    i64: i === 0 ? Number.MAX_SAFE_INTEGER : i === 1 ? Number.MIN_SAFE_INTEGER : i * 1_000_003 - 500_000_000,
    n64: i % 5 === 0 ? null : 1_700_000_000 + i,
    i32: i % 11 === 0 ? null : i % 2 === 0 ? 2147483647 - i : -2147483648 + i,
    d: i % 13 === 0 ? null : i / 7,
    b: i % 3 === 0 ? null : i % 2 === 0,
    bytes: i % 4 === 0 ? null : new Uint8Array(Array.from({ length: i % 9 }, (_, j) => (i * 31 + j) & 0xff)),
  }));
}

async function decodeAll(codec: ParquetCodec, bytes: Uint8Array, columns?: string[]): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of codec.decode(bytes, columns === undefined ? { batchSize: 100 } : { columns, batchSize: 100 })) out.push(...b);
  return out;
}

/** DuckDB's JS values → dagctl values (bigint → number, Buffer → Uint8Array). */
function fromDuck(r: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    out[k] = typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? new Uint8Array(v) : (v as Row[string]);
  }
  return out;
}

describe('parquet codecs', function () {
  this.timeout(60_000);
  let dir: string;
  const rows = sampleRows(1500);
  before(async () => {
    dir = await tempDir('pq');
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  for (const writer of CODECS) {
    for (const reader of CODECS) {
      if (reader === 'parquetjs-lite' && writer !== 'parquetjs-lite') {
        it(`parquetjs-lite refuses what ${writer} writes (PARQUET_INVALID) and decodeWithFallback reads it right`, async () => {
          const bytes = await getCodec(writer).encode(SCHEMA, rows);
          await rejectsWith(decodeAll(getCodec(reader), bytes), 'PARQUET_INVALID');
          const out: Row[] = [];
          for await (const b of decodeWithFallback(getCodec(reader), bytes)) out.push(...b);
          assert.deepEqual(out, rows);
        });
        continue;
      }
      it(`${reader} reads what ${writer} writes (rows, schema, rowCount, projection)`, async () => {
        const bytes = await getCodec(writer).encode(SCHEMA, rows);
        const r = getCodec(reader);
        assert.deepEqual(await decodeAll(r, bytes), rows);
        assert.deepEqual(await r.readSchema(bytes), SCHEMA.map((f) => ({ ...f, nullable: f.nullable === true })));
        assert.equal(await r.rowCount(bytes), rows.length);
        assert.deepEqual(await decodeAll(r, bytes, ['i64', 's']), rows.map((x) => ({ i64: x.i64, s: x.s })));
      });
    }
    it(`DuckDB reads what ${writer} writes, identical rows`, async () => {
      const bytes = await getCodec(writer).encode(SCHEMA, rows);
      const file = join(dir, `${writer}.parquet`);
      await fs.writeFile(file, bytes);
      const got = (await duckRows(`SELECT * FROM read_parquet(${sqlPath(file)})`)).map(fromDuck);
      assert.deepEqual(got, rows);
      const types = await duckRows(`SELECT typeof(s) s, typeof(i64) i, typeof(i32) n, typeof(bytes) b FROM read_parquet(${sqlPath(file)}) LIMIT 1`);
      assert.deepEqual(types, [{ s: 'VARCHAR', i: 'BIGINT', n: 'INTEGER', b: 'BLOB' }]);
    });
    it(`${writer} rejects unsafe int64 and mistyped values with PARQUET_INVALID`, async () => {
      await rejectsWith(getCodec(writer).encode(SCHEMA, [{ ...rows[1], i64: 2 ** 53 }]), 'PARQUET_INVALID');
      await rejectsWith(getCodec(writer).encode(SCHEMA, [{ ...rows[1], i64: null }]), 'PARQUET_INVALID');
      await rejectsWith(getCodec(writer).encode(SCHEMA, [{ ...rows[1], s: 5 }]), 'PARQUET_INVALID');
    });
  }

  for (const reader of ['flat', 'hyparquet', 'hyparquet-uncompressed']) {
    it(`${reader} reads a DuckDB-written file (snappy, dictionary pages) and rejects unsafe int64`, async () => {
      const file = join(dir, `duck-for-${reader}.parquet`);
      await duckRows(`COPY (SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 'url-' || (i % 17) END AS url, i::BIGINT * 1000 AS ts, (i % 100)::INTEGER AS age FROM range(3000) t(i)) TO ${sqlPath(file)} (FORMAT parquet, COMPRESSION snappy)`);
      const got = await decodeAll(getCodec(reader), new Uint8Array(await fs.readFile(file)));
      assert.equal(got.length, 3000);
      assert.deepEqual(got[7], { url: 'url-7', ts: 7000, age: 7 });
      assert.deepEqual(got[10], { url: null, ts: 10000, age: 10 });
      const big = join(dir, `big-for-${reader}.parquet`);
      await duckRows(`COPY (SELECT 9007199254740993::BIGINT AS x) TO ${sqlPath(big)} (FORMAT parquet)`);
      await assert.rejects(decodeAll(getCodec(reader), new Uint8Array(await fs.readFile(big))), (e: unknown) => isDagctlError(e, 'PARQUET_INVALID'));
    });
  }

  it('parquetjs-lite refuses a DuckDB-written file rather than misreading it', async () => {
    const file = join(dir, 'duck-pjs.parquet');
    await duckRows(`COPY (SELECT (i % 100)::INTEGER AS age FROM range(100) t(i)) TO ${sqlPath(file)} (FORMAT parquet)`);
    await rejectsWith(decodeAll(getCodec('parquetjs-lite'), new Uint8Array(await fs.readFile(file))), 'PARQUET_INVALID');
    // readSchemaOf (a dataset's schema check) falls back to hyparquet, like decodeWithFallback.
    assert.deepEqual(await readSchemaOf(getCodec('parquetjs-lite'), new Uint8Array(await fs.readFile(file))), [{ name: 'age', type: 'int32', nullable: true }]);
  });

  it('registry: default is flat, DAGCTL_PARQUET_CODEC overrides, unknown names are PARAM_INVALID', () => {
    assert.equal(defaultCodec({}).name, 'flat');
    assert.equal(defaultCodec({ DAGCTL_PARQUET_CODEC: 'parquetjs-lite' }).name, 'parquetjs-lite');
    assert.throws(() => getCodec('nope'), (e: unknown) => isDagctlError(e, 'PARAM_INVALID'));
  });

  it('garbage bytes are PARQUET_INVALID', async () => {
    for (const c of CODECS) await rejectsWith(decodeAll(getCodec(c), new TextEncoder().encode('not parquet at all')), 'PARQUET_INVALID');
  });
});
