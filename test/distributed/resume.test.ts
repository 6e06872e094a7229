/**
 * resumeRun (`dagctl run --resume RUN --redis`): a distributed run is made to move again whatever
 * its submitter left behind — never started, jobs lost between apply and enqueue, or nothing in
 * flight at all (a write lost with Redis) — and a finished run is left alone.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { initialState } from '../../scheduler/engine/state.js';
import { runKeys } from '../../scheduler/redis/keys.js';
import { resumeRun } from '../../workers/bullmq/submit.js';
import { chain, recordOf } from '../helpers/dags.js';
import { waitFinished } from './cluster.js';
import { redisUrl, uniqueRunId } from './redis-env.js';
import { distributedSuite } from './fixture.js';

describe('resumeRun (run --resume with --redis)', function () {
  const f = distributedSuite(this);

  async function created(name: string) {
    const dag = chain(3);
    const record = recordOf({ ...dag, name }, uniqueRunId(name));
    await f.store.createRun(record, initialState(record.runId, record.dag.name, record.plan, record.createdAt));
    return record;
  }

  async function finishWithAWorker(runId: string): Promise<void> {
    await f.cluster().startWorker();
    const final = await waitFinished(f.store, runId, 120_000);
    assert.equal(final.phase, 'succeeded');
  }

  it('starts a run whose submitter died before `start`', async () => {
    const record = await created('resume-pending');
    const r = await resumeRun(f.store, record, redisUrl());
    assert.deepEqual(r, { phase: 'running', action: 'started', enqueued: 1 });
    await finishWithAWorker(record.runId);
    assert.deepEqual(await resumeRun(f.store, record, redisUrl()), { phase: 'succeeded', action: 'none', enqueued: 0 });
  });

  it('re-adds the jobs of a run applied but never enqueued (no worker sweeper needed)', async () => {
    const record = await created('resume-lost');
    await f.store.apply(record.runId, [{ type: 'start', at: Date.now() }]);
    const r = await resumeRun(f.store, record, redisUrl());
    assert.equal(r.action, 'swept');
    assert.equal(r.enqueued, 1);
    // Idempotent: the job exists now, nothing more is added.
    assert.equal((await resumeRun(f.store, record, redisUrl())).enqueued, 0);
    await finishWithAWorker(record.runId);
  });

  it('applies `recover` when nothing is in flight and dispatches what is ready', async () => {
    const record = await created('resume-recover');
    await f.store.apply(record.runId, [{ type: 'start', at: Date.now() }]);
    // A write lost with Redis: the active set no longer lists the queued instance.
    await f.redis.del(runKeys(record.runId).active);
    const r = await resumeRun(f.store, record, redisUrl());
    assert.deepEqual(r, { phase: 'running', action: 'recovered', enqueued: 1 });
    const st = await f.store.getState(record.runId);
    assert.equal(st?.instances['t0.main']?.state, 'queued');
    assert.equal(st?.instances['t0.main']?.attempts, 1, 'recover must not charge an attempt');
    await finishWithAWorker(record.runId);
  });

  it('fails with RUN_NOT_FOUND for a run that is not in Redis', async () => {
    const record = recordOf(chain(1), uniqueRunId('resume-none'));
    await assert.rejects(resumeRun(f.store, record, redisUrl()), (e) => isDagctlError(e, 'RUN_NOT_FOUND'));
  });
});
