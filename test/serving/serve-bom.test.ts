/**
 * The server over real HTTP on a view whose keys differ only by a leading U+FEFF: 'http://a/' and
 * '\uFEFFhttp://a/' are two keys (the key index and the block reads keep the BOM), so each query
 * answers its own key's rows (a plain reference over the written rows), through the index, with
 * no rescan — with a cache that keeps blocks and one that keeps none. And a version whose key
 * index is wrong and whose scan fails too (its file rewritten in place with a repeated
 * (key, granularity, bucket) row): it is scanned once; every query on it answers HTTP 500
 * VIEW_INVALID naming the view, version and file. The scan loader refuses such a view
 * (VIEW_INVALID) rather than keeping one of the two rows. A version whose rescan succeeded but
 * whose scanned index is found wrong too (the file rewritten again) answers VIEW_INVALID without a
 * second rescan; a repeated row in a block the rescan did not warm is refused at its first query.
 */
import assert from 'node:assert/strict';
import { sha256Hex } from '../../core/hash.js';
import { isDagctlError } from '../../core/errors.js';
import { VIEW_SCHEMA } from '../../operators/rollup/rollup.js';
import { buildViewIndex } from '../../serving/key-index.js';
import { answer } from '../../serving/query.js';
import { startServer } from '../../serving/server.js';
import { BlockCache, loadView, type PublishedVersion } from '../../serving/view.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row } from '../../storage/types.js';

const H = 3600, T0 = 1_438_912_800;
const iso = (s: number): string => new Date(s * 1000).toISOString();
const SCHEMA = VIEW_SCHEMA.filter((f) => f.name !== 'hll');
const KEYS = ['http://a/', '\uFEFFhttp://a/', '\uFEFF\uFEFFhttp://a/', 'http://b/'];
const ROWS: Row[] = KEYS.flatMap((url, k) => Array.from({ length: 4 }, (_, h) => ({ url, granularity: 'h', bucket: T0 + h * H, pageviews: 10 ** k + h, uniques: 1 })));
const PATH = '_versions/v1/part-0.parquet';

/** A store holding ROWS published as version v1 of view `bomview`, with its key index. */
async function published(): Promise<{ store: MemoryObjectStore; files: FileEntry[] }> {
  const store = new MemoryObjectStore('bom-view');
  const bytes = await getCodec('flat').encode(SCHEMA, ROWS);
  await store.putIfAbsent(PATH, bytes);
  const files: FileEntry[] = [{ path: PATH, rows: ROWS.length, bytes: bytes.length, sha256: sha256Hex(bytes) }];
  const { bucketExtent, keyIndex } = await buildViewIndex(store, 'v1', files);
  await publishVersion(store, { version: 'v1', dataset: 'bomview', files, bucketExtent, keyIndex, deltaLog: false });
  return { store, files };
}

/** The reference: the key's pageviews over [from, to). */
const reference = (url: string, from: number, to: number): number => ROWS.filter((r) => r.url === url && (r.bucket as number) >= from && (r.bucket as number) < to).reduce((s, r) => s + (r.pageviews as number), 0);

async function withServer<T>(store: MemoryObjectStore, cacheBytes: number, f: (get: (path: string) => Promise<{ status: number; body: unknown }>, metric: (name: string) => Promise<number>) => Promise<T>): Promise<T> {
  const s = await startServer({ views: [{ store }], port: 0, pollMs: 3_600_000, cacheBytes, log: () => {} });
  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const r = await fetch(`http://127.0.0.1:${s.port}${path}`);
    return { status: r.status, body: JSON.parse(await r.text()) as unknown };
  };
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    const m = new RegExp(`^${name}\\{view="bomview"\\} (\\d+)$`, 'm').exec(text);
    assert.ok(m !== null, `metric ${name}`);
    return Number(m[1]);
  };
  try {
    return await f(get, metric);
  } finally {
    await s.close();
  }
}
const query = (url: string, from: number, to: number): string => `/query?view=bomview&url=${encodeURIComponent(url)}&from=${iso(from)}&to=${iso(to)}`;

describe('serve: keys that differ only by a leading U+FEFF', () => {
  for (const cacheBytes of [64 << 20, 1]) {
    it(`each key answers its own rows over HTTP, through the index (cache ${cacheBytes} bytes)`, async () => {
      const { store } = await published();
      await withServer(store, cacheBytes, async (get, metric) => {
        for (const url of KEYS) {
          for (const [from, to] of [[T0, T0 + 4 * H], [T0 + H, T0 + 3 * H]] as const) {
            const r = await get(query(url, from, to));
            assert.equal(r.status, 200, JSON.stringify(r.body));
            assert.equal((r.body as { pageviews: number }).pageviews, reference(url, from, to), JSON.stringify(url));
          }
        }
        assert.equal(await metric('dagctl_serve_view_rescans_total'), 0);
      });
    });
  }

  it('the scan loader refuses two rows of one (key, granularity, bucket) with VIEW_INVALID, never keeping either', async () => {
    const store = new MemoryObjectStore('dup-view');
    const rows = [...ROWS, { ...ROWS[1]!, pageviews: 5000 }];
    const bytes = await getCodec('flat').encode(SCHEMA, rows);
    await store.putIfAbsent('part-0.parquet', bytes);
    const files: FileEntry[] = [{ path: 'part-0.parquet', rows: rows.length, bytes: bytes.length, sha256: sha256Hex(bytes) }];
    const { bucketExtent, keyIndex } = await buildViewIndex(store, 'v1', files);
    const version: PublishedVersion = { version: 'v1', dataset: 'dup-view', files, rows: rows.length, bucketExtent, keyIndex };
    const invalid = (e: unknown): boolean => isDagctlError(e, 'VIEW_INVALID') && (e.details as { file?: string }).file?.endsWith('part-0.parquet') === true;
    // A cache that warms every block: the load refuses. One that warms none: the key's block read does.
    await assert.rejects(loadView(store, { cache: new BlockCache(64 << 20), version, scan: true }), invalid);
    const cold = await loadView(store, { cache: new BlockCache(0), version, scan: true });
    await assert.rejects(answer(cold, { url: 'http://a/' }, T0, T0 + 4 * H), invalid);
    // Through the index too.
    await assert.rejects(answer(await loadView(store, { cache: new BlockCache(1), version }), { url: 'http://a/' }, T0, T0 + 4 * H), invalid);
    assert.equal((await answer(cold, { url: 'http://b/' }, T0, T0 + 4 * H)).pageviews, reference('http://b/', T0, T0 + 4 * H));
  });

  for (const cacheBytes of [64 << 20, 1]) {
    it(`a version whose index is wrong and whose scan fails too is scanned once: HTTP 500 VIEW_INVALID (cache ${cacheBytes} bytes)`, async () => {
      const { store } = await published();
      await withServer(store, cacheBytes, async (get, metric) => {
        const url = 'http://b/';
        assert.equal((await get(query(url, T0, T0 + 4 * H))).status, 200);
        // Rewritten in place (the index the server holds now points at other keys' rows), with one
        // (key, granularity, bucket) repeated.
        const bad = [...ROWS].reverse();
        bad.push({ ...ROWS[0]!, pageviews: 77 });
        const head = await store.head(PATH);
        await store.putIfMatch(PATH, await getCodec('flat').encode(SCHEMA, bad), head!.etag);
        for (let i = 0; i < 4; i++) {
          const key = KEYS[i % 2 === 0 ? 0 : 3]!;
          const r = await get(query(key, T0, T0 + 4 * H));
          // http://b/ has one row per bucket in the rewritten file too: a block warmed before the
          // rewrite, or the scanned snapshot, may answer it — only ever right.
          if (key === 'http://b/' && r.status === 200) {
            assert.equal((r.body as { pageviews: number }).pageviews, reference(key, T0, T0 + 4 * H));
            continue;
          }
          assert.equal(r.status, 500, JSON.stringify(r.body));
          const err = (r.body as { error: { code: string; details: Record<string, unknown> } }).error;
          assert.equal(err.code, 'VIEW_INVALID', JSON.stringify(err));
          assert.deepEqual([err.details.view, err.details.version], ['bomview', 'v1'], JSON.stringify(err));
          assert.ok(String(err.details.file).endsWith(PATH), JSON.stringify(err));
        }
        assert.equal(await metric('dagctl_serve_view_rescan_failures_total') + await metric('dagctl_serve_view_rescans_total'), 1);
      });
    });
  }

  /** The server's 500 for `r`: VIEW_INVALID naming view bomview, version v1 and the rewritten file. */
  const viewInvalid = (r: { status: number; body: unknown }): void => {
    assert.equal(r.status, 500, JSON.stringify(r.body));
    const err = (r.body as { error: { code: string; details: Record<string, unknown> } }).error;
    assert.equal(err.code, 'VIEW_INVALID', JSON.stringify(err));
    assert.deepEqual([err.details.view, err.details.version], ['bomview', 'v1'], JSON.stringify(err));
    assert.ok(String(err.details.file).endsWith(PATH), JSON.stringify(err));
  };

  it('a rescanned version whose own block reads find its index wrong answers HTTP 500 VIEW_INVALID, never a second rescan', async () => {
    const { store } = await published();
    // A 1-byte cache keeps no block: every query reads its key's rows through the served index.
    await withServer(store, 1, async (get, metric) => {
      const url = 'http://a/';
      const want = reference(url, T0, T0 + 4 * H);
      assert.equal(((await get(query(url, T0, T0 + 4 * H))).body as { pageviews: number }).pageviews, want);
      const rewrite = async (rows: Row[]): Promise<void> => {
        const head = await store.head(PATH);
        await store.putIfMatch(PATH, await getCodec('flat').encode(SCHEMA, rows), head!.etag);
      };
      // The file rewritten in place (the same rows, keys in reverse order): the index is wrong, the
      // query rescans once and answers right from the scanned snapshot.
      await rewrite([...KEYS].reverse().flatMap((k) => ROWS.filter((r) => r.url === k)));
      const r1 = await get(query(url, T0, T0 + 4 * H));
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      assert.equal((r1.body as { pageviews: number }).pageviews, want);
      assert.equal(await metric('dagctl_serve_view_rescans_total'), 1);
      // Rewritten again (the first order): now the scanned snapshot's own index is wrong.
      await rewrite(ROWS);
      for (let i = 0; i < 3; i++) viewInvalid(await get(query(url, T0, T0 + 4 * H)));
      assert.equal(await metric('dagctl_serve_view_rescans_total'), 1);
      assert.equal(await metric('dagctl_serve_view_rescan_failures_total'), 0);
    });
  });

  it('a repeated (key, granularity, bucket) row in a block the rescan did not warm is refused at its first query: HTTP 500 VIEW_INVALID', async () => {
    const { store } = await published();
    await withServer(store, 1, async (get, metric) => {
      assert.equal((await get(query('http://b/', T0, T0 + 4 * H))).status, 200);
      // Keys in reverse order, then a second row of http://a/'s first hour: the rescan warms only
      // the first key of the file (http://b/, within its 1-byte budget), so it succeeds; the
      // repeated row is found when http://a/'s block is first read.
      const bad = [...KEYS].reverse().flatMap((k) => ROWS.filter((r) => r.url === k));
      bad.push({ ...ROWS[0]!, pageviews: 77 });
      const head = await store.head(PATH);
      await store.putIfMatch(PATH, await getCodec('flat').encode(SCHEMA, bad), head!.etag);
      // http://b/'s rows moved: the index is wrong, the version is rescanned, b answers right.
      const rb = await get(query('http://b/', T0, T0 + 4 * H));
      assert.equal(rb.status, 200, JSON.stringify(rb.body));
      assert.equal((rb.body as { pageviews: number }).pageviews, reference('http://b/', T0, T0 + 4 * H));
      assert.equal(await metric('dagctl_serve_view_rescans_total'), 1);
      assert.equal(await metric('dagctl_serve_view_rescan_failures_total'), 0);
      for (let i = 0; i < 2; i++) viewInvalid(await get(query('http://a/', T0, T0 + 4 * H)));
      // Other keys of the scanned snapshot still answer right; nothing was scanned again.
      const rk = await get(query(KEYS[2]!, T0, T0 + 2 * H));
      assert.equal(rk.status, 200, JSON.stringify(rk.body));
      assert.equal((rk.body as { pageviews: number }).pageviews, reference(KEYS[2]!, T0, T0 + 2 * H));
      assert.equal(await metric('dagctl_serve_view_rescans_total'), 1);
    });
  });
});
