/**
 * The flat Parquet writer (storage/parquet/flat), by property: pages the page kernel compressed
 * from adversarial values (incompressible, all-zero, long repeats, pages around the 64 KiB Snappy
 * fragments) read back identical via hyparquet and DuckDB (its own Snappy decoder), and random
 * rows of every flat column type — nulls, empty strings, unicode (astral, U+E000..U+FFFF, which
 * sort differently in UTF-16 and UTF-8), ±2^53−1 int64, NaN/±0/±Infinity, bytes — written with
 * small row groups read back identical via hyparquet and via DuckDB, whose footer statistics
 * (null count, min, max in UTF-8 byte order) match the rows.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parquetMetadata } from 'hyparquet';
import { getCodec } from '../../storage/parquet/registry.js';
import { writeFlatParquet } from '../../storage/parquet/flat/file.js';
import { exactArrayBuffer } from '../../storage/parquet/values.js';
import type { Row, Schema } from '../../storage/types.js';
import { duckRows, sqlPath, tempDir } from './helpers.js';

const SCHEMA: Schema = [
  { name: 's', type: 'string', nullable: true },
  { name: 'few', type: 'string' },
  { name: 'i64', type: 'int64' },
  { name: 'n64', type: 'int64', nullable: true },
  { name: 'i32', type: 'int32', nullable: true },
  { name: 'd', type: 'double', nullable: true },
  { name: 'b', type: 'boolean', nullable: true },
  { name: 'bytes', type: 'bytes', nullable: true },
  { name: 'req', type: 'bytes' },
];

// U+FEFF leads some: DuckDB's JS strings drop a leading BOM, so strings are read back as bytes (text).
const POOL = ['', 'a', 'ab', 'é', '日本', '😀', '\uE000', '\uFFFD', 'z', '\uFEFF', '\uFEFFz'];
const str = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom(...POOL));
const nullOr = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(a, { nil: null, freq: 4 });
const int64 = fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0, -1, 2 ** 32, -(2 ** 32)));
const row: fc.Arbitrary<Row> = fc.record({
  s: nullOr(str),
  few: fc.constantFrom(...POOL),
  i64: int64,
  n64: nullOr(int64),
  i32: nullOr(fc.integer()),
  d: nullOr(fc.double()),
  b: nullOr(fc.boolean()),
  bytes: nullOr(fc.uint8Array({ maxLength: 12 })),
  req: fc.uint8Array({ maxLength: 4 }),
}, { noNullPrototype: true });

/** Bytes in b as a plain Uint8Array (DuckDB gives Buffers). */
const plain = (v: unknown): unknown => (v instanceof Uint8Array ? new Uint8Array(v) : typeof v === 'bigint' ? Number(v) : v);
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
/** A string DuckDB gave as bytes (`encode(col)`), decoded keeping a leading BOM (its own JS strings drop it). */
const text = (v: unknown): unknown => (v instanceof Uint8Array ? utf8.decode(v) : v);
const STRING_COLUMNS = new Set(['s', 'few']);

describe('flat parquet writer (properties)', function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => {
    dir = await tempDir('pq-flat');
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('snappy pages of adversarial values read back identical via hyparquet and DuckDB', async () => {
    // One bytes column per row group, one page each: values whose pages are incompressible,
    // all-zero or long repeats, sized to end around the 64 KiB fragments of the compressor.
    let x = 7;
    const noise = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24);
    const unit = noise(13);
    const values: Uint8Array[] = [];
    for (const size of [65536 - 4, 65536 - 3, 65536, 131072 - 4, 200_000]) {
      values.push(noise(size), new Uint8Array(size), Uint8Array.from({ length: size }, (_, i) => unit[i % 13]!));
    }
    values.push(new Uint8Array(0), noise(1), new Uint8Array(15));
    const schema: Schema = [{ name: 'v', type: 'bytes' }, { name: 'n', type: 'int64' }];
    const rows: Row[] = values.map((v, i) => ({ v, n: i }));
    const bytes = writeFlatParquet(schema, rows, { compression: 'SNAPPY', rowGroupRows: 1 });
    const got: Row[] = [];
    for await (const b of getCodec('hyparquet').decode(bytes)) got.push(...b);
    assert.deepEqual(got, rows);
    const file = join(dir, 'adversarial.parquet');
    await fs.writeFile(file, bytes);
    const duck = (await duckRows(`SELECT v, n FROM read_parquet(${sqlPath(file)}) ORDER BY n`)).map((r) => ({ v: plain(r.v), n: plain(r.n) }));
    assert.deepEqual(duck, rows);
    // The zero and repeating pages shrank: pages were compressed, not stored.
    const meta = parquetMetadata(exactArrayBuffer(bytes));
    const stored = meta.row_groups.reduce((a, g) => a + Number(g.columns[0]!.meta_data!.total_compressed_size), 0);
    assert.ok(stored < values.reduce((a, v) => a + v.length, 0) * 0.5, `${stored} bytes stored`);
  });

  it('random rows read back identical via hyparquet and DuckDB, with matching statistics', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 120 }), fc.integer({ min: 1, max: 50 }), fc.boolean(), async (rows, groupRows, snappy) => {
        const bytes = writeFlatParquet(SCHEMA, rows, { compression: snappy ? 'SNAPPY' : 'UNCOMPRESSED', rowGroupRows: groupRows });
        const got: Row[] = [];
        for await (const b of getCodec('hyparquet').decode(bytes)) got.push(...b);
        assert.deepEqual(got, rows);

        const file = join(dir, `r${run++}.parquet`);
        await fs.writeFile(file, bytes);
        const duck = (await duckRows(`SELECT * REPLACE (encode(s) AS s, encode(few) AS few) FROM read_parquet(${sqlPath(file)})`))
          .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, STRING_COLUMNS.has(k) ? text(v) : plain(v)])));
        assert.deepEqual(duck, rows);
        if (rows.length > 0) await checkStatistics(file, bytes, rows, groupRows);
      }),
      { numRuns: 200 },
    );
  });

  it('large columns (sinks grow mid-value, several row groups) read back identical, byte-identical on rewrite', async () => {
    const words = ['ünïcödé', '日本語', '😀', 'plain', '\uE000'];
    const rows: Row[] = Array.from({ length: 150_000 }, (_, i) => ({
      s: i % 11 === 0 ? null : `${words[i % 5]!}/${(i * 7919) % 3001}/${'x'.repeat(i % 50)}`,
      u: `id-${i}-${words[i % 3]!}`,
      n: i % 3 === 0 ? null : i * 1_000_003,
      h: new Uint8Array(Array.from({ length: i % 40 }, (_, j) => (i + j) & 0xff)),
    }));
    const schema: Schema = [
      { name: 's', type: 'string', nullable: true },
      { name: 'u', type: 'string' },
      { name: 'n', type: 'int64', nullable: true },
      { name: 'h', type: 'bytes' },
    ];
    const codec = getCodec('flat');
    const bytes = await codec.encode(schema, rows);
    assert.deepEqual(await codec.encode(schema, rows), bytes);
    const got: Row[] = [];
    for await (const b of codec.decode(bytes)) got.push(...b);
    assert.deepEqual(got, rows);
    const file = join(dir, 'large.parquet');
    await fs.writeFile(file, bytes);
    const sums = await duckRows(`SELECT count(*)::INTEGER c, count(s)::INTEGER cs, sum(length(s))::BIGINT ls, sum(length(u))::BIGINT lu, sum(n)::BIGINT sn, sum(octet_length(h))::BIGINT lh FROM read_parquet(${sqlPath(file)})`);
    const len = (s: unknown): number => [...(s as string)].length;
    assert.deepEqual(sums.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]))), [{
      c: rows.length,
      cs: rows.filter((r) => r.s !== null).length,
      ls: rows.reduce((a, r) => a + (r.s === null ? 0 : len(r.s)), 0),
      lu: rows.reduce((a, r) => a + len(r.u), 0),
      sn: rows.reduce((a, r) => a + ((r.n as number | null) ?? 0), 0),
      lh: rows.reduce((a, r) => a + (r.h as Uint8Array).length, 0),
    }]);
    const sample = (await duckRows(`SELECT * FROM read_parquet(${sqlPath(file)}) LIMIT 5000 OFFSET 70000`)).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
    assert.deepEqual(sample, rows.slice(70_000, 75_000));
  });

  it('consecutive writes of different sizes on one thread: each file is what a first write gives, and stays so after later writes', async () => {
    // The writer sizes a file's buffer from the previous file and reuses its page scratch: a small
    // file after a large one (and the reverse) must be the same bytes, and a returned file must not
    // share memory with the next write.
    const schema: Schema = [{ name: 's', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'h', type: 'bytes' }];
    const rowsOf = (n: number, seed: number): Row[] => Array.from({ length: n }, (_, i) => ({ s: `u/${(i * seed) % 997}/${'y'.repeat(i % 13)}`, n: i * seed, h: new Uint8Array([i & 0xff, seed & 0xff]) }));
    const opts = { compression: 'SNAPPY' as const, rowGroupRows: 50_000 };
    const small = rowsOf(40, 3), large = rowsOf(120_000, 7), mid = rowsOf(3_000, 5);
    const first = writeFlatParquet(schema, small, opts);
    const firstCopy = new Uint8Array(first);
    const big = writeFlatParquet(schema, large, opts);
    const bigCopy = new Uint8Array(big);
    const again = writeFlatParquet(schema, small, opts);
    const middle = writeFlatParquet(schema, mid, opts);
    assert.deepEqual(again, firstCopy);
    assert.deepEqual(first, firstCopy);
    assert.deepEqual(big, bigCopy);
    assert.deepEqual(writeFlatParquet(schema, large, opts), bigCopy);
    assert.deepEqual(writeFlatParquet(schema, mid, opts), new Uint8Array(middle));
    const codec = getCodec('flat');
    for (const [bytes, rows] of [[again, small], [big, large], [middle, mid]] as const) {
      const got: Row[] = [];
      for await (const b of codec.decode(bytes)) got.push(...b);
      assert.deepEqual(got, rows);
    }
  });

  it('plain (non-dictionary) string statistics are in UTF-8 byte order when UTF-16 order differs', async () => {
    // 40 distinct values: too many for a dictionary. JS order puts U+FF61 above 😀 (a surrogate
    // pair, 0xD83D…); UTF-8 order puts 😀 (F0…) above U+FF61 (EF…). Min 'x0' is not the first value.
    for (const order of [['😀', '\uFF61'], ['\uFF61', '😀']]) {
      const vals = ['x5', ...order, ...Array.from({ length: 37 }, (_, i) => `x${i}`).filter((v) => v !== 'x5')];
      const rows = vals.map((s) => ({ s }));
      const schema: Schema = [{ name: 's', type: 'string', nullable: true }];
      const md = parquetMetadata(exactArrayBuffer(writeFlatParquet(schema, rows, { compression: 'UNCOMPRESSED', rowGroupRows: 1000 })));
      const c = md.row_groups[0]!.columns[0]!.meta_data!;
      assert.equal(c.encodings.includes('RLE_DICTIONARY'), false);
      assert.equal(c.statistics?.min_value, 'x0');
      assert.equal(c.statistics?.max_value, '😀');
    }
  });

  it('the flat codec writes what its codec name promises (Snappy, statistics, UTF8 annotation)', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ url: `u${i % 7}`, ts: i }));
    const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'ts', type: 'int64' }];
    const md = parquetMetadata(exactArrayBuffer(await getCodec('flat').encode(schema, rows)));
    const [url, ts] = md.row_groups[0]!.columns;
    assert.equal(url?.meta_data?.codec, 'SNAPPY');
    assert.equal(url?.meta_data?.encodings.includes('RLE_DICTIONARY'), true);
    assert.equal(ts?.meta_data?.statistics?.min_value, 0n);
    assert.equal(ts?.meta_data?.statistics?.max_value, 999n);
    assert.equal(md.schema[1]?.converted_type, 'UTF8');
  });
});

/** Compares DuckDB's view of the footer statistics with min/max computed from the rows. */
async function checkStatistics(file: string, bytes: Uint8Array, rows: Row[], groupRows: number): Promise<void> {
  const meta = await duckRows(
    `SELECT row_group_id::INTEGER g, path_in_schema c, stats_null_count::BIGINT n, encode(stats_min_value) mn, encode(stats_max_value) mx FROM parquet_metadata(${sqlPath(file)}) WHERE path_in_schema IN ('s', 'few', 'i64', 'n64', 'i32')`,
  );
  assert.equal(parquetMetadata(exactArrayBuffer(bytes)).row_groups.length, Math.ceil(rows.length / groupRows));
  for (const m of meta) {
    const g = m.g as number, c = m.c as string;
    const vals = rows.slice(g * groupRows, (g + 1) * groupRows).map((r) => r[c]);
    const present = vals.filter((v) => v !== null && v !== undefined);
    assert.equal(Number(m.n), vals.length - present.length, `${c} null count`);
    if (present.length === 0) continue;
    let mn: string, mx: string;
    if (typeof present[0] === 'string') {
      const sorted = (present as string[]).map((s) => Buffer.from(s, 'utf8')).sort(Buffer.compare);
      mn = sorted[0]!.toString('utf8');
      mx = sorted[sorted.length - 1]!.toString('utf8');
    } else {
      const nums = present as number[];
      mn = String(Math.min(...nums));
      mx = String(Math.max(...nums));
    }
    assert.equal(text(m.mn), mn, `${c} min`);
    assert.equal(text(m.mx), mx, `${c} max`);
  }
}
