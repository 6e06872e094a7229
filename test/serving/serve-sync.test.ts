/**
 * serving/server.ts's synchronous answer (a query whose key block is cached: answerJsonCached, no
 * promise) against the async one (answerJson, the block read): the same text byte for byte for
 * random queries and keys (non-ASCII keys, hours and days, dense and sparse sketches, a key whose
 * hour holds a present zero-length sketch), the same refusals; over HTTP, a query that fails on a
 * cached block (that zero-length sketch: 500 OPERATOR_INPUT_INVALID, what mergeSketches gives) is
 * counted once in /metrics (queries by code, cache hits) and answered with the async path's status
 * and body; and after a version swap (refresh) the next cached query answers from the new version.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256Hex } from '../../core/hash.js';
import { errorCode } from '../../core/errors.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { buildViewIndex } from '../../serving/key-index.js';
import { answerJson, answerJsonCached } from '../../serving/query.js';
import { startServer } from '../../serving/server.js';
import { BlockCache, loadView } from '../../serving/view.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row, Schema } from '../../storage/types.js';

const H = 3600, D = 24 * H, T0 = 1_438_905_600; // a Friday, 00:00 UTC
const KEYS = ['http://a/', 'http://é/ü?x="q"\\', '日本/😀', 'http://c/'];
const SCHEMA: Schema = [{ name: 'url', type: 'string' }, { name: 'granularity', type: 'string' }, { name: 'bucket', type: 'int64' }, { name: 'pageviews', type: 'int64' }, { name: 'uniques', type: 'int64' }, { name: 'hll', type: 'bytes' }];

const sketch = (tag: string, n: number): Uint8Array => {
  const sk = new HyperLogLog(10);
  for (let i = 0; i < n; i++) sk.add(`${tag}-${i}`);
  return sk.serialize();
};

/** 3 days of hours and their days per key (pageviews scaled by `scale`); key http://c/'s hour T0+2h holds a zero-length sketch. */
function rowsOf(scale: number): Row[] {
  const rows: Row[] = [];
  KEYS.forEach((url, k) => {
    for (let h = 0; h < 72; h++) {
      if ((h + k) % 7 === 3) continue;
      const empty = url === 'http://c/' && h === 2;
      rows.push({ url, granularity: 'h', bucket: T0 + h * H, pageviews: scale * (1 + ((h + k) % 9)), uniques: 1, hll: empty ? new Uint8Array(0) : sketch(`${url}${h}`, 1 + ((h * 3 + k) % 11)) });
    }
    for (let d = 0; d < 3; d++) rows.push({ url, granularity: 'd', bucket: T0 + d * D, pageviews: scale * (50 + d + k), uniques: 1, hll: sketch(`${url}d${d}`, d === 1 ? 400 : 30) });
  });
  return rows;
}

async function publish(store: MemoryObjectStore, version: string, rows: Row[]): Promise<void> {
  const bytes = await getCodec('flat').encode(SCHEMA, rows);
  const path = `part-${version}.parquet`;
  await store.putIfAbsent(path, bytes);
  const files: FileEntry[] = [{ path, rows: rows.length, bytes: bytes.length, sha256: sha256Hex(bytes) }];
  const { bucketExtent, keyIndex } = await buildViewIndex(store, version, files);
  await publishVersion(store, { version, dataset: 'sync', files, bucketExtent, keyIndex, deltaLog: false });
}

const outcome = async (f: () => Promise<{ json: string; bytes: number }>): Promise<string> => {
  try {
    const a = await f();
    return `${a.bytes} ${a.json}`;
  } catch (e) {
    return `error ${errorCode(e)}`;
  }
};

describe('dagctl serve: the synchronous cached answer', function () {
  this.timeout(120_000);

  it('answers byte for byte as the async path (cold cache), refusals included', async () => {
    const store = new MemoryObjectStore('serve-sync-bytes');
    await publish(store, 'v1', rowsOf(1));
    const warm = await loadView(store, { cache: new BlockCache(1 << 20) });
    const cold = await loadView(store, { cache: new BlockCache(0) });
    let cached = 0, failed = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KEYS, 'http://none/'), fc.integer({ min: -2, max: 72 }), fc.integer({ min: 1, max: 74 }), async (url, a, len) => {
        const from = T0 + a * H, to = from + len * H;
        const want = await outcome(() => answerJson(cold, { url }, from, to));
        assert.equal(cold.cachedBlock([url]), url === 'http://none/' ? null : undefined, 'the cold snapshot keeps no block');
        await outcome(() => answerJson(warm, { url }, from, to)); // caches the key's block
        let sync: string;
        try {
          const a = answerJsonCached(warm, { url }, from, to);
          if (a === undefined) return; // a range outside the data: the async path's (checked above)
          sync = `${a.bytes} ${a.json}`;
        } catch (e) {
          sync = `error ${errorCode(e)}`;
        }
        cached++;
        if (sync.startsWith('error')) failed++;
        assert.equal(sync, want);
      }),
      { numRuns: 300 },
    );
    assert.ok(cached > 100 && failed > 0, `${cached} cached answers, ${failed} refusals`);
  });

  it('over HTTP: a failing query on a cached block is counted once and answered as the async path; a swap is picked up', async () => {
    const store = new MemoryObjectStore('serve-sync-http');
    await publish(store, 'v1', rowsOf(1));
    const h = await startServer({ views: [{ store }], port: 0, pollMs: 3_600_000, cacheBytes: 1 << 20 });
    try {
      const base = `http://127.0.0.1:${h.port}`;
      const get = async (path: string): Promise<{ status: number; text: string }> => {
        const r = await fetch(base + path);
        return { status: r.status, text: await r.text() };
      };
      const metric = async (name: string): Promise<number> => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await get('/metrics')).text)?.[1] ?? 0);
      const q = (url: string, from: number, to: number): string => `/query?view=sync&url=${encodeURIComponent(url)}&from=${from}&to=${to}`;
      const bad = q('http://c/', T0 + H, T0 + 3 * H), good = q('http://c/', T0 + H, T0 + 2 * H);
      const first = await get(bad); // reads the block (the async path), caches it
      assert.equal(first.status, 500, first.text);
      assert.equal((JSON.parse(first.text) as { error: { code: string } }).error.code, 'OPERATOR_INPUT_INVALID');
      const codeCount = 'dagctl_serve_queries_total\\{code="OPERATOR_INPUT_INVALID"\\}', okCount = 'dagctl_serve_queries_total\\{code="OK"\\}';
      const [hits0, bad0, ok0] = [await metric('dagctl_serve_cache_hits_total'), await metric(codeCount), await metric(okCount)];
      assert.equal(bad0, 1);
      const second = await get(bad); // the block is cached: the sync path
      assert.equal(second.status, first.status);
      assert.equal(second.text, first.text);
      assert.equal(await metric('dagctl_serve_cache_hits_total'), hits0 + 1, 'one cache hit for one query');
      assert.equal(await metric(codeCount), bad0 + 1, 'one count for one query');
      assert.equal(await metric(okCount), ok0);
      const one = await get(good);
      assert.equal(one.status, 200, one.text);
      const a = JSON.parse(one.text) as { uniques: number; pageviews: number; version: string };
      assert.equal(a.uniques, HyperLogLog.deserialize(sketch('http://c/1', 7)).count());
      assert.equal(a.uniques, 7);
      assert.equal(await metric('dagctl_serve_cache_hits_total'), hits0 + 2);
      assert.equal(await metric(okCount), ok0 + 1);

      // A new version (pageviews ×10) swapped in: the next query on a cached key answers from it.
      const url = 'http://a/', p = q(url, T0, T0 + 5 * H);
      const v1 = JSON.parse((await get(p)).text) as { pageviews: number; version: string };
      const hits1 = await metric('dagctl_serve_cache_hits_total');
      assert.equal((await get(p)).status, 200);
      assert.equal(await metric('dagctl_serve_cache_hits_total'), hits1 + 1, 'answered from the cached block');
      await publish(store, 'v2', rowsOf(10));
      await h.refresh();
      const v2 = JSON.parse((await get(p)).text) as { pageviews: number; version: string };
      assert.equal(v1.version, 'v1');
      assert.equal(v2.version, 'v2');
      assert.equal(v2.pageviews, 10 * v1.pageviews);
      const again = await get(p); // v2's block cached now: the sync path
      assert.equal(again.text, JSON.stringify(v2));
    } finally {
      await h.close();
    }
  });
});
