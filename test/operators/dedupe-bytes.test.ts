/**
 * dedupe's byte paths against the row path and a plain reference: the map over raw Parquet files
 * (operators/dedupe/byte-map.ts: buckets from the bytes, shuffle blocks encoded from them) and the
 * whole-row reduce writing column batches from shuffle bytes (operators/dedupe/byte-distinct.ts),
 * on random rows with duplicates, repeated and distinct strings, non-ASCII text (2-, 3- and 4-byte
 * UTF-8, private-use characters above the surrogates) and safe integers of any sign; bytes that
 * are not UTF-8 fail with PARQUET_INVALID_UTF8 naming the file, as the row path does; nullable
 * (null-heavy) columns keep the row paths.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dedupe, type DedupeParams } from '../../operators/dedupe/dedupe.js';
import { HASH_FIELD, hashKey, mixUtf8, mixValue, shuffleSchema, utf8Value } from '../../operators/dedupe/row-index.js';
import type { InputHandle, StageContext } from '../../operators/types.js';
import { decodeShuffle, encodeBlock, encodeHeader } from '../../storage/shuffle/format.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { isDagctlError } from '../../core/errors.js';
import { memInput } from './harness.js';
import type { ColumnBatch, Row, Schema } from '../../storage/types.js';

const SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'person', type: 'string' },
  { name: 'ts', type: 'int64' },
];
const KEY = ['url', 'person', 'ts'];

const URLS = ['http://a.com/x', 'http://b.org/ü', 'http://é.fr/€', 'http://x.io/😀', 'http://p.net/\uE000', ''];
const PERSONS = ['cookie:01', 'user:7', 'email:zoë@x.org', 'cookie:\u{1F600}', 'p\uFFFD', 'x'];

const rowArb = fc.record({
  url: fc.oneof(fc.constantFrom(...URLS), fc.string({ unit: 'binary', maxLength: 6 })),
  person: fc.oneof(fc.constantFrom(...PERSONS), fc.string({ unit: 'grapheme', maxLength: 8 })),
  ts: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 32, -(2 ** 40))),
}, { noNullPrototype: true });

/** Parquet files of `files` as the default codec writes them, handed out raw. */
async function parquetInput(files: Row[][], schema: Schema = SCHEMA): Promise<InputHandle> {
  const codec = defaultCodec();
  const bytes = await Promise.all(files.map((rows) => codec.encode(schema, rows)));
  return memInput('in', files.flat(), 1000, [], schema, () => bytes.map((b, i) => ({ path: `date=d/f${i}.parquet`, bytes: b.byteLength, read: async () => b })));
}

/** dedupe's map over `input`: per bucket, the rows it received (blocks decoded, then row writes),
 * each carrying its hashKey over `key` in HASH_FIELD (checked), which the rows here no longer hold. */
async function mapOver(input: InputHandle, buckets: number, key: string[] = KEY): Promise<{ byBucket: Row[][]; blocks: number; metrics: Record<string, number> }> {
  const byBucket: Row[][] = Array.from({ length: buckets }, () => []);
  let blocks = 0;
  const schema = await input.schema();
  const header = encodeHeader(shuffleSchema(schema!));
  const carried = (r: Row): Row => {
    const { [HASH_FIELD]: h, ...row } = r;
    assert.equal(h, hashKey(row, key) | 0, 'the row carries its hash');
    return row;
  };
  const params: DedupeParams = { key, orderBy: null, keep: 'first', columnTypes: {}, buckets };
  const ctx = {
    params, stage: { name: 'map', fanout: 'partition' }, buckets, inputs: [input],
    shuffle: {
      buckets,
      open: (s: Schema) => {
        assert.deepEqual(s, shuffleSchema(schema!));
        return {
          buckets,
          write: async (b: number, rows: Row[]) => { byBucket[b]!.push(...rows.map(carried)); },
          writeBlock: async (b: number, block: Uint8Array, rows: number) => {
            blocks++;
            const got = [...decodeShuffle(Buffer.concat([header, block]))].flat();
            assert.equal(got.length, rows);
            byBucket[b]!.push(...got.map(carried));
          },
        };
      },
    },
  } as unknown as StageContext<DedupeParams>;
  const r = await dedupe.run(ctx);
  return { byBucket, blocks, metrics: r.metrics ?? {} };
}


/** Rows of a column batch (strings decoded from their UTF-8 ranges). */
function batchRows(b: ColumnBatch, names: string[]): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < b.rows; i++) {
    const r: Row = {};
    for (const nm of names) {
      const c = b.columns[nm]!;
      r[nm] = c.type === 'int64' ? c.values[i]! : Buffer.from(c.data.subarray(c.start[i], c.start[i]! + c.len[i]!)).toString('utf8');
    }
    out.push(r);
  }
  return out;
}

/**
 * dedupe's whole-row reduce over DGSH files: with `columns` the output takes column batches (the
 * byte path), else rows (ShuffleDistinct). The output rows in written order, and the metrics.
 */
async function reduceOver(files: Uint8Array[], columns: boolean, schema: Schema = SCHEMA): Promise<{ rows: Row[]; batches: number; metrics: Record<string, number> }> {
  const rows = files.flatMap((b) => [...decodeShuffle(b)].flat());
  const input = memInput('prior', rows, 7, [], shuffleSchema(schema), () => files.map((b, i) => ({ path: `f${i}.dgsh`, bytes: b.byteLength, read: async () => b })));
  const out: Row[] = [];
  let batches = 0;
  const params: DedupeParams = { key: KEY, orderBy: null, keep: 'first', columnTypes: {}, buckets: 1 };
  const writer = {
    write: async (rs: Row[]) => { out.push(...rs.map((r) => ({ ...r }))); },
    ...(columns ? { writeColumns: async (b: ColumnBatch) => { batches++; out.push(...batchRows(b, KEY)); } } : {}),
  };
  const ctx = {
    params, stage: { name: 'reduce', fanout: 'bucket' }, bucket: 0, buckets: 1,
    prior: { bucket: () => input },
    // The output's schema is the input's: the shuffle's hash column stays behind.
    outputs: [{ open: (s: Schema) => { assert.deepEqual(s, schema); return writer; } }],
  } as unknown as StageContext<DedupeParams>;
  const r = await dedupe.run(ctx);
  return { rows: out, batches, metrics: r.metrics ?? {} };
}

/** The map's blocks of one bucket as DGSH files (header + blocks), `perFile` blocks a file. */
async function shuffleFiles(input: InputHandle, buckets: number, perFile: number): Promise<Uint8Array[][]> {
  const blocks: Uint8Array[][] = Array.from({ length: buckets }, () => []);
  const params: DedupeParams = { key: KEY, orderBy: null, keep: 'first', columnTypes: {}, buckets };
  const ctx = {
    params, stage: { name: 'map', fanout: 'partition' }, buckets, inputs: [input],
    shuffle: { buckets, open: () => ({ buckets, write: async () => { throw new Error('row path'); }, writeBlock: async (b: number, block: Uint8Array) => { blocks[b]!.push(block); } }) },
  } as unknown as StageContext<DedupeParams>;
  await dedupe.run(ctx);
  const header = encodeHeader(shuffleSchema(SCHEMA));
  return blocks.map((bs) => {
    const files: Uint8Array[] = [];
    for (let i = 0; i < bs.length; i += perFile) files.push(Buffer.concat([header, ...bs.slice(i, i + perFile)]));
    return files;
  });
}

/** Two distinct persons whose {url, person, ts} rows collide on hashKey (found by search). */
function collidingPersons(url: string, ts: number): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const person = `p${i}é`;
    const h = hashKey({ url, person, ts }, KEY);
    const other = seen.get(h);
    if (other !== undefined) return [other, person];
    seen.set(h, person);
  }
}

const canon = (r: Row): string => JSON.stringify([r.url, r.person, r.ts]);
const sorted = (rows: Row[]): string[] => rows.map(canon).sort();

describe('operators/dedupe byte paths', () => {
  it('mixUtf8 over UTF-8 bytes equals mixValue over the decoded string, and refuses bytes that are not UTF-8', () => {
    const strs = ['', 'abc', 'zoë', '€uro', '😀x', '\uE000\uFFFF', 'a'.repeat(40) + 'é'];
    for (const s of strs) {
      const b = Buffer.from(s, 'utf8');
      assert.equal(mixUtf8(12345, b, 0, b.length), mixValue(12345, s), s);
      assert.equal(utf8Value.units, s.length, s);
    }
    for (const bad of [[0xc3], [0xe2, 0x82], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0x61, 0xff]]) {
      mixUtf8(1, Uint8Array.from(bad), 0, bad.length);
      assert.equal(utf8Value.units, -1, JSON.stringify(bad));
    }
  });

  it('the shuffle schema is the input\'s fields then the int32 hash column; an input column of that name is OPERATOR_INPUT_INVALID', () => {
    assert.deepEqual(shuffleSchema(SCHEMA), [...SCHEMA, { name: HASH_FIELD, type: 'int32' }]);
    assert.throws(() => shuffleSchema([...SCHEMA, { name: HASH_FIELD, type: 'int32' }]), (e: unknown) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
  });

  it('the map routes every row as the row path does (bucket = hashKey % B), as shuffle blocks (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(rowArb, { maxLength: 60 }), { minLength: 1, maxLength: 3 }), fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(8, 64, 7, 100)), fc.constantFrom(KEY, ['person', 'url'], ['ts']),
      async (files, buckets, key) => {
        const { byBucket, blocks, metrics } = await mapOver(await parquetInput(files), buckets, key);
        const all = files.flat();
        assert.equal(metrics.rowsIn, all.length);
        assert.ok(blocks > 0 || all.length === 0, 'the byte path ran');
        for (let b = 0; b < buckets; b++) {
          const want = all.filter((r) => hashKey(r, key) % buckets === b);
          assert.deepEqual(sorted(byBucket[b]!), sorted(want), `bucket ${b}`);
        }
      }), { numRuns: 60 });
  });

  it('the map finds thousands of repeated values per file (its entry table grows), routing and values intact', async () => {
    // url: runs of 4 equal values, 3,000 distinct (a repeated column whose entries outgrow the table);
    // person: 50 values (repeated, few entries).
    const rows: Row[] = [];
    for (let i = 0; i < 24_000; i++) rows.push({ url: `https://e.com/${Math.floor(i / 4) % 3000}/ü`, person: `p${(i * 7) % 50}`, ts: i % 13 });
    const { byBucket, blocks } = await mapOver(await parquetInput([rows.slice(0, 14_000), rows.slice(14_000)]), 8);
    assert.ok(blocks >= 8, `blocks ${blocks}`);
    for (let b = 0; b < 8; b++) assert.deepEqual(sorted(byBucket[b]!), sorted(rows.filter((r) => hashKey(r, KEY) % 8 === b)), `bucket ${b}`);
    // Distinct (plain) values of every length from 0 to 70 bytes: copied by words, bytes and natively.
    const plain: Row[] = [];
    for (let i = 0; i < 5_000; i++) plain.push({ url: `u${i % 3}`, person: `${i}`.padEnd(i % 71, i % 2 === 0 ? 'x' : 'é').slice(0, i % 71), ts: i });
    const p = await mapOver(await parquetInput([plain]), 8);
    for (let b = 0; b < 8; b++) assert.deepEqual(sorted(p.byBucket[b]!), sorted(plain.filter((r) => hashKey(r, KEY) % 8 === b)), `plain bucket ${b}`);
  });

  it('the map writes blocks of repeated (dictionary) and distinct columns at scale, split by blockRows', async () => {
    const rows: Row[] = [];
    for (let i = 0; i < 30_000; i++) rows.push({ url: URLS[i % URLS.length]! + (i % 37), person: `p${i % 9001}é`, ts: i % 11 });
    const { byBucket, blocks } = await mapOver(await parquetInput([rows.slice(0, 20_000), rows.slice(20_000)]), 2);
    assert.ok(blocks >= 4, `blocks ${blocks}`);
    for (let b = 0; b < 2; b++) assert.deepEqual(sorted(byBucket[b]!), sorted(rows.filter((r) => hashKey(r, KEY) % 2 === b)));
  });

  it('a file whose strings are not UTF-8 fails with PARQUET_INVALID_UTF8 naming it; nothing of it is routed first', async () => {
    const codec = defaultCodec();
    const good = await codec.encode(SCHEMA, [{ url: 'u', person: 'p', ts: 1 }]);
    const data = Uint8Array.from([0x75, 0xc3, 0x28]);
    const batch: ColumnBatch = { rows: 1, columns: { url: { type: 'string', data, start: Int32Array.of(0), len: Int32Array.of(1) }, person: { type: 'string', data, start: Int32Array.of(1), len: Int32Array.of(2) }, ts: { type: 'int64', values: Float64Array.of(1) } } };
    const bad = await codec.encodeColumns!(SCHEMA, batch);
    const input = memInput('in', [], 10, [], SCHEMA, () => [good, bad].map((b, i) => ({ path: `f${i}.parquet`, bytes: b.byteLength, read: async () => b })));
    await assert.rejects(mapOver(input, 2), (e: unknown) => isDagctlError(e, 'PARQUET_INVALID_UTF8') && String((e as { details: { file?: string } }).details.file) === 'f1.parquet');
  });
  it('the byte reduce writes exactly what the row reduce writes (rows, order, metrics) and the distinct rows (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(rowArb, { maxLength: 80 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }),
      async (files, buckets, perFile) => {
        const shuffled = await shuffleFiles(await parquetInput(files), buckets, perFile);
        const all: Row[] = [];
        for (const bucket of shuffled) {
          if (bucket.length === 0) continue;
          const bytes = await reduceOver(bucket, true), rows = await reduceOver(bucket, false);
          assert.ok(bytes.batches > 0, 'the byte path ran');
          assert.deepEqual(bytes.rows, rows.rows);
          assert.deepEqual(bytes.metrics, rows.metrics);
          all.push(...bytes.rows);
        }
        assert.deepEqual(sorted(all), [...new Set(files.flat().map(canon))].sort());
      }), { numRuns: 60 });
  });

  it('a key value with a lone surrogate is routed as stored (U+FFFD): rows equal in the shuffle share one hash and one bucket', async () => {
    const rows: Row[] = [{ url: '\uD800', person: 'p', ts: 1 }, { url: '\uFFFD', person: 'p', ts: 1 }, { url: 'a\uDC00b', person: '\uD83D', ts: 2 }];
    const { byBucket } = await mapOver(memInput('in', rows, 1000, [], SCHEMA), 8);
    const got: Array<Row & { b: number }> = byBucket.flatMap((rs, b) => rs.map((r) => ({ ...r, b })));
    assert.deepEqual(sorted(got.map(({ b: _b, ...r }) => r)), sorted([{ url: '\uFFFD', person: 'p', ts: 1 }, { url: '\uFFFD', person: 'p', ts: 1 }, { url: 'a\uFFFDb', person: '\uFFFD', ts: 2 }]));
    const twins = got.filter((r) => r.ts === 1);
    assert.equal(twins[0]!.b, twins[1]!.b, 'one bucket');
  });

  it('the byte reduce keeps both rows of a hash collision, ordered by key values, across files and blocks', async () => {
    const [p1, p2] = collidingPersons('http://é.fr/x', 7);
    const a = { url: 'http://é.fr/x', person: p1, ts: 7 }, b = { url: 'http://é.fr/x', person: p2, ts: 7 };
    const files = [[b, a, b], [a, { url: 'u', person: 'q', ts: 1 }], [b]];
    const shuffled = await shuffleFiles(await parquetInput(files), 1, 1);
    const bytes = await reduceOver(shuffled[0]!, true), rows = await reduceOver(shuffled[0]!, false);
    assert.ok(bytes.batches > 0, 'the byte path ran');
    assert.deepEqual(bytes.rows, rows.rows);
    assert.deepEqual(sorted(bytes.rows), sorted([a, b, { url: 'u', person: 'q', ts: 1 }]));
    assert.equal(bytes.metrics.removed, 3);
  });

  it('the byte reduce resolves runs of equal hashes wherever they fall: duplicates and collisions in any order, first, last or adjacent (fast-check)', async () => {
    const [p1, p2] = collidingPersons('http://é.fr/x', 7);
    const pool = [
      { url: 'http://é.fr/x', person: p1, ts: 7 }, { url: 'http://é.fr/x', person: p2, ts: 7 },
      { url: 'u', person: 'q', ts: 1 }, { url: 'u', person: 'r', ts: 2 }, { url: URLS[0]!, person: 'ü', ts: 3 },
    ];
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(fc.nat({ max: pool.length - 1 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
      async (picks) => {
        const files = picks.map((f) => f.map((i) => ({ ...pool[i]! })));
        const shuffled = await shuffleFiles(await parquetInput(files), 1, 1);
        const bytes = await reduceOver(shuffled[0]!, true), rows = await reduceOver(shuffled[0]!, false);
        assert.ok(bytes.batches > 0, 'the byte path ran');
        assert.deepEqual(bytes.rows, rows.rows);
        assert.deepEqual(sorted(bytes.rows), [...new Set(files.flat().map(canon))].sort());
        assert.equal(bytes.metrics.removed, files.flat().length - bytes.rows.length);
      }), { numRuns: 40 });
  });

  it('the byte reduce at scale: many blocks, dictionary and plain columns, batches of DEFAULT_MAX_ROWS', async () => {
    const rows: Row[] = [];
    for (let i = 0; i < 120_000; i++) rows.push({ url: URLS[i % URLS.length]! + (i % 53), person: `p${i % 50_001}ü`, ts: i % 3 });
    const shuffled = await shuffleFiles(await parquetInput([rows.slice(0, 70_000), rows.slice(70_000)]), 1, 2);
    const bytes = await reduceOver(shuffled[0]!, true), base = await reduceOver(shuffled[0]!, false);
    assert.equal(bytes.batches, 2);
    assert.deepEqual(bytes.rows, base.rows);
    assert.equal(bytes.rows.length, new Set(rows.map(canon)).size);
  });
  it('plain values of any length (word, byte and native copies) survive the map and the reduce, as the row reduce and a reference give them (fast-check)', async () => {
    // Some values are 0–1 bytes long (the copies' shortest tails), the rest any length up to ~300.
    const long = fc.oneof(fc.constantFrom('', 'a', 'é'), fc.tuple(fc.string({ unit: 'grapheme', minLength: 0, maxLength: 40 }), fc.nat({ max: 1_000_000 }), fc.nat({ max: 120 })).map(([s, i, pad]) => `${i}:${s}${'é'.repeat(pad)}`));
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ url: fc.constantFrom('u', 'v'), person: long, ts: fc.integer({ min: 0, max: 2 }) }, { noNullPrototype: true }), { minLength: 1, maxLength: 400 }),
      fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }),
      async (base, dups, buckets) => {
        const rows = [...base, ...base.slice(0, dups * 7)];
        const shuffled = await shuffleFiles(await parquetInput([rows.slice(0, 250), rows.slice(250)].filter((f) => f.length > 0)), buckets, 2);
        const all: Row[] = [];
        for (const bucket of shuffled) {
          if (bucket.length === 0) continue;
          const bytes = await reduceOver(bucket, true), ref = await reduceOver(bucket, false);
          assert.ok(bytes.batches > 0, 'the byte path ran');
          assert.deepEqual(bytes.rows, ref.rows);
          all.push(...bytes.rows);
        }
        assert.deepEqual(sorted(all), [...new Set(rows.map(canon))].sort());
      }), { numRuns: 40 });
  });

  it('null-heavy nullable columns take the row paths (map and reduce) and give the distinct rows (fast-check)', async () => {
    const NULLABLE: Schema = [{ name: 'url', type: 'string', nullable: true }, { name: 'person', type: 'string', nullable: true }, { name: 'ts', type: 'int64', nullable: true }];
    const nullRow = fc.record({ url: fc.option(fc.constantFrom(...URLS), { freq: 2 }), person: fc.option(fc.constantFrom(...PERSONS), { freq: 2 }), ts: fc.option(fc.integer({ min: 0, max: 2 }), { freq: 2 }) }, { noNullPrototype: true });
    await fc.assert(fc.asyncProperty(fc.array(fc.array(nullRow, { maxLength: 40 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), async (files, buckets) => {
      const { byBucket, blocks } = await mapOver(await parquetInput(files, NULLABLE), buckets);
      assert.equal(blocks, 0);
      const all: Row[] = [];
      for (let b = 0; b < buckets; b++) {
        const rows = byBucket[b]!;
        assert.deepEqual(sorted(rows), sorted(files.flat().filter((r) => hashKey(r, KEY) % buckets === b)));
        if (rows.length === 0) continue;
        const withHash = rows.map((row) => ({ ...row, [HASH_FIELD]: hashKey(row, KEY) | 0 }));
        const r = await reduceOver([Buffer.concat([encodeHeader(shuffleSchema(NULLABLE)), encodeBlock(shuffleSchema(NULLABLE), withHash)])], true, NULLABLE);
        assert.equal(r.batches, 0);
        all.push(...r.rows);
      }
      assert.deepEqual(sorted(all), [...new Set(files.flat().map(canon))].sort());
    }), { numRuns: 40 });
  });
});
