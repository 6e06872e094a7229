/**
 * `work: reclaim` with datasets on S3: an embedded run and a distributed run (real Redis, two
 * `dagctl worker` processes) of the rollup DAG each leave no object under the view's `_work/`
 * once they succeeded, and publish the same rows as an embedded run that kept its work (which
 * does leave work objects). The distributed run is checked once its worker recorded the reclaim
 * (RedisRunStore.workReclaimed), never after a sleep.
 * Preconditions: the S3 test server and the Redis test server; dist/ built.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RedisRunStore, type WorkReclaimed } from '../../scheduler/redis/redis-run-store.js';
import { openObjectStore } from '../../storage/open.js';
import { Cluster } from '../distributed/cluster.js';
import { redisUrl, requireRedis, testRedis } from '../distributed/redis-env.js';
import { deleteUri, freshUri, requireS3 } from '../s3/env.js';
import { closeStore, failures, generateInto, readDataset, ROLLUP_DAG, runDag, SWA_INPUT, tempDir, writeText } from './harness.js';

const VIEW = 'views/pageviews-over-time';

/** Keys under the view's work area (`<view>/_work/`). */
async function workKeys(root: string): Promise<string[]> {
  const store = await openObjectStore(`${root}/${VIEW}`);
  try {
    return (await store.list('_work/')).map((o) => o.key);
  } finally {
    closeStore(store);
  }
}

describe('e2e: work: reclaim on S3', function () {
  requireRedis(this);
  this.timeout(240_000);
  let tmp: ReturnType<typeof tempDir>;
  const roots: string[] = [];
  const root = (label: string): string => {
    const r = freshUri(label);
    roots.push(r);
    return r;
  };

  before(function () {
    requireS3(this);
    tmp = tempDir('reclaim');
  });
  after(async () => {
    tmp?.dispose();
    for (const r of roots) await deleteUri(r);
  });

  it('embedded and distributed runs leave no work objects and publish the rows of a run that kept them', async () => {
    const home = join(tmp.dir, 'home');
    const keepFile = writeText(join(tmp.dir, 'keep.yaml'), ROLLUP_DAG);
    const reclaimFile = writeText(join(tmp.dir, 'reclaim.yaml'), `${ROLLUP_DAG}work: reclaim\n`);
    const [keep, embedded, distributed] = [root('keep'), root('embedded'), root('distributed')];
    for (const r of [keep, embedded, distributed]) await generateInto(r, SWA_INPUT.slice(0, 1));

    const k = await runDag(keepFile, { data: keep }, { home });
    assert.equal(k.status.phase, 'succeeded', failures(k.status));
    assert.ok((await workKeys(keep)).length > 0, 'the reference run keeps its work');
    const expected = (await readDataset(`${keep}/${VIEW}`, 'published')).rows;
    assert.ok(expected.length > 0);

    const e = await runDag(reclaimFile, { data: embedded }, { home });
    assert.equal(e.status.phase, 'succeeded', failures(e.status));
    assert.deepEqual(await workKeys(embedded), []);
    assert.deepEqual((await readDataset(`${embedded}/${VIEW}`, 'published')).rows, expected);

    const cluster = new Cluster();
    const redis = await testRedis();
    try {
      for (let i = 0; i < 2; i++) await cluster.startWorker(['--concurrency', '2']);
      const d = await runDag(reclaimFile, { data: distributed }, { home, extra: ['--redis', redisUrl()] });
      assert.equal(d.status.phase, 'succeeded', failures(d.status));
      const store = new RedisRunStore(redis);
      let rec: WorkReclaimed | null = null;
      while ((rec = await store.workReclaimed(d.status.runId)) === null) await new Promise((res) => setTimeout(res, 50));
      assert.ok(rec.files > 0, JSON.stringify(rec));
      assert.deepEqual(await workKeys(distributed), []);
      assert.deepEqual((await readDataset(`${distributed}/${VIEW}`, 'published')).rows, expected);
    } finally {
      await cluster.stopAll();
      redis.disconnect();
    }
  });
});
