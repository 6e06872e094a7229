/**
 * Data generator: deterministic per seed, exact schemas, date partitions with commit markers,
 * appending a day leaves existing files untouched, re-running is a no-op, a conflicting re-run is
 * STORAGE_CONFLICT; pageviews and equivs agree on persons (checked with DuckDB as the oracle);
 * generation on worker threads writes byte-identical files and markers to a serial one, read the
 * same by DuckDB (dictionary pages included). The fast paths (identifiers written from draws by
 * index, FNV keys carried on from a prefix) equal the plain ones (person(), rngFor, mulberry32), and
 * pageviews' values are pinned: other tests and benches depend on the exact data.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../../gen/generate.js';
import { createHash } from 'node:crypto';
import { batchRows, pageviewBatches, PageviewTables, URL_VARIANTS } from '../../gen/columns.js';
import { PAGE_COUNT, urlVariant } from '../../gen/urls.js';
import { SCHEMAS } from '../../gen/kinds.js';
import { person, PersonIds, MAX_ID_BYTES } from '../../gen/persons.js';
import { drawAt, KeyPrefix, mulberry32, rngFor } from '../../gen/prng.js';
import { fnv1a32 } from '../../core/hash.js';
import { readRows } from '../../storage/dataset/read.js';
import { listSource } from '../../storage/dataset/source.js';
import { LocalObjectStore } from '../../storage/local/store.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { ObjectStore, Row } from '../../storage/types.js';
import { rejectsWith } from '../conformance/object-store.js';
import { duckRows, sqlPath, tempDir } from './helpers.js';

async function allRows(store: ObjectStore): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of readRows(store, await listSource(store, { format: 'parquet', partitionBy: 'date' }), getCodec('hyparquet'))) out.push(...b);
  return out;
}

describe('data generator', function () {
  this.timeout(60_000);

  it('is deterministic per seed and differs across seeds', async () => {
    const a = new MemoryObjectStore();
    const b = new MemoryObjectStore();
    const c = new MemoryObjectStore();
    await generate('pageviews', { store: a, rows: 3000, seed: 1, days: 2, persons: 200 });
    await generate('pageviews', { store: b, rows: 3000, seed: 1, days: 2, persons: 200 });
    await generate('pageviews', { store: c, rows: 3000, seed: 2, days: 2, persons: 200 });
    const ra = await allRows(a);
    assert.equal(ra.length, 3000);
    assert.deepEqual(ra, await allRows(b));
    assert.notDeepEqual(ra, await allRows(c));
    assert.deepEqual((await a.list('')).map((o) => o.key), (await b.list('')).map((o) => o.key));
  });

  it('pageviews: the same rows whatever the file size and whether the codec takes columns or rows', async () => {
    const a = new MemoryObjectStore();
    const b = new MemoryObjectStore();
    const c = new MemoryObjectStore();
    await generate('pageviews', { store: a, rows: 5000, seed: 4, days: 2, persons: 300 });
    await generate('pageviews', { store: b, rows: 5000, seed: 4, days: 2, persons: 300, maxRowsPerFile: 700 });
    await generate('pageviews', { store: c, rows: 5000, seed: 4, days: 2, persons: 300, codec: getCodec('hyparquet') });
    const ra = await allRows(a);
    assert.equal((await b.list('date=2024-01-01/')).length, Math.ceil(2500 / 700));
    assert.deepEqual(await allRows(b), ra);
    assert.deepEqual(await allRows(c), ra);
    // Exact duplicates of the previous row (at-least-once logging), ~2%.
    const keys = ra.map((r) => `${String(r.url)}|${String(r.person)}|${String(r.ts)}`);
    const dup = keys.filter((k, i) => i > 0 && k === keys[i - 1]).length;
    assert.ok(dup > 40 && dup < 200, `duplicates ${dup}`);
  });

  for (const kind of ['pageviews', 'equivs', 'ages'] as const) {
    it(`${kind}: exact schema, ts within the row's date partition`, async () => {
      const store = new MemoryObjectStore();
      await generate(kind, { store, rows: 2000, seed: 3, start: '2024-02-28', days: 2, persons: 100 });
      const files = await listSource(store, { format: 'parquet', partitionBy: 'date' });
      assert.deepEqual([...new Set(files.map((f) => f.partition))], ['2024-02-28', '2024-02-29']);
      const bytes = await store.get(files[0]?.path ?? '');
      assert.deepEqual(await getCodec('hyparquet').readSchema(bytes), SCHEMAS[kind].map((f) => ({ ...f, nullable: false })));
      for (const f of files) {
        for await (const batch of readRows(store, [f], getCodec('hyparquet'))) {
          for (const r of batch) {
            assert.equal(new Date(Number(r.ts) * 1000).toISOString().slice(0, 10), f.partition);
          }
        }
      }
    });
  }

  it('appending a day adds a partition without touching existing files; re-runs are no-ops; conflicts refused', async () => {
    const store = new MemoryObjectStore();
    await generate('equivs', { store, rows: 1000, seed: 5, start: '2024-01-01', days: 2, persons: 100 });
    const before = await store.list('');
    const again = await generate('equivs', { store, rows: 1000, seed: 5, start: '2024-01-01', days: 2, persons: 100 });
    assert.ok(again.days.every((d) => d.skipped));
    await generate('equivs', { store, rows: 500, seed: 5, start: '2024-01-03', days: 1, persons: 100 });
    const after = await store.list('');
    for (const o of before) assert.deepEqual(after.find((x) => x.key === o.key), o);
    assert.deepEqual(await store.listDirs(''), ['_commits/', 'date=2024-01-01/', 'date=2024-01-02/', 'date=2024-01-03/']);
    assert.ok((await store.list('_commits/')).every((o) => /^_commits\/gen-equivs-2024-01-0[123]-5@[0-9a-f]{16}\.json$/.test(o.key)));
    await rejectsWith(generate('equivs', { store, rows: 999, seed: 5, start: '2024-01-03', days: 1, persons: 100 }), 'STORAGE_CONFLICT');
  });

  it('pageviews on worker threads: the same files, names and markers as a serial generation; DuckDB reads them', async () => {
    const serial = new MemoryObjectStore();
    const opts = { rows: 24_000, seed: 6, days: 5, persons: 2_000, maxRowsPerFile: 1_500 };
    await generate('pageviews', { ...opts, store: serial, threads: 1 });
    const files = async (s: MemoryObjectStore): Promise<[string, string][]> => Promise.all((await s.list('')).map(async (o) => {
      const b = Buffer.from(await s.get(o.key));
      // markers: all but committedAt
      return [o.key, o.key.startsWith('_commits/') ? JSON.stringify({ ...(JSON.parse(b.toString()) as object), committedAt: '' }) : b.toString('base64')] as [string, string];
    }));
    const want = await files(serial);
    assert.ok(want.filter(([k]) => k.startsWith('date=')).length >= 15);
    for (const threads of [2, 3]) {
      const par = new MemoryObjectStore();
      // one day already there: skipped by the threaded run too
      await generate('pageviews', { ...opts, days: 1, rows: 24_000 / 5, store: par, threads: 1 });
      const r = await generate('pageviews', { ...opts, store: par, threads });
      assert.deepEqual(r.days.map((d) => d.skipped), [true, false, false, false, false]);
      assert.equal(r.rows, 24_000);
      assert.deepEqual(await files(par), want, `threads ${threads}`);
    }
    const dir = await tempDir('gen-par');
    try {
      const store = new LocalObjectStore(dir);
      await generate('pageviews', { ...opts, store, threads: 2 });
      const [n] = await duckRows(`SELECT count(*) AS n, count(DISTINCT url) AS u, sum(length(person)) AS p, sum(ts) AS t FROM read_parquet(${sqlPath(join(dir, '*', '*.parquet'))})`);
      const rows = await allRows(store);
      assert.equal(Number(n?.n), rows.length);
      assert.equal(Number(n?.u), new Set(rows.map((x) => x.url)).size);
      assert.equal(Number(n?.p), rows.reduce((a, x) => a + [...String(x.person)].length, 0));
      assert.equal(Number(n?.t), rows.reduce((a, x) => a + Number(x.ts), 0));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a conflicting day is refused before any day is written', async () => {
    const store = new MemoryObjectStore();
    await generate('pageviews', { store, rows: 1000, seed: 8, start: '2024-01-02', days: 1, persons: 100 });
    const before = (await store.list('')).map((o) => o.key);
    await rejectsWith(generate('pageviews', { store, rows: 3300, seed: 8, start: '2024-01-01', days: 3, persons: 100, threads: 2 }), 'STORAGE_CONFLICT');
    assert.deepEqual((await store.list('')).map((o) => o.key), before);
  });

  it('pageviews and equivs share persons; equivs contain chains, stars and self-loops (DuckDB oracle)', async () => {
    const dir = await tempDir('gen');
    try {
      await generate('pageviews', { store: new LocalObjectStore(join(dir, 'pv')), rows: 5000, seed: 9, persons: 300 });
      await generate('equivs', { store: new LocalObjectStore(join(dir, 'eq')), rows: 3000, seed: 9, persons: 300 });
      const pv = sqlPath(join(dir, 'pv', '*', '*.parquet'));
      const eq = sqlPath(join(dir, 'eq', '*', '*.parquet'));
      const [overlap] = await duckRows(`SELECT count(DISTINCT p.person) AS n FROM read_parquet(${pv}) p JOIN read_parquet(${eq}) e ON p.person IN (e.id1, e.id2)`);
      assert.ok(Number(overlap?.n) > 100, `overlap ${String(overlap?.n)}`);
      const [loops] = await duckRows(`SELECT count(*) AS n FROM read_parquet(${eq}) WHERE id1 = id2`);
      assert.ok(Number(loops?.n) > 0);
      const [cc] = await duckRows(`SELECT count(*) AS n FROM read_parquet(${eq}) WHERE id1 LIKE 'cookie:%' AND id2 LIKE 'cookie:%'`);
      assert.ok(Number(cc?.n) > 50, 'cookie chains');
      const [garbage] = await duckRows(`SELECT count(*) FILTER (WHERE url = '' OR url NOT LIKE '%://%') AS g, count(*) FILTER (WHERE url LIKE '%utm_source%' OR url LIKE '%gclid%') AS t, count(*) FILTER (WHERE person LIKE ' %') AS sp FROM read_parquet(${pv})`);
      assert.ok(Number(garbage?.g) > 0 && Number(garbage?.t) > 0 && Number(garbage?.sp) > 0);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('fast paths: draws by index, keys from a prefix and identifiers from draws equal mulberry32, rngFor and person()', () => {
    for (const key of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, fnv1a32('x')]) {
      const r = mulberry32(key);
      for (let i = 0; i < 200; i++) assert.equal(drawAt(key, i), r(), `key ${key} draw ${i}`);
    }
    const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
    for (const seed of [0, 9, 11, 123_456_789]) {
      const p = new KeyPrefix(seed, 'url');
      for (const [n, m] of [[0, 0], [7, 1023], [39, 12], [10, 100]] as const) assert.equal(p.keyOf2(n, m), fnv1a32(`${seed}\u0001url\u0001${n}\u0001${m}`));
      const ids = new PersonIds(seed);
      const buf = new Uint8Array(MAX_ID_BYTES);
      const str = (end: number): string => utf8.decode(buf.subarray(0, end));
      let heavy = 0, emails = 0, users = 0;
      for (const k of [...Array.from({ length: 2000 }, (_, i) => i), 99_999, 1_234_567, 98_765_432, 2 ** 40 + 3]) {
        const want = person(seed, k), key = ids.key(k), nc = ids.cookies(key);
        assert.equal(key, fnv1a32(`${seed}\u0001person\u0001${k}`));
        assert.equal(nc, want.cookies.length);
        want.cookies.forEach((c, i) => assert.equal(str(ids.writeCookie(key, i, buf, 0)), c));
        assert.equal(ids.hasUser(key, nc), want.user !== null);
        if (want.user !== null) assert.equal(str(ids.writeUser(k, buf, 0)), want.user);
        assert.equal(ids.hasEmail(key, nc), want.email !== null);
        if (want.email !== null) assert.equal(str(ids.writeEmail(key, k, nc, buf, 0)), want.email);
        heavy += nc >= 20 ? 1 : 0;
        emails += want.email === null ? 0 : 1;
        users += want.user === null ? 0 : 1;
      }
      assert.ok(heavy > 20 && emails > 600 && users > 1200, `seed ${seed}: heavy ${heavy}, emails ${emails}, users ${users}`);
    }
    assert.equal(rngFor(3, 'pageviews', '2024-03-01')(), drawAt(fnv1a32('3\u0001pageviews\u00012024-03-01'), 0));
  });

  it('URL variants: the strings of the string-built generator at af031dd (pinned), all 40,960 of two seeds and one shared stream', () => {
    const pins: [number, string][] = [
      [11, 'ab7c9897a6622b16669f2f0ce38f50b6a9b700a6b1dec010d5c307082ea0d60a'],
      [0, '082c9e35a0fc8fd70ff0b74809b99782786a28e9deeee964a8437967a7f662ca'],
    ];
    for (const [seed, want] of pins) {
      const p = new KeyPrefix(seed, 'url'), h = createHash('sha256');
      for (let page = 0; page < PAGE_COUNT; page++) for (let j = 0; j < URL_VARIANTS; j++) h.update(`${urlVariant(mulberry32(p.keyOf2(page, j)), page)}\n`);
      assert.equal(h.digest('hex'), want, `seed ${seed}`);
    }
    const r = mulberry32(7), h = createHash('sha256');
    for (let i = 0; i < 20_000; i++) h.update(`${urlVariant(r, i % 40)}\n`);
    assert.equal(h.digest('hex'), 'bcd6a33a99fd1e7ef5ec2aa71ef91af126309c0ca14fc1536d09207ac5f4655f');
  });

  it('pageviews: the values of the generator at af031dd, identifiers and URLs built as strings (pinned)', () => {
    // sha256 of "url\nperson\nts\n" per row, as the generator at af031dd wrote
    // them; the second case draws persons past the 200,000 it cached (persons 500,000).
    const pins: [number, number, number, string][] = [
      [11, 2000, 7000, 'a0d28813fea8fed163df180b8dadae91a9c4e7204ef51ac1fd45d18bc8218c6a'],
      [7, 500_000, 10_000, 'd85c1b18594efd884b1824b2e231890f2f0435a8ea9914bc0bf9cf716d63dceb'],
    ];
    for (const [seed, persons, batch, want] of pins) {
      // with the default cap on persons' shapes, and with most persons past a cap of 100
      for (const cap of [undefined, 100]) {
        const h = createHash('sha256');
        for (const b of pageviewBatches({ seed, date: '2024-03-01', rows: 30_000, persons }, batch, new PageviewTables(seed, persons, cap))) for (const r of batchRows(b)) h.update(`${String(r.url)}\n${String(r.person)}\n${String(r.ts)}\n`);
        assert.equal(h.digest('hex'), want, `seed ${seed}, persons ${persons}, cap ${cap}`);
      }
    }
  });
});
