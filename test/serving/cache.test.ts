/**
 * serving/view.ts BlockCache: an LRU bounded in bytes — never above its budget, least recently
 * used evicted first, a block larger than the budget not kept, a snapshot's blocks dropped at once;
 * and a view's real blocks of one row each are counted at their fixed cost (typed arrays, block
 * object, entry: ~1.4 KB, serving/view.ts BLOCK_FIXED_BYTES), so a budget holds no more of them
 * than that cost allows (counting their rows' bytes only held ~5× the budget in memory).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256Hex } from '../../core/hash.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { buildViewIndex } from '../../serving/key-index.js';
import { answerJson } from '../../serving/query.js';
import { BlockCache, loadView, type KeyBlock } from '../../serving/view.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row, Schema } from '../../storage/types.js';

const block = (bytes: number): KeyBlock => ({ first: new Int32Array(5), hour: new Int32Array(0), pageviews: new Float64Array(0), sketches: new Uint8Array(0), sketchAt: new Int32Array(1), sketchKind: new Uint8Array(0), precision: 0, bytes });

describe('serving BlockCache', () => {
  it('stays within its budget and evicts the least recently used', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 200 })), { maxLength: 200 }), (max, ops) => {
        const c = new BlockCache(max);
        const model: Array<[string, number]> = []; // LRU order, oldest first
        for (const [isGet, k, size] of ops) {
          const id = `k${k}`;
          const at = model.findIndex(([x]) => x === id);
          if (isGet) {
            const got = c.get(id);
            assert.equal(got !== undefined, at >= 0);
            if (at >= 0) model.push(model.splice(at, 1)[0]!);
          } else {
            c.set(id, block(size));
            if (at >= 0) model.splice(at, 1);
            if (size + 2 * id.length <= max) model.push([id, size + 2 * id.length]); // an entry counts its id
            while (model.reduce((n, [, b]) => n + b, 0) > max) model.shift();
          }
          assert.ok(c.bytes <= max);
          assert.equal(c.bytes, model.reduce((n, [, b]) => n + b, 0));
          assert.equal(c.size, model.length);
        }
      }),
    );
  });

  it('drops one snapshot’s blocks', () => {
    const c = new BlockCache(1000);
    c.set('s1\u0000a', block(10));
    c.set('s2\u0000a', block(20));
    c.drop('s1\u0000');
    assert.equal(c.get('s1\u0000a'), undefined);
    assert.equal(c.bytes, 20 + 2 * 's2\u0000a'.length);
  });

  it('counts a real block at its fixed cost: a budget of small blocks holds few of them', async () => {
    const T0 = 1_438_905_600;
    const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'granularity', type: 'string' }, { name: 'bucket', type: 'int64' }, { name: 'pageviews', type: 'int64' }, { name: 'uniques', type: 'int64' }, { name: 'hll', type: 'bytes' }];
    const rows: Row[] = [];
    for (let k = 0; k < 300; k++) {
      const sk = new HyperLogLog(10);
      sk.add(`u${k}`);
      rows.push({ url: `http://k${String(k).padStart(3, '0')}/`, granularity: 'h', bucket: T0, pageviews: 1, uniques: 1, hll: sk.serialize() });
    }
    const store = new MemoryObjectStore('cache-fixed-cost');
    const bytes = await getCodec('flat').encode(schema, rows);
    await store.putIfAbsent('part-0.parquet', bytes);
    const files: FileEntry[] = [{ path: 'part-0.parquet', rows: rows.length, bytes: bytes.length, sha256: sha256Hex(bytes) }];
    const { bucketExtent, keyIndex } = await buildViewIndex(store, 'v1', files);
    await publishVersion(store, { version: 'v1', dataset: 'small', files, bucketExtent, keyIndex, deltaLog: false });
    const budget = 64 * 1024;
    const cache = new BlockCache(budget);
    const snap = await loadView(store, { cache });
    for (const r of rows) await answerJson(snap, { url: r.url as string }, T0, T0 + 3600);
    assert.ok(cache.size > 0);
    assert.ok(cache.bytes <= budget);
    // Each of these blocks takes at least 1.3 KB of memory (measured: ~1.45 KB with its entry).
    assert.ok(cache.size <= Math.floor(budget / 1300), `${cache.size} one-row blocks kept in ${budget} bytes`);
  });
});
