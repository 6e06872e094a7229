/**
 * Jobs workers can verify (DAGCTL_JOB_KEY): a BullMQ job payload edited in Redis, or a run record
 * edited in Redis, is refused by a real `dagctl worker` with JOB_TAMPERED (not retried) and a
 * logged reason, and the run fails cleanly. Real Redis, real worker processes.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { initialState } from '../../scheduler/engine/state.js';
import { runKeys } from '../../scheduler/redis/keys.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { macOk, withMac } from '../../workers/bullmq/job-auth.js';
import { submitRun } from '../../workers/bullmq/submit.js';
import { Cluster, waitFinished } from '../distributed/cluster.js';
import { redisUrl, requireRedis, testRedis, uniqueRunId } from '../distributed/redis-env.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';

const KEY = 'test-job-key-0123456789abcdef';

describe('contracts: job payloads bound to the run (HMAC)', function () {
  this.timeout(90_000);

  it('withMac/macOk: a signed value verifies; any edit, a missing MAC or another key does not; no key checks nothing', () => {
    const key = Buffer.from(KEY);
    const v = withMac(key, { runId: 'r', inputs: [{ uri: 'file:///a', files: ['x'] }] });
    assert.ok(macOk(key, v));
    assert.ok(!macOk(key, { ...v, inputs: [{ uri: 'file:///etc', files: ['x'] }] }));
    assert.ok(!macOk(key, { runId: 'r', inputs: [{ uri: 'file:///a', files: ['x'] }] }));
    assert.ok(!macOk(Buffer.from('another-key-0123456789'), v));
    assert.ok(macOk(null, { anything: 1 }));
  });

  describe('with a real worker', function () {
    requireRedis(this);
    let redis: Redis;
    let store: RedisRunStore;
    let cluster: Cluster;
    const saved = process.env.DAGCTL_JOB_KEY;
    before(async () => {
      process.env.DAGCTL_JOB_KEY = KEY; // this process submits; workers inherit it
      redis = await testRedis();
      store = new RedisRunStore(redis);
      cluster = new Cluster();
    });
    after(async () => {
      // undefined when requireRedis skipped the suite
      await (cluster as Cluster | undefined)?.stopAll();
      (redis as Redis | undefined)?.disconnect();
      if (saved === undefined) delete process.env.DAGCTL_JOB_KEY;
      else process.env.DAGCTL_JOB_KEY = saved;
    });

    async function created(name: string) {
      const record = recordOf(dagOf(name, [noopTask('a', { retries: 3 })]), uniqueRunId(name));
      await store.createRun(record, initialState(record.runId, record.dag.name, record.plan, record.createdAt));
      return record;
    }

    it('refuses an edited job payload (JOB_TAMPERED, once, logged) and the run fails', async () => {
      const record = await created('tampered-job');
      await submitRun(store, record, redisUrl()); // enqueued; no worker runs yet
      // Find the queued job and point it elsewhere, as someone with Redis access could.
      let edited = 0;
      for (const k of await redis.keys('dagctl:bull:*')) {
        if ((await redis.type(k)) !== 'hash') continue;
        const data = await redis.hget(k, 'data');
        if (data === null || !data.includes(record.runId)) continue;
        const job = JSON.parse(data) as Record<string, unknown>;
        job.force = true;
        job.inputs = [{ dataset: 'x', uri: 'file:///etc', files: [] }];
        await redis.hset(k, 'data', JSON.stringify(job));
        edited++;
      }
      assert.equal(edited, 1);
      const w = await cluster.startWorker();
      const final = await waitFinished(store, record.runId, 120_000);
      assert.equal(final.phase, 'failed');
      assert.equal(final.instances['a.main']?.errorCode, 'JOB_TAMPERED');
      assert.equal(final.instances['a.main']?.attempts, 1);
      assert.ok(w.logs.some((l) => l.includes('job payload does not match its MAC')), w.logs.join('\n'));
    });

    it('refuses an edited run record (JOB_TAMPERED) and the run fails', async () => {
      const record = await created('tampered-record');
      const k = runKeys(record.runId).record;
      const stored = JSON.parse((await redis.get(k)) ?? '{}') as { mac?: string; dag: { datasets: Record<string, unknown> } };
      assert.ok(typeof stored.mac === 'string', 'the stored record carries no MAC');
      stored.dag.datasets.evil = { name: 'evil', uri: 'file:///tmp/elsewhere', format: 'parquet', view: false };
      await redis.set(k, JSON.stringify(stored));
      await submitRun(store, record, redisUrl());
      const final = await waitFinished(store, record.runId, 120_000);
      assert.equal(final.phase, 'failed');
      assert.equal(final.instances['a.main']?.errorCode, 'JOB_TAMPERED');
      assert.ok(cluster.workers.some((w) => w.logs.some((l) => l.includes('run record does not match its MAC'))));
    });
  });
});
