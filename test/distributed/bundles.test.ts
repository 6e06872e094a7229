/**
 * Bundles (several short instances in one BullMQ job) end to end: real Redis, real `dagctl worker`
 * processes. A wide DAG is bundled (fewer jobs than instances, per the workers' metrics) and ends
 * like the embedded executor; one always-failing member retries and fails alone; the sweeper
 * repairs bundles whose job is missing (the crash window between recording membership and adding
 * the job); kill -9, a SIGTERM hand-off and a Redis restart in the middle of bundles lose nothing.
 * Every fault lands while members are held at a barrier the test controls (test/helpers/barrier.ts).
 * Precondition: DAGCTL_TEST_REDIS_URL (else skipped, or failed under CI), a built dist/.
 */
import assert from 'node:assert/strict';
import { initialState } from '../../scheduler/engine/state.js';
import { connectRedis } from '../../scheduler/redis/connection.js';
import { runKeys } from '../../scheduler/redis/keys.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import type { DagSpec, TaskSpec } from '../../definitions/types.js';
import { Dispatcher } from '../../workers/bullmq/dispatcher.js';
import { Queues } from '../../workers/bullmq/queues.js';
import { submitRun } from '../../workers/bullmq/submit.js';
import { Sweeper } from '../../workers/bullmq/sweeper.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';
import { type Arrival } from '../helpers/barrier.js';
import { Cluster, embedded, metricSum, nothingActive, outcome, submit, waitFinished, type WorkerProc } from './cluster.js';
import { redisUrl, uniqueRunId } from './redis-env.js';
import { distributedSuite } from './fixture.js';
import { PrivateRedis } from './redis-server.js';

const wide = (name: string, buckets: number, params: Record<string, unknown> = {}, fan: Partial<TaskSpec> = {}): DagSpec =>
  dagOf(name, [noopTask('root'), noopTask('fan', { dependsOn: ['root'], params: { buckets, ...params }, ...fan }), noopTask('sink', { dependsOn: ['fan'] })]);

/** Sets DAGCTL_BUNDLE_* for this process (the submitter) and the workers it spawns afterwards. */
function withEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

describe('bundles of short instances (Redis + BullMQ + worker processes)', function () {
  const f = distributedSuite(this);
  let restoreEnv: () => void = () => {};
  afterEach(() => {
    restoreEnv();
    restoreEnv = () => {};
  });

  it('a wide DAG (2,002 instances) is bundled: far fewer jobs than instances, same outcome as embedded', async () => {
    const cluster = f.cluster();
    await Promise.all([cluster.startWorker(['--concurrency', '4']), cluster.startWorker(['--concurrency', '4'])]);
    const dag = wide('bundled', 2000);
    const record = recordOf(dag, uniqueRunId('bundled'));
    await submit(f.store, record);
    const dist = await waitFinished(f.store, record.runId, 120_000);
    assert.equal(dist.phase, 'succeeded');
    assert.deepEqual(outcome(dist), outcome(await embedded(dag)));
    await nothingActive(f.redis, record.runId);
    const [jobs, bundles, processed] = [await metricSum(cluster.workers, 'dagctl_jobs_processed_total'), await metricSum(cluster.workers, 'dagctl_bundles_processed_total'), await metricSum(cluster.workers, 'dagctl_instances_processed_total')];
    assert.equal(processed, 2002, 'instances are counted per member');
    assert.ok(bundles >= 32, `only ${bundles} bundles`);
    assert.ok(jobs < 200, `${jobs} jobs for 2,002 instances: not bundled`);
    // Bundles never starve workers: both took some.
    assert.ok(cluster.workers.every((w) => w.logs.some((l) => l.includes('"instance succeeded"'))));
  });

  it('one always-failing member of a bundle retries and fails alone; its siblings succeed; downstream is upstream_failed', async () => {
    const cluster = f.cluster();
    await cluster.startWorker(['--concurrency', '2']);
    await cluster.startWorker(['--concurrency', '2']);
    const dag = wide('badmember', 256, { failBucket: 5 }, { retries: 2, retryBackoffMs: 20 });
    const record = recordOf(dag, uniqueRunId('badmember'));
    await submit(f.store, record);
    const dist = await waitFinished(f.store, record.runId, 120_000);
    assert.deepEqual(outcome(dist), outcome(await embedded(dag)));
    assert.equal(dist.phase, 'failed');
    const bad = Object.entries(dist.instances).filter(([, s]) => s.state === 'failed');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]?.[1].attempts, 3);
    assert.equal(Object.values(dist.instances).filter((s) => s.state === 'succeeded').length, 256);
    assert.equal(dist.instances['sink.main']?.state, 'upstream_failed');
    assert.ok((await metricSum(cluster.workers, 'dagctl_bundles_processed_total')) > 0, 'nothing was bundled');
    await nothingActive(f.redis, record.runId);
  });

  it('the sweeper re-adds the members of bundles whose job is missing (crash between recording and adding) or finished without reporting, and leaves live bundles alone', async () => {
    // Roots only, dispatched by the submitter with no worker running: 320 → 32 bundles of 10.
    const dag = dagOf('swept', [noopTask('fan', { params: { buckets: 320 } })]);
    const record = recordOf(dag, uniqueRunId('swept'));
    await submit(f.store, record);
    const members = await f.redis.hgetall(runKeys(record.runId).bundles);
    assert.equal(Object.keys(members).length, 320, 'every root rides in a bundle');
    const bundleIds = [...new Set(Object.values(members).map((v) => v.split('|')[2] ?? ''))];
    assert.equal(bundleIds.length, 32);
    // The crash window: membership recorded, bundle never added. Drop 5 bundles' jobs.
    const queues = new Queues(f.redis);
    const dropped = bundleIds.slice(0, 5);
    for (const id of dropped) assert.equal(await queues.get('default').remove(id), 1);
    // And one that "finished without reporting" (its worker failed it after a lost report).
    const finished = bundleIds[5] ?? '';
    await f.redis.hset(queues.jobKey('default', finished), 'finishedOn', String(Date.now()));
    const lostMembers = Object.values(members).filter((v) => [...dropped, finished].includes(v.split('|')[2] ?? '')).length;
    assert.equal(lostMembers, 60);
    const dispatcher = new Dispatcher(f.store, queues);
    const sweeper = new Sweeper(dispatcher, { owner: 'test', graceMs: 0 });
    try {
      const s1 = await sweeper.sweepRun(record.runId);
      assert.equal(s1.checked, 320);
      assert.equal(s1.requeued, lostMembers, 'members of live bundles were re-added, or lost ones missed');
      // Re-added as singles, entries dropped: a second sweep finds every job alive.
      assert.equal((await sweeper.sweepRun(record.runId)).requeued, 0);
      assert.equal(Object.keys(await f.redis.hgetall(runKeys(record.runId).bundles)).length, 320 - lostMembers);
      assert.equal(await f.redis.exists(queues.jobKey('default', finished)), 0, 'the finished bundle job was not removed');
    } finally {
      dispatcher.close();
      await queues.close();
    }
    const cluster = f.cluster();
    await cluster.startWorker(['--concurrency', '4']);
    const dist = await waitFinished(f.store, record.runId, 120_000);
    assert.deepEqual(outcome(dist), outcome(await embedded(dag)));
    await nothingActive(f.redis, record.runId);
  });

  it('kill -9 of workers running bundles: redelivered bundles run only what is left; same outcome, nothing left active', async () => {
    const barrier = f.barrier();
    const cluster = f.cluster();
    for (let i = 0; i < 3; i++) await cluster.startWorker(['--concurrency', '2']);
    // Every third bucket waits at the barrier: each bundle reports its first members, then holds.
    const dag = wide('killbundles', 320, { barrier: barrier.dir, barrierEvery: 3 });
    const record = recordOf(dag, uniqueRunId('killbundles'));
    await submit(f.store, record);
    const c = cluster;
    for (let kill = 0; kill < 4; kill++) {
      // A live worker with a bundle member held at the barrier: the kill interrupts a bundle mid-way.
      const holding = (a: Arrival[]): WorkerProc | undefined => c.alive().find((w) => a.some((x) => x.pid === w.child.pid));
      const victim = holding(await barrier.waitFor(`held attempt on a live worker (kill ${kill + 1})`, (a) => holding(a) !== undefined)) as WorkerProc;
      victim.child.kill('SIGKILL');
      await victim.exited;
      await c.startWorker(['--concurrency', '2']);
    }
    assert.equal((await f.store.getState(record.runId))?.phase, 'running', 'every kill landed mid-run');
    barrier.open();
    const final = await waitFinished(f.store, record.runId, 120_000);
    assert.deepEqual(outcome(final), outcome(await embedded(dag)));
    // The killed workers' bundles came back: their held members ran again elsewhere (same attempt),
    // the members they had reported did not (outcome: every attempt is 1).
    assert.ok(c.workers.some((w) => w.logs.some((l) => l.includes('redelivered attempt'))), 'no bundle was redelivered');
    assert.ok((await metricSum(c.alive(), 'dagctl_bundles_processed_total')) > 0, 'nothing was bundled');
    await nothingActive(f.redis, record.runId);
  });

  it('SIGTERM past the grace period hands a bundle back: its reported members stay done, the rest finish elsewhere as attempt 1', async () => {
    restoreEnv = withEnv({ DAGCTL_BUNDLE_MIN_BUNDLES: '2' });
    const barrier = f.barrier();
    // A 60 s lock: the job can only come back this soon by being handed back.
    const cluster = f.cluster(redisUrl(), ['--lock', '60s', '--sweep', '1s', '--grace', '500ms']);
    const first = await cluster.startWorker();
    // 8 roots: 2 bundles of 4 (predicted 1 ms each, so bundled); odd buckets wait at the barrier.
    const dag = dagOf('bundlehandoff', [noopTask('fan', { params: { buckets: 8, barrier: barrier.dir, barrierEvery: 2 } })]);
    const record = recordOf(dag, uniqueRunId('bundlehandoff'));
    await f.store.createRun(record, initialState(record.runId, dag.name, record.plan, record.createdAt));
    await submitRun(f.store, record, redisUrl());
    const entries = await f.redis.hgetall(runKeys(record.runId).bundles);
    assert.equal(Object.keys(entries).length, 8);
    assert.equal(new Set(Object.values(entries)).size, 2, 'not 2 bundles of 4');
    await barrier.waitFor('held member on the first worker', (a) => a.some((x) => x.pid === first.child.pid));
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.ok(first.logs.some((l) => l.includes('attempt handed back')), first.logs.join('\n'));
    const second = await cluster.startWorker();
    await barrier.waitFor('the handed-back member held again on the second worker', (a) => a.some((x) => x.pid === second.child.pid));
    barrier.open();
    const final = await waitFinished(f.store, record.runId, 120_000);
    assert.equal(final.phase, 'succeeded');
    assert.ok(Object.values(final.instances).every((s) => s.attempts === 1), 'a hand-back is not a retry');
    const byFirst = Object.values(final.instances).filter((s) => s.worker === first.name).length;
    assert.ok(byFirst >= 1 && byFirst < 8, `first worker finished ${byFirst}`);
    assert.equal(Object.values(final.instances).filter((s) => s.worker === second.name).length, 8 - byFirst);
    await nothingActive(f.redis, record.runId);
  });

  it('a Redis restart (AOF) while bundles run: the run completes like the embedded one', async () => {
    const pr = new PrivateRedis();
    await pr.start();
    const conn = await connectRedis(pr.url, 'worker');
    const pstore = new RedisRunStore(conn);
    const local = new Cluster(pr.url);
    try {
      await local.startWorker(['--concurrency', '2']);
      await local.startWorker(['--concurrency', '2']);
      const barrier = f.barrier();
      const dag = wide('restartbundles', 320, { barrier: barrier.dir, barrierEvery: 3 });
      const record = recordOf(dag, uniqueRunId('restartbundles'));
      await submit(pstore, record, pr.url);
      // Both workers hold a bundle member: the restart lands while bundles are in flight.
      await barrier.waitFor('held members on both workers', (a) => local.workers.every((w) => a.some((x) => x.pid === w.child.pid)));
      assert.ok((await conn.hlen(runKeys(record.runId).bundles)) > 0, 'nothing was bundled');
      await pr.restart();
      assert.equal((await pstore.getState(record.runId))?.phase, 'running', 'the restart landed mid-run');
      barrier.open();
      const final = await waitFinished(pstore, record.runId, 120_000);
      assert.deepEqual(outcome(final), outcome(await embedded(dag)));
      await nothingActive(conn, record.runId);
    } finally {
      await local.stopAll();
      conn.disconnect();
      await pr.destroy();
    }
  });
});
