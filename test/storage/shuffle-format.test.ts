/**
 * The DGSH shuffle format (storage/shuffle): what it writes reads back exactly as the same rows
 * written through Parquet (hyparquet, the independent oracle) — nulls in every type, int64 at
 * ±2^53−1, bytes, unicode and lone-surrogate-free strings, projection and batching; repeated
 * strings come back as one dictionary entry; readers given a Parquet codec still read DGSH files
 * (decodeWithFallback / readSchemaOf dispatch on the magic); corrupt or truncated files fail with
 * SHUFFLE_INVALID and unsafe integers with PARQUET_INVALID. ShuffleFileWriter: per-bucket files,
 * the buckets' last blocks as sections of one shared object (entries with an offset, read by
 * readEntry with or without a ranged read; a short object is SHUFFLE_INVALID), rows in write order,
 * content-derived names (a retry rewrites the same files); shared objects capped in size (many big
 * buckets → several objects, every section read back exactly); sections carry SHARED_VERSION, which
 * a reader predating shared objects (409c2ad's version check) refuses with its version error, while
 * today's readers read both versions. encodeRawBlock (columns given as bytes and typed arrays, int32
 * included) writes the block encodeBlock writes for the same rows.
 */
import assert from 'node:assert/strict';
import { decodeWithFallback, getCodec, readSchemaOf } from '../../storage/parquet/registry.js';
import { SHUFFLE_CODEC } from '../../storage/shuffle/codec.js';
import { decodeShuffle, decodeShuffleBlocksBytes, encodeBlock, encodeHeader, encodeRawBlock, encodeShuffle, isShuffleFile, SHARED_VERSION } from '../../storage/shuffle/format.js';
import { DagctlError } from '../../core/errors.js';
import type { FileEntry, ParquetCodec, Row, Schema } from '../../storage/types.js';
import { ShuffleFileWriter } from '../../storage/shuffle/writer.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { readEntry, readRows } from '../../storage/dataset/read.js';
import { LocalObjectStore } from '../../storage/local/store.js';
import type { ObjectStore } from '../../storage/types.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../../core/hash.js';
import { mulberry32 } from '../../gen/prng.js';
import { rejectsWith } from '../conformance/object-store.js';

const SCHEMA: Schema = [
  { name: 's', type: 'string', nullable: true },
  { name: 'url', type: 'string' },
  { name: 'i64', type: 'int64' },
  { name: 'n64', type: 'int64', nullable: true },
  { name: 'i32', type: 'int32', nullable: true },
  { name: 'd', type: 'double', nullable: true },
  { name: 'b', type: 'boolean', nullable: true },
  { name: 'bytes', type: 'bytes', nullable: true },
];

function sampleRows(n: number, seed: number): Row[] {
  const rnd = mulberry32(seed);
  const words = ['plain', 'ünïcödé', '日本語', '😀 emoji', '', 'quote\'s "x"', 'tab\tnew\nline'];
  const pick = (): string => words[Math.floor(rnd() * words.length)] ?? '';
  return Array.from({ length: n }, (_, i) => ({
    s: rnd() < 0.15 ? null : `${pick()}-${Math.floor(rnd() * 1e6)}`,
    url: `https://example.com/${pick()}/${Math.floor(rnd() * 20)}`,
    i64: i === 0 ? Number.MAX_SAFE_INTEGER : i === 1 ? Number.MIN_SAFE_INTEGER : Math.floor((rnd() - 0.5) * 2 ** 53),
    n64: rnd() < 0.2 ? null : 1_700_000_000 + Math.floor(rnd() * 1e6),
    i32: rnd() < 0.1 ? null : (Math.floor(rnd() * 2 ** 32) | 0),
    d: rnd() < 0.1 ? null : (rnd() - 0.5) * 1e9,
    b: rnd() < 0.3 ? null : rnd() < 0.5,
    bytes: rnd() < 0.25 ? null : new Uint8Array(Array.from({ length: Math.floor(rnd() * 9) }, () => Math.floor(rnd() * 256))),
  }));
}

async function decodeAll(codec: ParquetCodec, bytes: Uint8Array, opts: { columns?: string[]; batchSize?: number } = {}): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of codec.decode(bytes, opts)) out.push(...b);
  return out;
}

describe('shuffle format (DGSH)', () => {
  for (const n of [0, 1, 1000, 20_000]) {
    it(`${n} rows read back as Parquet reads them back (rows, schema, rowCount)`, async () => {
      const rows = sampleRows(n, 7 + n);
      const bytes = await SHUFFLE_CODEC.encode(SCHEMA, rows);
      const pq = getCodec('hyparquet');
      const oracle = n === 0 ? [] : await decodeAll(pq, await pq.encode(SCHEMA, rows));
      assert.ok(isShuffleFile(bytes));
      assert.deepEqual(await decodeAll(SHUFFLE_CODEC, bytes, { batchSize: 333 }), oracle);
      assert.equal(await SHUFFLE_CODEC.rowCount(bytes), n);
      assert.deepEqual(await SHUFFLE_CODEC.readSchema(bytes), SCHEMA.map((f) => ({ ...f, nullable: f.nullable === true })));
    });
  }

  it('a bytes column\'s block is the layout byte for byte (offsets, values back to back, padding) and copies its values', () => {
    // Values as views into one shared buffer at odd offsets, empty values and nulls among them:
    // the reference below lays the section out by hand, as the format's banner says.
    const rnd = mulberry32(7);
    const shared = new Uint8Array(4096).map(() => Math.floor(rnd() * 256));
    const schema: Schema = [{ name: 'v', type: 'bytes', nullable: true }, { name: 'w', type: 'bytes' }];
    for (const n of [1, 2, 7, 300]) {
      const rows: Row[] = Array.from({ length: n }, (_, i) => {
        const at = Math.floor(rnd() * 4000), len = i % 5 === 0 ? 0 : Math.floor(rnd() * 37);
        return { v: i % 4 === 1 ? null : shared.subarray(at, at + len), w: new Uint8Array(Array.from({ length: i % 9 }, (_, j) => (i * 31 + j) & 0xff)) };
      });
      const expected = rows.map((r) => ({ v: r.v === null ? null : new Uint8Array(r.v as Uint8Array), w: new Uint8Array(r.w as Uint8Array) }));
      const block = encodeBlock(schema, rows);
      const pad8 = (x: number): number => (x + 7) & ~7;
      const section = (name: 'v' | 'w'): number[] => {
        const vals = expected.map((r) => r[name]);
        const nullable = vals.includes(null); // the null mask is there when some value is null
        const body: number[] = [];
        const padTo8 = (): void => { while (body.length % 8 !== 0) body.push(0); };
        if (nullable) {
          for (const x of vals) body.push(x === null ? 1 : 0);
          padTo8();
        }
        const offsets = new Uint32Array(n + 1);
        for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + (vals[i]?.length ?? 0);
        body.push(...new Uint8Array(offsets.buffer));
        padTo8();
        for (const x of vals) if (x !== null) body.push(...x);
        padTo8();
        return [...new Uint8Array(Uint32Array.of(body.length, nullable ? 1 : 0).buffer), ...body];
      };
      const cols = [...section('v'), ...section('w')];
      const want = new Uint8Array([...new Uint8Array(Uint32Array.of(n, cols.length).buffer), ...cols]);
      assert.equal(block.byteLength, pad8(block.byteLength));
      assert.deepEqual(new Uint8Array(block), want);
      // The block is a copy: what the writer does with its buffers afterwards does not change it.
      shared.fill(0xee);
      for (const r of rows) (r.w as Uint8Array).fill(0xee);
      assert.deepEqual(new Uint8Array(block), want);
      const file = Buffer.concat([encodeShuffle(schema, []), block]);
      assert.deepEqual([...decodeShuffle(file)].flat(), expected);
      shared.set(new Uint8Array(4096).map(() => Math.floor(rnd() * 256)));
    }
  });

  it('encodeRawBlock writes the block encodeBlock writes: dictionary and plain strings, int64 and int32 (odd row count, padding)', () => {
    const schema: Schema = [{ name: 'u', type: 'string' }, { name: 'p', type: 'string' }, { name: 't', type: 'int64' }, { name: 'h', type: 'int32' }];
    const rows: Row[] = [
      { u: 'a', p: 'zoë', t: 1, h: -1 },
      { u: 'b', p: 'x', t: -(2 ** 40), h: 2 ** 31 - 1 },
      { u: 'a', p: '😀', t: 0, h: -(2 ** 31) },
    ];
    const raw = encodeRawBlock(schema, 3, [
      { kind: 'dict', lens: Uint32Array.of(1, 1), utf8: Buffer.from('ab'), idx: Uint32Array.of(0, 1, 0) },
      { kind: 'plain', lens: Uint32Array.of(3, 1, 2), utf8: Buffer.from('zoëx😀') },
      { kind: 'f64', values: Float64Array.of(1, -(2 ** 40), 0) },
      { kind: 'i32', values: Int32Array.of(-1, 2 ** 31 - 1, -(2 ** 31)) },
    ]);
    const file = Buffer.concat([encodeHeader(schema), raw]);
    assert.deepEqual([...decodeShuffle(file)].flat(), rows);
    assert.deepEqual([...decodeShuffle(file)].flat(), [...decodeShuffle(Buffer.concat([encodeHeader(schema), encodeBlock(schema, rows)]))].flat());
    assert.throws(() => encodeRawBlock([{ name: 'h', type: 'int64' }], 1, [{ kind: 'i32', values: Int32Array.of(1) }]), (e: unknown) => e instanceof DagctlError && e.code === 'INTERNAL');
  });

  it('projects columns in the requested order and batches as asked', async () => {
    const rows = sampleRows(2500, 3);
    const bytes = encodeShuffle(SCHEMA, rows);
    const batches = [...decodeShuffle(bytes, ['i64', 's'], 1000)];
    assert.deepEqual(batches.map((b) => b.length), [1000, 1000, 500]);
    const got = batches.flat();
    assert.deepEqual(got, rows.map((r) => ({ i64: r.i64, s: r.s })));
    assert.deepEqual(Object.keys(got[0]!), ['i64', 's']);
    assert.throws(() => [...decodeShuffle(bytes, ['nope'])], (e: unknown) => (e as { code?: string }).code === 'DATASET_SCHEMA_MISMATCH');
  });

  it('reads a file handed over as an unaligned Buffer (byteOffset 3) as it reads an aligned one, with both decoders', () => {
    const rows = sampleRows(500, 11);
    const bytes = encodeShuffle(SCHEMA, rows);
    const ab = new ArrayBuffer(bytes.length + 3);
    new Uint8Array(ab, 3).set(bytes);
    const unaligned = Buffer.from(ab, 3, bytes.length);
    assert.equal(unaligned.byteOffset % 4, 3);
    assert.deepEqual([...decodeShuffle(unaligned)].flat(), [...decodeShuffle(bytes)].flat());
    assert.deepEqual([...decodeShuffle(unaligned)].flat(), rows);
    assert.deepEqual(decodeShuffleBlocksBytes(unaligned), decodeShuffleBlocksBytes(bytes));
  });

  it('repeated strings are decoded once: equal values are the same dictionary entry', () => {
    const rows = sampleRows(3000, 5);
    const got = [...decodeShuffle(encodeShuffle(SCHEMA, rows))].flat();
    const distinct = new Set(rows.map((r) => r.url)).size;
    assert.ok(distinct < 200, `sample has ${distinct} distinct urls`);
    // The file is smaller than the urls' total UTF-8: each distinct url is stored once.
    const urlBytes = rows.reduce((s, r) => s + Buffer.byteLength(r.url as string), 0);
    assert.ok(encodeShuffle([{ name: 'url', type: 'string' }], rows).byteLength < urlBytes / 2);
    assert.deepEqual(got.map((r) => r.url), rows.map((r) => r.url));
  });

  it('readers handed a Parquet codec dispatch DGSH files on their magic', async () => {
    const rows = sampleRows(500, 9);
    const bytes = encodeShuffle(SCHEMA, rows);
    const out: Row[] = [];
    for await (const b of decodeWithFallback(getCodec('parquetjs-lite'), bytes)) out.push(...b);
    assert.deepEqual(out, [...decodeShuffle(bytes)].flat());
    assert.deepEqual(await readSchemaOf(getCodec('hyparquet'), bytes), await SHUFFLE_CODEC.readSchema(bytes));
  });

  it('corrupt, truncated and foreign files fail with SHUFFLE_INVALID; unsafe integers with PARQUET_INVALID', async () => {
    const bytes = encodeShuffle(SCHEMA, sampleRows(100, 11));
    await rejectsWith(decodeAll(SHUFFLE_CODEC, bytes.subarray(0, bytes.byteLength - 64)), 'SHUFFLE_INVALID');
    await rejectsWith(decodeAll(SHUFFLE_CODEC, bytes.subarray(0, 30)), 'SHUFFLE_INVALID');
    const v2 = bytes.slice();
    v2[4] = 99;
    await rejectsWith(decodeAll(SHUFFLE_CODEC, v2), 'SHUFFLE_INVALID');
    await rejectsWith(decodeAll(SHUFFLE_CODEC, await getCodec('hyparquet').encode(SCHEMA, sampleRows(5, 1))), 'SHUFFLE_INVALID');
    await rejectsWith(SHUFFLE_CODEC.encode([{ name: 'x', type: 'int64' }], [{ x: 2 ** 60 }]), 'PARQUET_INVALID');
    await rejectsWith(SHUFFLE_CODEC.encode([{ name: 'x', type: 'string' }], [{ x: null }]), 'PARQUET_INVALID');
  });
});

describe('hyparquet string encoding (UTF-8 views of one buffer)', () => {
  it('writes what TextEncoder writes: ASCII, non-ASCII, lone surrogates (as U+FFFD), nulls', async () => {
    const schema: Schema = [{ name: 's', type: 'string', nullable: true }];
    const roundTrip = (s: string): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(s));
    for (const values of [['a', 'bc', '', 'def'], ['a\ud800', '\udc00b', '😀', null, 'é', 'x\udfff\ud800y']]) {
      const rows = values.map((s) => ({ s }));
      const got = await decodeAll(getCodec('hyparquet'), await getCodec('hyparquet').encode(schema, rows));
      assert.deepEqual(got, values.map((s) => ({ s: s === null ? null : roundTrip(s) })));
    }
  });
});

describe('ShuffleFileWriter', () => {
  const schema: Schema = [
    { name: 'url', type: 'string' },
    { name: 'ts', type: 'int64' },
  ];
  async function writeAll(store: ObjectStore, rows: Row[], maxBytes: number): Promise<FileEntry[]> {
    const w = new ShuffleFileWriter({ store, schema, buckets: 4, folder: 'map/r1/', salt: 'inst-1', maxBytes });
    // Routed by ts mod 4, written in chunks of 700 per bucket as operators do.
    const pending: Row[][] = [[], [], [], []];
    for (const r of rows) {
      const b = (r.ts as number) % 4;
      pending[b]!.push(r);
      if (pending[b]!.length === 700) await w.write(b, pending[b]!.splice(0));
    }
    for (let b = 0; b < 4; b++) await w.write(b, pending[b]!);
    return w.close();
  }

  it('writes each bucket\'s rows, in order, into create-only .dgsh files that readRows reads back', async () => {
    const rnd = mulberry32(42);
    const rows: Row[] = Array.from({ length: 20_000 }, () => ({ url: `u${Math.floor(rnd() * 50)}`, ts: Math.floor(rnd() * 1e9) }));
    const store = new MemoryObjectStore('shuffle-writer-test');
    const files = await writeAll(store, rows, 4096);
    assert.ok(files.length > 4, 'small maxBytes splits buckets into several files');
    assert.deepEqual(files.map((f) => f.bucket), [...files.map((f) => f.bucket!)].sort((a, b) => a - b));
    await checkFiles(store, files, rows);
    // The buckets' last files share one object: one write (one fsync) at close.
    const shared = files.filter((f) => f.offset !== undefined);
    assert.equal(shared.length, 4);
    assert.equal(new Set(shared.map((f) => f.path)).size, 1);
    // A retried attempt writes the same names and bytes (idempotent), nothing else.
    const again = await writeAll(store, rows, 4096);
    assert.deepEqual(again, files);
  });

  async function checkFiles(store: ObjectStore, files: FileEntry[], rows: Row[]): Promise<void> {
    assert.deepEqual(files.map((f) => f.bucket), [...files.map((f) => f.bucket!)].sort((a, b) => a - b));
    for (const f of files) {
      if (f.offset === undefined) assert.match(f.path, /^map\/r1\/bucket=00\d\/part-\d{5}-[0-9a-f]{16}\.dgsh$/);
      else {
        assert.match(f.path, /^map\/r1\/part-\d{5}-[0-9a-f]{16}\.dgsh$/);
        assert.equal(f.offset % 8, 0);
      }
      const bytes = await readEntry(store, f);
      assert.equal(bytes.byteLength, f.bytes);
      assert.equal(f.sha256, sha256Hex(bytes));
      assert.equal(f.rows, await SHUFFLE_CODEC.rowCount(bytes));
    }
    for (let b = 0; b < 4; b++) {
      const got: Row[] = [];
      for await (const batch of readRows(store, files.filter((f) => f.bucket === b), getCodec('hyparquet'))) got.push(...batch);
      assert.deepEqual(got, rows.filter((r) => (r.ts as number) % 4 === b));
    }
  }

  it('puts small buckets into one shared object, read back per bucket by ranged reads or whole (local and memory stores)', async () => {
    const rnd = mulberry32(7);
    const rows: Row[] = Array.from({ length: 5_000 }, () => ({ url: `u${Math.floor(rnd() * 5000)}`, ts: Math.floor(rnd() * 1e9) }));
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-shuffle-'));
    try {
      const local = new LocalObjectStore(dir);
      const files = await writeAll(local, rows, 1 << 20);
      assert.equal(files.length, 4);
      assert.ok(files.every((f) => f.offset !== undefined && f.path === files[0]!.path));
      await checkFiles(local, files, rows);
      // A store without getRange: the object is read whole and cut.
      const whole: ObjectStore = { rootUri: local.rootUri, list: (p) => local.list(p), listDirs: (p) => local.listDirs(p), head: (k) => local.head(k), get: (k) => local.get(k), putIfAbsent: (k, b) => local.putIfAbsent(k, b), putIfMatch: (k, b, e) => local.putIfMatch(k, b, e), delete: (k) => local.delete(k) };
      await checkFiles(whole, files, rows);
      // Writing to a store without ranged reads (S3): a file per bucket, no shared object.
      const plain = new MemoryObjectStore('no-range');
      Object.defineProperty(plain, 'getRange', { value: undefined });
      const separate = await writeAll(plain, rows, 1 << 20);
      assert.ok(separate.length === 4 && separate.every((f) => f.offset === undefined));
      await checkFiles(plain, separate, rows);
      const mem = new MemoryObjectStore('shared');
      assert.deepEqual(await writeAll(mem, rows, 1 << 20), files);
      await checkFiles(mem, files, rows);
      // An entry past the object's end: SHUFFLE_INVALID, from both read paths.
      const last = files[files.length - 1]!;
      const past = { ...last, bytes: last.bytes + 8 };
      await rejectsWith(readEntry(local, past), 'SHUFFLE_INVALID');
      await rejectsWith(readEntry(whole, past), 'SHUFFLE_INVALID');
      await rejectsWith(readEntry(local, { ...last, path: 'map/r1/absent.dgsh' }), 'STORAGE_NOT_FOUND');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  /**
   * The version check of a reader that predates shared objects (storage/shuffle/format.ts parse at
   * 409c2ad, which reads a whole object from its start, ignoring FileEntry.offset): a version other
   * than 1 is SHUFFLE_INVALID "unsupported version", before any block is read.
   */
  function oldReaderVersionCheck(bytes: Uint8Array): void {
    if (!isShuffleFile(bytes)) throw new DagctlError('SHUFFLE_INVALID', 'shuffle file: bad magic (not a DGSH shuffle file)');
    if (bytes[4] !== 1) throw new DagctlError('SHUFFLE_INVALID', `shuffle file: unsupported version ${String(bytes[4])}`, { version: bytes[4] });
  }

  it('shared sections carry SHARED_VERSION: an older reader refuses the object with its version error; per-bucket files stay version 1 and both read back', async () => {
    const rnd = mulberry32(11);
    const rows: Row[] = Array.from({ length: 20_000 }, () => ({ url: `u${Math.floor(rnd() * 50)}`, ts: Math.floor(rnd() * 1e9) }));
    const store = new MemoryObjectStore('versions');
    const files = await writeAll(store, rows, 4096);
    const shared = files.filter((f) => f.offset !== undefined);
    const single = files.filter((f) => f.offset === undefined);
    assert.ok(shared.length > 1 && single.length > 0, `${shared.length} shared, ${single.length} single`);
    const whole = await store.get(shared[0]!.path);
    assert.equal(SHARED_VERSION, 2);
    for (const f of shared) assert.equal(whole[f.offset! + 4], SHARED_VERSION, 'every section, not only the first');
    // What an older worker does with the object: refused by its version check, never read as blocks.
    assert.throws(() => oldReaderVersionCheck(whole), (e: unknown) => e instanceof DagctlError && e.code === 'SHUFFLE_INVALID' && e.details.version === SHARED_VERSION);
    // Per-bucket files are version 1: the older reader accepts them, and so does today's.
    for (const f of single) {
      const bytes = await store.get(f.path);
      assert.equal(bytes[4], 1);
      oldReaderVersionCheck(bytes);
    }
    await checkFiles(store, files, rows);
    // A version-1 file as older writers wrote it (encodeShuffle) reads back with today's reader.
    const old = encodeShuffle(schema, rows.slice(0, 100));
    assert.equal(old[4], 1);
    assert.deepEqual([...decodeShuffle(old)].flat(), rows.slice(0, 100));
    // A version neither writes: SHUFFLE_INVALID.
    const v3 = old.slice();
    v3[4] = 3;
    assert.throws(() => [...decodeShuffle(v3)], (e: unknown) => e instanceof DagctlError && e.code === 'SHUFFLE_INVALID' && e.details.version === 3);
  });

  it('caps a shared object: many buckets with big pending parts go into several objects, every section read back exactly', async () => {
    const buckets = 40, cap = 256 * 1024;
    const rnd = mulberry32(3);
    const store = new MemoryObjectStore('capped');
    const w = new ShuffleFileWriter({ store, schema, buckets, folder: 'map/r1/', salt: 'inst-1', maxBytes: 1 << 30, maxSharedBytes: cap });
    const want: Row[][] = Array.from({ length: buckets }, () => []);
    for (let chunk = 0; chunk < 4; chunk++) {
      for (let b = 0; b < buckets; b++) {
        // ~25–60 KiB per bucket pending at close, so about 5–10 sections fit an object.
        const n = 400 + Math.floor(rnd() * 600);
        const rs = Array.from({ length: n }, () => ({ url: `https://example.com/${Math.floor(rnd() * 1e12).toString(36)}`, ts: Math.floor(rnd() * 1e9) }));
        want[b]!.push(...rs);
        await w.write(b, rs);
      }
    }
    const files = await w.close();
    assert.deepEqual(files.map((f) => f.bucket), Array.from({ length: buckets }, (_, b) => b), 'one section per bucket');
    assert.ok(files.every((f) => f.offset !== undefined && f.offset % 8 === 0));
    const paths = [...new Set(files.map((f) => f.path))];
    assert.ok(paths.length > 2, `several objects, got ${paths.length}`);
    for (const path of paths) {
      const info = await store.head(path);
      const mine = files.filter((f) => f.path === path);
      assert.ok(info !== null && info.size <= cap, `${path}: ${info?.size} bytes`);
      assert.equal(info.size, Math.max(...mine.map((f) => f.offset! + f.bytes)), 'no bytes past the last section');
    }
    for (const f of files) {
      const bytes = await readEntry(store, f);
      assert.equal(f.sha256, sha256Hex(bytes));
      assert.deepEqual([...decodeShuffle(bytes)].flat(), want[f.bucket!]);
    }
    // A section larger than the cap: its bucket gets a file of its own (version 1, in its bucket folder).
    const w2 = new ShuffleFileWriter({ store, schema, buckets: 3, folder: 'map/r2/', maxBytes: 1 << 30, maxSharedBytes: 4096 });
    const big = Array.from({ length: 2000 }, (_, i) => ({ url: `v${i}`, ts: i }));
    for (let b = 0; b < 3; b++) await w2.write(b, big);
    const own = await w2.close();
    assert.equal(own.length, 3);
    for (const f of own) {
      assert.ok(f.offset === undefined && f.path.startsWith(`map/r2/bucket=00${f.bucket}/`), f.path);
      assert.deepEqual([...decodeShuffle(await readEntry(store, f))].flat(), big);
    }
  });

  it('refuses out-of-range buckets and writes after close', async () => {
    const w = new ShuffleFileWriter({ store: new MemoryObjectStore('sw2'), schema, buckets: 2, folder: '' });
    await rejectsWith(w.write(2, [{ url: 'a', ts: 1 }]), 'PARAM_INVALID');
    await w.close();
    await rejectsWith(w.write(0, [{ url: 'a', ts: 1 }]), 'INTERNAL');
  });
});
