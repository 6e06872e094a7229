/**
 * storage/parquet/flat/columns.ts (writeFlatColumns) against the row writer as its oracle: the
 * same values as columns and as rows give byte-identical files (PLAIN strings — near-unique ids,
 * for which both give the dictionary up — dictionary-encoded strings of few distinct values, and
 * int64s; several row groups, Snappy or not; PLAIN chunks of KERNEL_MIN_VALUES or more through the
 * page kernel, whose payload and extremes are also checked against Buffer.concat / Buffer.compare
 * on scattered and overlapping byte ranges), also when strings come with the producer's
 * dictionary ids (ColumnValues.ids); bad input is PARQUET_INVALID; DataFileWriter.writeColumns splits at maxRows. And lib/byte-intern.ts compareUtf8Js equals JS string order.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeFlatColumns, writeFlatParquet } from '../../storage/parquet/flat/file.js';
import { KERNEL_MIN_VALUES } from '../../storage/parquet/flat/columns.js';
import { ByteSink } from '../../storage/parquet/flat/sink.js';
import { plainStringsWasm } from '../../storage/parquet/page-kernel.js';
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

/** The same batch with dictionary ids for `id` (sparse: 1000 + 7 × first-seen rank). */
function withIds(b: ColumnBatch, rows: Row[]): ColumnBatch {
  const seen = new Map<string, number>();
  const ids = Int32Array.from(rows, (r) => {
    const k = r.id as string;
    let x = seen.get(k);
    if (x === undefined) seen.set(k, (x = 1000 + 7 * seen.size));
    return x;
  });
  const c = b.columns.id;
  assert.ok(c?.type === 'string');
  return { ...b, columns: { ...b.columns, id: { ...c, ids } } };
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
        const want = Buffer.from(writeFlatParquet(SCHEMA, rows, opts));
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, columnsOf(rows), opts)), want);
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, withIds(columnsOf(rows), rows), opts)), want);
      }), { numRuns: 150 });
  });

  it('PLAIN chunks through the page kernel: the same bytes as the row writer (fast-check)', () => {
    // Row groups of KERNEL_MIN_VALUES or more unique ids (PLAIN, the kernel's path), values laid
    // out in a shuffled, gapped buffer (not in row order), with chars whose UTF-8 and UTF-16 orders differ.
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((c) => c.join('')), fc.nat()), { minLength: KERNEL_MIN_VALUES, maxLength: 400 }),
      fc.integer({ min: KERNEL_MIN_VALUES, max: 200 }), fc.boolean(), fc.integer({ min: 0, max: 40 }),
      (vals, groupRows, snappy, gap) => {
        const g = Math.min(groupRows, vals.length);
        const rows = vals.slice(0, vals.length - (vals.length % g)).map(([s, a], i) => ({ id: `${s}${(i * 7919).toString(36)}`, a, b: i }));
        const opts = { compression: snappy ? 'SNAPPY' as const : 'UNCOMPRESSED' as const, rowGroupRows: g };
        const want = Buffer.from(writeFlatParquet(SCHEMA, rows, opts));
        const cols = columnsOf(rows);
        const order = rows.map((_, i) => i).sort((x, y) => ((x * 31) % 17) - ((y * 31) % 17) || x - y);
        const parts: Buffer[] = [];
        const start = new Int32Array(rows.length), len = new Int32Array(rows.length);
        let at = 0;
        for (const i of order) {
          const b = Buffer.from(rows[i]!.id, 'utf8');
          parts.push(Buffer.alloc(gap, 0xff), b);
          start[i] = at + gap;
          len[i] = b.length;
          at += gap + b.length;
        }
        const scattered: ColumnBatch = { ...cols, columns: { ...cols.columns, id: { type: 'string', data: Buffer.concat(parts), start, len } } };
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, cols, opts)), want);
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, scattered, opts)), want);
      }), { numRuns: 100 });
  });

  it('page kernel plainStringsWasm: PLAIN payload and first least/greatest rows as Buffer.concat / Buffer.compare (fast-check)', () => {
    // Arbitrary bytes (0x00 and 0xff, shared prefixes, lengths around the 8-byte steps), ranges
    // that overlap or repeat, appended after what the sink holds.
    const value = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.tuple(fc.constantFrom('cookie:', 'user:', ''), fc.uint8Array({ maxLength: 20 })).map(([p, b]) => new Uint8Array(Buffer.concat([Buffer.from(p), b]))));
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { minLength: 1, maxLength: 400 }), fc.nat(), fc.nat({ max: 50 }), (vals, picks, from0, lead) => {
      const data = Buffer.concat(vals.map((v) => Buffer.from(v)));
      const offs: number[] = [];
      let at = 0;
      for (const v of vals) { offs.push(at); at += v.length; }
      const start = Int32Array.from(picks, (p) => offs[p % vals.length]!), len = Int32Array.from(picks, (p) => vals[p % vals.length]!.length);
      const from = from0 % picks.length, to = picks.length;
      const sink = new ByteSink();
      sink.ensure(lead);
      sink.buf.fill(7, 0, lead);
      sink.pos = lead;
      const got = plainStringsWasm(data, start, len, from, to, sink);
      assert.ok(got !== null);
      const vs = Array.from({ length: to - from }, (_, k) => data.subarray(start[from + k], start[from + k]! + len[from + k]!));
      const page = Buffer.concat([Buffer.alloc(lead, 7), ...vs.flatMap((v) => { const l = Buffer.alloc(4); l.writeUInt32LE(v.length); return [l, v]; })]);
      assert.deepEqual(Buffer.from(sink.buf.subarray(0, sink.pos)), page);
      let lo = 0, hi = 0;
      vs.forEach((v, k) => { if (Buffer.compare(v, vs[lo]!) < 0) lo = k; if (Buffer.compare(v, vs[hi]!) > 0) hi = k; });
      assert.deepEqual(got, { lo: from + lo, hi: from + hi });
    }), { numRuns: 300 });
  });

  it('page kernel plainStringsWasm refuses values spread thinly over a large buffer, or over more than 8 MiB (the JS loop writes them)', () => {
    const data = new Uint8Array(4 << 20);
    const start = Int32Array.of(0, (4 << 20) - 2), len = Int32Array.of(2, 2);
    const sink = new ByteSink();
    assert.equal(plainStringsWasm(data, start, len, 0, 2, sink), null);
    assert.equal(sink.pos, 0);
    // Dense enough (2 MiB of values over 10 MiB) but past the kernel's 8 MiB bound on a span.
    const big = new Uint8Array(10 << 20);
    assert.equal(plainStringsWasm(big, Int32Array.of(0, 9 << 20), Int32Array.of(1 << 20, 1 << 20), 0, 2, sink), null);
    assert.equal(sink.pos, 0);
    // Under it: taken.
    assert.notEqual(plainStringsWasm(big, Int32Array.of(0, 6 << 20), Int32Array.of(1 << 20, 1 << 20), 0, 2, sink), null);
    assert.equal(sink.pos, 2 * (4 + (1 << 20)));
  });

  it('dictionary-encodes repeating strings exactly as the row writer does (fast-check)', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.constantFrom(...chars), { maxLength: 4 }).map((c) => c.join('')), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 300 }),
      fc.integer({ min: 1, max: 120 }), fc.boolean(),
      (distinct, picks, groupRows, snappy) => {
        // Values drawn from a few distinct strings (some groups keep their dictionary, some give it up).
        const rows = picks.map((p, i) => ({ id: distinct[p % distinct.length]!, a: i, b: -i }));
        const opts = { compression: snappy ? 'SNAPPY' as const : 'UNCOMPRESSED' as const, rowGroupRows: groupRows };
        const want = Buffer.from(writeFlatParquet(SCHEMA, rows, opts));
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, columnsOf(rows), opts)), want);
        assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, withIds(columnsOf(rows), rows), opts)), want);
      }), { numRuns: 200 });
  });

  it('dictionary pages from columns read back as the rows (flat decoder and DuckDB)', async () => {
    // 5,000 rows over 300 distinct ids (dictionary kept) with a forced hash-slot crowd: equal
    // lengths, shared prefixes.
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: `cookie:${((i * 7919) % 300).toString(16).padStart(8, '0')}`, a: i, b: i % 7 }));
    const bytes = writeFlatColumns(SCHEMA, columnsOf(rows), { compression: 'SNAPPY', rowGroupRows: 2048 });
    const back: Row[] = [];
    for await (const b of getCodec('flat').decode(bytes)) back.push(...b);
    assert.deepEqual(back, rows);
    const dir = await mkdtemp(join(tmpdir(), 'flat-dict-'));
    try {
      await writeFile(join(dir, 'f.parquet'), bytes);
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const con = await (await DuckDBInstance.create(':memory:')).connect();
      const got = (await con.runAndReadAll(`SELECT id, a, b FROM read_parquet('${join(dir, 'f.parquet')}') ORDER BY a`)).getRows();
      assert.deepEqual(got.map(([id, a, b]) => ({ id, a: Number(a), b: Number(b) })), rows);
      const enc = (await con.runAndReadAll(`SELECT DISTINCT encodings FROM parquet_metadata('${join(dir, 'f.parquet')}') WHERE path_in_schema = 'id'`)).getRows();
      assert.ok(enc.every(([e]) => String(e).includes('RLE_DICTIONARY')), String(enc));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the dictionary up on a near-unique start, as the row writer does (3584 of the first 4096)', () => {
    // 10,000 rows: the first 4,096 distinct, then a few values (under half distinct overall).
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i < 4096 ? `u${i}` : `r${i % 5}`, a: i, b: 0 }));
    const opts = { compression: 'UNCOMPRESSED' as const, rowGroupRows: 10_000 };
    const cols = Buffer.from(writeFlatColumns(SCHEMA, columnsOf(rows), opts));
    assert.deepEqual(cols, Buffer.from(writeFlatParquet(SCHEMA, rows, opts)));
    assert.deepEqual(Buffer.from(writeFlatColumns(SCHEMA, withIds(columnsOf(rows), rows), opts)), cols);
    // PLAIN: every value's bytes are in the data page (a dictionary page would hold u0…u4095 once, r0…r4 once).
    assert.ok(cols.includes(Buffer.from('r3')) && cols.indexOf(Buffer.from('r3')) !== cols.lastIndexOf(Buffer.from('r3')));
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
    // dictionary ids: negative, or one id for values of different lengths
    const two = [{ id: 'x', a: 1, b: 2 }, { id: 'yy', a: 1, b: 2 }];
    const ids = (x: number[]): ColumnBatch => {
      const b = withIds(columnsOf(two), two), c = b.columns.id;
      assert.ok(c?.type === 'string');
      return { ...b, columns: { ...b.columns, id: { ...c, ids: Int32Array.from(x) } } };
    };
    bad(SCHEMA, ids([0, -1]));
    bad(SCHEMA, ids([5, 5]));
    assert.ok(writeFlatColumns(SCHEMA, ids([5, 6]), opts).length > 0);
  });

  it('DataFileWriter.writeColumns: files of at most maxRows rows, read back as the rows; a codec without encodeColumns refuses', async () => {
    const store = new MemoryObjectStore();
    const rows = Array.from({ length: 7 }, (_, i) => ({ id: `id-${i}`, a: i * 1000, b: 3 - i }));
    const w = new DataFileWriter({ store, codec: getCodec('flat'), schema: SCHEMA, folder: '', salt: 's', maxRows: 3 });
    await w.write(rows.slice(0, 1));
    await w.writeColumns(columnsOf(rows.slice(1)));
    const files = await w.close();
    assert.deepEqual(files.map((f) => f.rows), [1, 3, 3]);
    // with dictionary ids: split the same, the same files
    const wi = new DataFileWriter({ store, codec: getCodec('flat'), schema: SCHEMA, folder: 'ids/', salt: 's', maxRows: 3 });
    await wi.write(rows.slice(0, 1));
    await wi.writeColumns(withIds(columnsOf(rows.slice(1)), rows.slice(1)));
    const withIdFiles = await wi.close();
    assert.deepEqual(await Promise.all(withIdFiles.map(async (f) => Buffer.from(await store.get(f.path)))), await Promise.all(files.map(async (f) => Buffer.from(await store.get(f.path)))));
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
