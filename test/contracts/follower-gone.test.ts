/**
 * A distributed follower (`dagctl run --redis` following its run) whose run disappears from Redis
 * (a restart without persistence) says so with RUN_NOT_FOUND instead of waiting forever. The
 * test deletes the run's keys only after the follower has seen the run once.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { isDagctlError } from '../../core/errors.js';
import { initialState } from '../../scheduler/engine/state.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { followRunById, submitRun } from '../../workers/bullmq/submit.js';
import { redisUrl, requireRedis, testRedis, uniqueRunId } from '../distributed/redis-env.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';

describe('contracts: a follower whose run is gone', function () {
  requireRedis(this);
  this.timeout(30_000);
  let redis: Redis;
  before(async () => {
    redis = await testRedis();
  });
  after(() => (redis as Redis | undefined)?.disconnect()); // undefined when requireRedis skipped the suite

  it('fails with RUN_NOT_FOUND once the run it saw is gone from Redis', async () => {
    const store = new RedisRunStore(redis);
    const record = recordOf(dagOf('gone', [noopTask('a')]), uniqueRunId('gone'));
    await store.createRun(record, initialState(record.runId, record.dag.name, record.plan, record.createdAt));
    await submitRun(store, record, redisUrl()); // no worker: the run stays running
    let seen!: () => void;
    const sawRun = new Promise<void>((r) => (seen = r));
    const following = followRunById(record.runId, redisUrl(), () => seen(), { sweep: false, intervalMs: 20 });
    await sawRun;
    for (const k of await redis.keys(`dagctl:run:{${record.runId}}:*`)) await redis.del(k);
    await assert.rejects(following, (e: unknown) => isDagctlError(e, 'RUN_NOT_FOUND'));
  });
});
