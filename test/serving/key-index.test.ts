/**
 * The key index of a rollup view version (serving/key-index.ts), after a real `dagctl run`:
 * every key's runs equal the row positions DuckDB finds for it in the version's files (a plain
 * reference); random one-key queries through the index equal the same queries by scanning, and
 * SQL over rollup's input (pageviews); an index that is missing, corrupt or built over other files
 * (by path, row count or content: a file replaced in place by one of the same rows) is KEY_INDEX_INVALID, and the one-key load then scans to the same answer (the CLI says so).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { isDagctlError, type DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { openObjectStore } from '../../storage/open.js';
import { answer } from '../../serving/query.js';
import { lookupKey } from '../../serving/key-index.js';
import { BlockCache, currentVersion, loadView, type PublishedVersion } from '../../serving/view.js';
import type { ObjectStore } from '../../storage/types.js';
import { duckRows, sqlPath } from '../storage/helpers.js';
import { runCli } from '../integration/support.js';
import { oracle, parquetList, servingWorkspace, type ServingWorkspace } from './support.js';

const H = 3600;
const iso = (s: number): string => new Date(s * 1000).toISOString();

describe('serving key index', function () {
  this.timeout(300_000);
  let ws: ServingWorkspace;
  let store: ObjectStore;
  let v: PublishedVersion;
  let distinct: string;
  let urls: string[];
  let first: number, last: number;

  before(async () => {
    ws = await servingWorkspace({ rows: 20_000, days: 40, seed: 11 });
    store = await openObjectStore(ws.viewUri);
    const cur = await currentVersion(store);
    assert.ok(cur !== null);
    v = cur;
    distinct = await parquetList(ws.dataUri, 'batch/distinct');
    urls = (await duckRows(`SELECT url, count(*) AS n FROM read_parquet(${distinct}) GROUP BY url ORDER BY n DESC, url`)).map((r) => String(r.url));
    const [ext] = await duckRows(`SELECT min(ts) AS lo, max(ts) AS hi FROM read_parquet(${distinct})`);
    first = Number(ext?.lo) - (Number(ext?.lo) % H);
    last = Number(ext?.hi) - (Number(ext?.hi) % H) + H;
  });

  it('the publication records an index whose runs are exactly each key\'s rows (DuckDB over the files)', async () => {
    assert.ok(v.keyIndex !== undefined, 'a rollup view publication records its key index');
    const dir = fileURLToPath(ws.viewUri);
    const rows = await duckRows(`SELECT filename AS f, file_row_number AS r, url FROM read_parquet([${v.files.map((f) => sqlPath(join(dir, f.path))).join(', ')}], filename = true, file_row_number = true)`);
    const want = new Map<string, string[]>();
    const fileOf = new Map(v.files.map((f, i) => [join(dir, f.path), i]));
    for (const r of rows) {
      const l = want.get(String(r.url)) ?? [];
      l.push(`${fileOf.get(String(r.f))}:${Number(r.r)}`);
      want.set(String(r.url), l);
    }
    assert.equal(v.keyIndex.keys, want.size);
    for (const [url, positions] of want) {
      const got = await lookupKey(store, v.keyIndex, v.files, { url });
      const flat: string[] = [];
      for (const run of got.runs) for (let p = run.start; p < run.end; p++) flat.push(`${run.file}:${p}`);
      assert.deepEqual(flat.sort(), positions.sort(), `rows of ${url}`);
      assert.deepEqual([got.keyColumns, got.hasHll], [['url'], true]);
    }
    assert.deepEqual((await lookupKey(store, v.keyIndex, v.files, { url: 'http://nowhere.example/never' })).runs, []);
  });

  it('random one-key queries: through the index = by scanning = SQL over the input (pageviews)', async () => {
    // Whole loads too (what `dagctl serve` does): the index read (small cache: blocks re-read) vs the scan.
    const wholeFallbacks: DagctlError[] = [];
    const whole = await loadView(store, { cache: new BlockCache(64 * 1024), version: v, onIndexFallback: (e) => wholeFallbacks.push(e) });
    const wholeScan = await loadView(store, { cache: new BlockCache(64 * 1024), version: v, scan: true });
    assert.deepEqual(wholeFallbacks, []);
    assert.deepEqual([whole.keys, whole.rows, whole.extent, whole.granularities, whole.keyColumns], [wholeScan.keys, wholeScan.rows, wholeScan.extent, wholeScan.granularities, wholeScan.keyColumns]);
    let indexed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 0, max: urls.length - 1 }).map((i) => urls[i]!), fc.constant('http://nowhere.example/never')),
        fc.integer({ min: first, max: last - 1 }),
        fc.integer({ min: 1, max: last - first }),
        async (url, from, len) => {
          const to = Math.min(last, from + len);
          const fallbacks: DagctlError[] = [];
          const viaIndex = await loadView(store, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: { url }, version: v, onIndexFallback: (e) => fallbacks.push(e) });
          const viaScan = await loadView(store, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: { url }, version: v, scan: true });
          assert.deepEqual(fallbacks, []);
          const a = await answer(viaIndex, { url }, from, to, { sketches: true });
          const b = await answer(viaScan, { url }, from, to, { sketches: true });
          assert.deepEqual(a, b);
          assert.deepEqual(await answer(whole, { url }, from, to, { sketches: true }), a);
          assert.deepEqual(await answer(wholeScan, { url }, from, to, { sketches: true }), a);
          const ref = await oracle(distinct, url, Date.parse(a.from) / 1000, Date.parse(a.to) / 1000);
          assert.equal(a.pageviews, ref.pageviews, `pageviews of ${url} over [${a.from}, ${a.to})`);
          indexed++;
        },
      ),
      { numRuns: 60 },
    );
    assert.equal(indexed, 60);
  });

  describe('an index that cannot be used: KEY_INDEX_INVALID, and the load scans', () => {
    let copy: string;
    let cstore: ObjectStore;
    beforeEach(async () => {
      copy = await mkdtemp(join(tmpdir(), 'dagctl-keyindex-'));
      await cp(fileURLToPath(ws.viewUri), copy, { recursive: true });
      cstore = await openObjectStore(pathToFileURL(copy).href);
    });
    afterEach(async () => rm(copy, { recursive: true, force: true }));

    const expectFallback = async (version: PublishedVersion, url: string): Promise<void> => {
      await assert.rejects(lookupKey(cstore, version.keyIndex!, version.files, { url }), (e: unknown) => isDagctlError(e, 'KEY_INDEX_INVALID'));
      const fallbacks: DagctlError[] = [];
      const snap = await loadView(cstore, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: { url }, version, onIndexFallback: (e) => fallbacks.push(e) });
      assert.deepEqual(fallbacks.map((e) => e.code), ['KEY_INDEX_INVALID']);
      const scan = await loadView(cstore, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: { url }, version, scan: true });
      assert.deepEqual(await answer(snap, { url }, first, last), await answer(scan, { url }, first, last));
    };

    it('missing root: the CLI answers by scanning and says so on stderr', async () => {
      const url = urls[0]!;
      const before = await runCli(ws, ['query', pathToFileURL(copy).href, '--where', `url=${url}`, '--from', iso(first), '--to', iso(last), '--json']);
      assert.equal(before.code, 0, before.stderr);
      assert.equal(before.stderr, '');
      await unlink(join(copy, v.keyIndex!.path));
      await expectFallback(v, url);
      const after = await runCli(ws, ['query', pathToFileURL(copy).href, '--where', `url=${url}`, '--from', iso(first), '--to', iso(last), '--json']);
      assert.equal(after.code, 0, after.stderr);
      assert.match(after.stderr, /KEY_INDEX_INVALID/);
      assert.deepEqual(JSON.parse(after.stdout), JSON.parse(before.stdout));
    });

    it('a shard whose bytes changed (its entries swapped between keys)', async () => {
      const url = urls[2]!;
      // Every shard rewritten with each key's runs given to another key: only the names' hashes tell.
      const root = JSON.parse(Buffer.from(await cstore.get(v.keyIndex!.path)).toString()) as { shards: string[] };
      const folder = v.keyIndex!.path.slice(0, v.keyIndex!.path.lastIndexOf('/') + 1);
      for (const s of root.shards) {
        const body = JSON.parse(Buffer.from(await cstore.get(`${folder}${s}.json`)).toString()) as Record<string, number[]>;
        const keys = Object.keys(body), vals = Object.values(body);
        await writeFile(join(copy, `${folder}${s}.json`), JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, vals[(i + 1) % vals.length]!]))));
      }
      await expectFallback(v, url);
    });

    it('built over other files than the version\'s (a stale index)', async () => {
      const url = urls[1]!;
      const [dropped, ...rest] = v.files;
      assert.ok(dropped !== undefined && rest.length > 0);
      await expectFallback({ ...v, files: rest, rows: rest.reduce((n, f) => n + f.rows, 0) }, url);
      await expectFallback({ ...v, files: v.files.map((f, i) => (i === 0 ? { ...f, rows: f.rows + 1 } : f)) }, url);
    });

    it('a well-formed index that puts a key on another key\'s rows: every read checks the rows\' key (serve\'s whole-index load too)', async () => {
      // A forged index, consistent in itself (names = hashes, same files): each key of a shard gets the runs
      // of the next key of that shard. Neighbouring keys share row groups, so min/max statistics admit them.
      const root = JSON.parse(Buffer.from(await cstore.get(v.keyIndex!.path)).toString()) as { shards: string[] };
      const folder = v.keyIndex!.path.slice(0, v.keyIndex!.path.lastIndexOf('/') + 1);
      const put = async (body: unknown): Promise<string> => {
        const bytes = Buffer.from(JSON.stringify(body));
        const sha = sha256Hex(bytes);
        await writeFile(join(copy, `${folder}${sha}.json`), bytes);
        return sha;
      };
      const shards: string[] = [];
      for (const sh of root.shards) {
        const body = JSON.parse(Buffer.from(await cstore.get(`${folder}${sh}.json`)).toString()) as Record<string, number[]>;
        const keys = Object.keys(body).sort(), vals = keys.map((k) => body[k]!);
        shards.push(await put(Object.fromEntries(keys.map((k, i) => [k, vals[(i + 1) % vals.length]!]))));
      }
      const forged: PublishedVersion = { ...v, keyIndex: { path: `${folder}${await put({ ...root, shards })}.json`, keys: v.keyIndex!.keys } };
      const url = urls[3]!;
      // The whole load (dagctl serve) reads the index fine; the key's block read finds other keys' rows.
      const whole = await loadView(cstore, { cache: new BlockCache(1 << 20), version: forged, onIndexFallback: (e) => { throw e; } });
      await assert.rejects(answer(whole, { url }, first, last), (e: unknown) => isDagctlError(e, 'KEY_INDEX_INVALID'));
      // The one-key load (dagctl query) finds the index wrong when it reads the rows, and scans to the right answer.
      assert.notDeepEqual((await lookupKey(cstore, forged.keyIndex!, forged.files, { url })).runs, (await lookupKey(cstore, v.keyIndex!, v.files, { url })).runs);
      const fallbacks: DagctlError[] = [];
      const one = await loadView(cstore, { cache: new BlockCache(1 << 20), only: { url }, version: forged, onIndexFallback: (e) => fallbacks.push(e) });
      assert.deepEqual(fallbacks.map((e) => e.code), ['KEY_INDEX_INVALID']);
      const scan = await loadView(cstore, { cache: new BlockCache(1 << 20), only: { url }, version: v, scan: true });
      assert.deepEqual(await answer(one, { url }, first, last), await answer(scan, { url }, first, last));
    });

    it('a file replaced by one with the same path and row count but other content (its sha256 differs)', async () => {
      // The file holding the most-visited URL, rewritten by DuckDB with every count + 1: same path, same rows.
      const url = urls[0]!;
      const fi = (await lookupKey(cstore, v.keyIndex!, v.files, { url })).runs[0]!.file;
      const f = v.files[fi]!;
      const path = join(copy, f.path), tmp = `${path}.new.parquet`;
      assert.equal(sha256Hex(await readFile(path)), f.sha256, 'FileEntry.sha256 is the hash of the file\'s bytes');
      await duckRows(`COPY (SELECT * REPLACE (pageviews + 1 AS pageviews) FROM read_parquet(${sqlPath(path)})) TO ${sqlPath(tmp)} (FORMAT parquet)`);
      await rename(tmp, path);
      const bytes = await readFile(path);
      const [n] = await duckRows(`SELECT count(*) AS n FROM read_parquet(${sqlPath(path)})`);
      assert.equal(Number(n?.n), f.rows);
      const replaced: PublishedVersion = { ...v, files: v.files.map((e, i) => (i === fi ? { ...e, sha256: sha256Hex(bytes), bytes: bytes.length } : e)) };
      await assert.rejects(lookupKey(cstore, v.keyIndex!, replaced.files, { url }), (e: unknown) => isDagctlError(e, 'KEY_INDEX_INVALID') && (e.details as { stale?: boolean; file?: string }).file === f.path);
      await assert.rejects(loadView(cstore, { cache: new BlockCache(1 << 20), version: replaced, onIndexFallback: (e) => { throw e; } }), (e: unknown) => isDagctlError(e, 'KEY_INDEX_INVALID'));
      await expectFallback(replaced, url);
      // The scan read the new content.
      const before = await answer(await loadView(store, { cache: new BlockCache(1 << 20), only: { url }, version: v }), { url }, first, last);
      const after = await answer(await loadView(cstore, { cache: new BlockCache(1 << 20), only: { url }, version: replaced, onIndexFallback: () => undefined }), { url }, first, last);
      assert.ok(after.pageviews > before.pageviews, `${after.pageviews} > ${before.pageviews}`);
    });
  });
});
