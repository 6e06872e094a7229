/**
 * A view row whose bucket is not a bucket start of its granularity (a foreign writer's: rollup
 * never writes one) is refused with VIEW_INVALID naming the file, row and column, by every load
 * path — whole load (whatever the cache budget), one-key load through a recorded extent, one-key
 * load that scans the extent — rather than two rows sharing a block slot (a `d` row at 0 and an
 * `h` row at 450 s) and the later silently replacing the earlier. The same view aligned loads.
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { isDagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { BucketExtent, Row, Schema } from '../../storage/types.js';
import { answer } from '../../serving/query.js';
import { BlockCache, loadView, slot } from '../../serving/view.js';
import { tempDir } from '../storage/helpers.js';

const SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'granularity', type: 'string' },
  { name: 'bucket', type: 'int64' },
  { name: 'pageviews', type: 'int64' },
];

async function publish(dir: string, name: string, rows: Row[], extent?: BucketExtent): Promise<Awaited<ReturnType<typeof openObjectStore>>> {
  const store = await openObjectStore(pathToFileURL(`${dir}/views/${name}`).href);
  const bytes = await defaultCodec().encode(SCHEMA, rows);
  await store.putIfAbsent('part-0.parquet', bytes);
  await publishVersion(store, { version: 'v1', dataset: name, files: [{ path: 'part-0.parquet', rows: rows.length, bytes: bytes.length, sha256: sha256Hex(bytes) }], ...(extent !== undefined ? { bucketExtent: extent } : {}) });
  return store;
}

function misaligned(e: unknown): boolean {
  return isDagctlError(e, 'VIEW_INVALID') && e.details.row === 1 && e.details.column === 'bucket' && String(e.details.file).endsWith('part-0.parquet');
}

describe('serving: view rows aligned to their granularity', function () {
  this.timeout(60_000);

  it('a row whose bucket is not a start of its granularity is refused (VIEW_INVALID, file, row, column) by every load', async () => {
    assert.equal(slot(0, 'd'), slot(450, 'h'), 'the collision the check prevents');
    const dir = await tempDir('serving-aligned');
    const bad: Row[] = [{ url: 'u', granularity: 'd', bucket: 0, pageviews: 5 }, { url: 'u', granularity: 'h', bucket: 450, pageviews: 7 }];
    const withExtent = await publish(dir, 'bad-extent', bad, { d: { min: 0, max: 0 }, h: { min: 450, max: 450 } });
    const scanned = await publish(dir, 'bad-scan', bad);
    for (const store of [withExtent, scanned]) {
      await assert.rejects(loadView(store, { cache: new BlockCache(1 << 20) }), misaligned);
      await assert.rejects(loadView(store, { cache: new BlockCache(0) }), misaligned);
      await assert.rejects(loadView(store, { cache: new BlockCache(1 << 20), only: { url: 'u' } }), misaligned);
    }
    // Every granularity's rule is rollup's (epoch-aligned, m = 28 days): a w row on a Monday is not a w start.
    const monday = Date.UTC(2024, 0, 1) / 1000;
    const week = await publish(dir, 'bad-week', [{ url: 'u', granularity: 'd', bucket: monday, pageviews: 1 }, { url: 'u', granularity: 'w', bucket: monday, pageviews: 1 }]);
    await assert.rejects(loadView(week, { cache: new BlockCache(1 << 20) }), misaligned);
  });

  it('the same rows aligned load and answer', async () => {
    const dir = await tempDir('serving-aligned-ok');
    const store = await publish(dir, 'good', [{ url: 'u', granularity: 'd', bucket: 0, pageviews: 5 }, { url: 'u', granularity: 'd', bucket: 86_400, pageviews: 7 }]);
    for (const only of [undefined, { url: 'u' }]) {
      const snap = await loadView(store, { cache: new BlockCache(1 << 20), ...(only !== undefined ? { only } : {}) });
      assert.equal((await answer(snap, { url: 'u' }, 0, 172_800)).pageviews, 12);
    }
  });
});
