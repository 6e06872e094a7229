/**
 * serving/key-index.ts over keys that are Object.prototype's own names: a view whose key column
 * holds `__proto__`, `constructor`, `toString` and `hasOwnProperty` (beside ordinary URLs) gets an
 * index where each is an ordinary entry — lookupKey's runs are exactly its rows (a plain reference
 * over the rows written), every shard entry is read back by readKeyIndex, and a one-key query through
 * the index equals the same query by scanning and the sum of its rows.
 */
import assert from 'node:assert/strict';
import { sha256Hex } from '../../core/hash.js';
import { VIEW_SCHEMA } from '../../operators/rollup/rollup.js';
import { buildViewIndex, lookupKey, readKeyIndex } from '../../serving/key-index.js';
import { answer } from '../../serving/query.js';
import { BlockCache, loadView, type PublishedVersion } from '../../serving/view.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row } from '../../storage/types.js';

const H = 3600, T0 = 1_438_912_800;
const SPECIAL = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
const KEYS = [...SPECIAL, 'http://a.example/', 'http://b.example/x'];

describe('serving key index: keys named like Object.prototype members', () => {
  it('__proto__, constructor…: lookups = the rows written; one-key query through the index = by scanning', async () => {
    const store = new MemoryObjectStore('proto-view');
    // Two files; each key's rows are spread over both (hour buckets, pageviews from the key and hour).
    const files: FileEntry[] = [];
    const rowsOf: Row[][] = [[], []];
    KEYS.forEach((url, k) => {
      for (let h = 0; h < 12; h++) rowsOf[(h + k) % 2]!.push({ url, granularity: 'h', bucket: T0 + h * H, pageviews: 1 + k * 100 + h, uniques: 1 });
    });
    const schema = VIEW_SCHEMA.filter((f) => f.name !== 'hll');
    for (let i = 0; i < 2; i++) {
      const rows = rowsOf[i]!.sort((a, b) => String(a.url).localeCompare(String(b.url)) || Number(a.bucket) - Number(b.bucket));
      const bytes = await getCodec('flat').encode(schema, rows);
      const path = `part-${i}.parquet`;
      await store.putIfAbsent(path, bytes);
      files.push({ path, rows: rows.length, bytes: bytes.length, sha256: sha256Hex(bytes) });
    }
    const { bucketExtent, keyIndex } = await buildViewIndex(store, 'v1', files);
    assert.equal(keyIndex.keys, KEYS.length);
    // Reference: each key's (file, row) positions as written.
    for (const url of KEYS) {
      const want: string[] = [];
      rowsOf.forEach((rows, f) => rows.forEach((r, i) => { if (r.url === url) want.push(`${f}:${i}`); }));
      const got = await lookupKey(store, keyIndex, files, { url });
      const flat: string[] = [];
      for (const run of got.runs) for (let p = run.start; p < run.end; p++) flat.push(`${run.file}:${p}`);
      assert.deepEqual(flat.sort(), want.sort(), url);
    }
    const all = await readKeyIndex(store, keyIndex, files);
    assert.deepEqual([...all.keys.keys()].sort(), [...KEYS].sort());
    assert.deepEqual((await lookupKey(store, keyIndex, files, { url: 'valueOf' })).runs, [], 'a prototype name that is not a key has no runs');

    const version: PublishedVersion = { version: 'v1', dataset: 'proto-view', files, rows: files.reduce((a, f) => a + f.rows, 0), bucketExtent, keyIndex };
    for (const url of KEYS) {
      const viaIndex = await loadView(store, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: { url }, version, onIndexFallback: (e) => assert.fail(`${url}: index fallback ${e.code}`) });
      const viaScan = await loadView(store, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: { url }, version, scan: true });
      const a = await answer(viaIndex, { url }, T0 + 2 * H, T0 + 9 * H);
      assert.deepEqual(a, await answer(viaScan, { url }, T0 + 2 * H, T0 + 9 * H), url);
      const k = KEYS.indexOf(url);
      let want = 0;
      for (let h = 2; h < 9; h++) want += 1 + k * 100 + h;
      assert.equal(a.pageviews, want, url);
    }
  });
});
