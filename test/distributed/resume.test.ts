/**
 * resumeRun (`dagctl run --resume RUN --redis`): a distributed run is made to move again whatever
 * its submitter left behind — never started, jobs lost between apply and enqueue, or nothing in
 * flight at all (a write lost with Redis) — and a finished run is left alone.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { isDagctlError } from '../../core/errors.js';
import { initialState } from '../../scheduler/engine/state.js';
import { runKeys } from '../../scheduler/redis/keys.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { resumeRun } from '../../workers/bullmq/submit.js';
import { chain, recordOf } from '../helpers/dags.js';
import { Cluster, waitFinished } from './cluster.js';
import { redisUrl, requireRedis, testRedis, uniqueRunId } from './redis-env.js';

describe('resumeRun (run --resume with --redis)', function () {
  requireRedis(this);
  this.timeout(60_000);
  let redis: Redis;
  let store: RedisRunStore;
  let cluster: Cluster | null = null;

  before(async () => {
    redis = await testRedis();
    store = new RedisRunStore(redis);
  });
  after(() => redis?.disconnect());
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = null;
  });

  async function created(name: string) {
    const dag = chain(3);
    const record = recordOf({ ...dag, name }, uniqueRunId(name));
    await store.createRun(record, initialState(record.runId, record.dag.name, record.plan, record.createdAt));
    return record;
  }

  async function finishWithAWorker(runId: string): Promise<void> {
    cluster = new Cluster();
    await cluster.startWorker();
    const final = await waitFinished(store, runId, 30_000);
    assert.equal(final.phase, 'succeeded');
  }

  it('starts a run whose submitter died before `start`', async () => {
    const record = await created('resume-pending');
    const r = await resumeRun(store, record, redisUrl());
    assert.deepEqual(r, { phase: 'running', action: 'started', enqueued: 1 });
    await finishWithAWorker(record.runId);
    assert.deepEqual(await resumeRun(store, record, redisUrl()), { phase: 'succeeded', action: 'none', enqueued: 0 });
  });

  it('re-adds the jobs of a run applied but never enqueued (no worker sweeper needed)', async () => {
    const record = await created('resume-lost');
    await store.apply(record.runId, [{ type: 'start', at: Date.now() }]);
    const r = await resumeRun(store, record, redisUrl());
    assert.equal(r.action, 'swept');
    assert.equal(r.enqueued, 1);
    // Idempotent: the job exists now, nothing more is added.
    assert.equal((await resumeRun(store, record, redisUrl())).enqueued, 0);
    await finishWithAWorker(record.runId);
  });

  it('applies `recover` when nothing is in flight and dispatches what is ready', async () => {
    const record = await created('resume-recover');
    await store.apply(record.runId, [{ type: 'start', at: Date.now() }]);
    // A write lost with Redis: the active set no longer lists the queued instance.
    await redis.del(runKeys(record.runId).active);
    const r = await resumeRun(store, record, redisUrl());
    assert.deepEqual(r, { phase: 'running', action: 'recovered', enqueued: 1 });
    const st = await store.getState(record.runId);
    assert.equal(st?.instances['t0.main']?.state, 'queued');
    assert.equal(st?.instances['t0.main']?.attempts, 1, 'recover must not charge an attempt');
    await finishWithAWorker(record.runId);
  });

  it('fails with RUN_NOT_FOUND for a run that is not in Redis', async () => {
    const record = recordOf(chain(1), uniqueRunId('resume-none'));
    await assert.rejects(resumeRun(store, record, redisUrl()), (e) => isDagctlError(e, 'RUN_NOT_FOUND'));
  });
});
