/**
 * The RunStore conformance suite against RedisRunStore on a real Redis, plus what the suite does
 * not cover: iterative-round convergence, cancel/recover/reset, and batch effects compared with
 * the pure reducer event by event.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { applyEvents } from '../../scheduler/engine/reducer.js';
import { indexPlan, initialState, type RunState } from '../../scheduler/engine/state.js';
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { ACTIVE_RUNS, DEFAULT_QUEUE, RUNS_INDEX, jobId, runsOfDagKey } from '../../scheduler/redis/keys.js';
import { REPLY_STATUSES_MAX } from '../../scheduler/redis/lua/apply.js';
import { JobResolver } from '../../scheduler/jobs.js';
import { coveredByReply, Dispatcher } from '../../workers/bullmq/dispatcher.js';
import { Queues } from '../../workers/bullmq/queues.js';
import { policiesOf } from '../../scheduler/stores/policies.js';
import { isDagctlError } from '../../core/errors.js';
import { runStoreConformance, okResult } from '../conformance/run-store.js';
import { dagOf, diamond, noopTask, recordOf } from '../helpers/dags.js';
import { REDIS_URL, requireRedis, testRedis, uniqueRunId } from './redis-env.js';

if (REDIS_URL !== undefined && REDIS_URL !== '') {
  let conns: Redis[] = [];
  // The suite assumes an empty store (it checks which run is the latest): a dedicated database of
  // the throwaway test server, flushed for every test.
  const CONFORMANCE_DB = 15;
  runStoreConformance('redis', {
    make: async () => {
      const r = await testRedis(CONFORMANCE_DB);
      await r.flushdb();
      conns.push(r);
      return new RedisRunStore(r);
    },
    reopen: async () => {
      const r = await testRedis(CONFORMANCE_DB);
      conns.push(r);
      return new RedisRunStore(r);
    },
    cleanup: async () => {
      for (const c of conns) c.disconnect();
      conns = [];
    },
  });
}

describe('RedisRunStore beyond the conformance suite', function () {
  requireRedis(this);
  let redis: Redis;
  let store: RedisRunStore;
  before(async () => {
    // Its own database: worker processes of the cluster tests (db 0) must not sweep these runs.
    redis = await testRedis(14);
    store = new RedisRunStore(redis);
  });
  after(() => redis?.disconnect());

  /** Applies events to the store and to a shadow reducer state; both must agree after each step. */
  async function lockstep(plan: PlannedInstance[] | null, dag = diamond(), steps: RunEvent[][]): Promise<RunState> {
    const runId = uniqueRunId('lock');
    const rec = recordOf(dag, runId);
    if (plan !== null) rec.plan = plan;
    await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
    const index = indexPlan(rec.plan, policiesOf(dag));
    const shadow = initialState(runId, dag.name, rec.plan, 1000);
    for (const events of steps) {
      const fx = await store.apply(runId, events);
      assert.deepEqual(fx, applyEvents(index, shadow, events), `effects after ${JSON.stringify(events.map((e) => e.type))}`);
      const st = await store.getState(runId);
      assert.deepEqual(st, shadow);
    }
    return shadow;
  }

  it('rejects a second createRun with the same id (RUN_STATE_INVALID)', async () => {
    const runId = uniqueRunId('dup');
    const rec = recordOf(diamond(), runId);
    await store.createRun(rec, initialState(runId, 'diamond', rec.plan, 1));
    await assert.rejects(store.createRun(rec, initialState(runId, 'diamond', rec.plan, 1)), (e) => isDagctlError(e, 'RUN_STATE_INVALID'));
  });

  it('a second createRun lists a run whose first creator died before indexing it (scheduler failover)', async () => {
    const runId = uniqueRunId('unlisted');
    const rec = recordOf(diamond(), runId);
    await store.createRun(rec, initialState(runId, 'diamond', rec.plan, 1));
    // What a creator SIGKILLed between the create script and the global indexes leaves behind.
    await redis.multi().zrem(RUNS_INDEX, runId).zrem(runsOfDagKey('diamond'), runId).srem(ACTIVE_RUNS, runId).exec();
    assert.ok(!(await store.listRuns({ dag: 'diamond' })).some((r) => r.runId === runId));
    await assert.rejects(store.createRun(rec, initialState(runId, 'diamond', rec.plan, 1)), (e) => isDagctlError(e, 'RUN_STATE_INVALID'));
    assert.ok((await store.listRuns({ dag: 'diamond' })).some((r) => r.runId === runId), 'listed after the second create');
    assert.ok((await store.activeRuns()).includes(runId), 'active again');
  });

  it('apply on an unknown run fails with RUN_NOT_FOUND', async () => {
    await assert.rejects(store.apply('no-such-run-x', [{ type: 'tick', at: 1 }]), (e) => isDagctlError(e, 'RUN_NOT_FOUND'));
  });

  it('agrees with the reducer on cancel, recover and reset (deep-equal states, seq included)', async () => {
    const dag = diamond({ retries: 1, retryBackoffMs: 50 });
    await lockstep(null, dag, [
      [{ type: 'start', at: 1 }],
      [{ type: 'started', id: 'a.main', attempt: 1, at: 2, worker: 'w1' }],
      [{ type: 'recover', at: 3 }],
      [{ type: 'failed', id: 'a.main', attempt: 1, at: 4, error: 'e', code: 'TASK_FAILED', retryable: true }],
      [{ type: 'tick', at: 20 }, { type: 'tick', at: 60 }],
      [{ type: 'succeeded', id: 'a.main', attempt: 2, at: 61, result: okResult({ durationMs: 1.2345678901234567 }) }],
      [{ type: 'started', id: 'b.main', attempt: 1, at: 62 }, { type: 'cancel', at: 63 }],
      [{ type: 'failed', id: 'b.main', attempt: 1, at: 64, error: 'x', code: 'TASK_CANCELLED', retryable: false }, { type: 'failed', id: 'c.main', attempt: 1, at: 64, error: 'x', code: 'TASK_CANCELLED', retryable: false }],
      [{ type: 'reset', ids: ['a.main'], at: 70 }],
      [{ type: 'succeeded', id: 'a.main', attempt: 1, at: 71, result: okResult({ outputs: [] }) }],
      [{ type: 'failed', id: 'b.main', attempt: 1, at: 72, error: 'non', code: 'OPERATOR_PARAMS_INVALID', retryable: true }],
    ]);
  });

  it('converges iterative rounds: later rounds skipped, dependents dispatched', async () => {
    const dag = dagOf('iter', [noopTask('it'), noopTask('after', { dependsOn: ['it'] })]);
    const base = recordOf(dag, 'x').plan;
    const after = base.find((p) => p.task === 'after');
    const mk = (round: number, bucket: number, deps: string[]): PlannedInstance => ({
      ...(base[0] as PlannedInstance),
      id: `it.loop.r${round}.b${bucket}`,
      stage: 'loop',
      round,
      rounds: 3,
      iterateMetric: 'changed',
      bucket,
      deps,
    });
    const r1 = [mk(1, 0, []), mk(1, 1, [])];
    const r2 = [mk(2, 0, r1.map((p) => p.id)), mk(2, 1, r1.map((p) => p.id))];
    const r3 = [mk(3, 0, r2.map((p) => p.id)), mk(3, 1, r2.map((p) => p.id))];
    const last = { ...(after as PlannedInstance), deps: r3.map((p) => p.id) };
    const plan = [...r1, ...r2, ...r3, last];
    const final = await lockstep(plan, dag, [
      [{ type: 'start', at: 1 }],
      [{ type: 'succeeded', id: 'it.loop.r1.b0', attempt: 1, at: 2, result: okResult({ metrics: { changed: 3 } }) }],
      [{ type: 'succeeded', id: 'it.loop.r1.b1', attempt: 1, at: 3, result: okResult({ metrics: { changed: 0 } }) }],
      [{ type: 'succeeded', id: 'it.loop.r2.b0', attempt: 1, at: 4, result: okResult({ metrics: { changed: 0 } }) }],
      [{ type: 'succeeded', id: 'it.loop.r2.b1', attempt: 1, at: 5, result: okResult({ metrics: {} }) }],
      [{ type: 'succeeded', id: last.id, attempt: 1, at: 6, result: okResult() }],
    ]);
    assert.equal(final.instances['it.loop.r3.b0']?.skipReason, 'converged');
    assert.equal(final.phase, 'succeeded');
  });

  it('applyBatch: a worker batch (started + completions of several instances) agrees with the reducer, views after the batch', async () => {
    const dag = dagOf('batch', [noopTask('a'), noopTask('b'), noopTask('c', { dependsOn: ['a', 'b'] }), noopTask('d', { retries: 1, retryBackoffMs: 10 })]);
    const runId = uniqueRunId('batch');
    const rec = recordOf(dag, runId);
    await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
    const index = indexPlan(rec.plan, policiesOf(dag));
    const shadow = initialState(runId, dag.name, rec.plan, 1000);
    const steps: RunEvent[][] = [
      [{ type: 'start', at: 1 }],
      [
        { type: 'started', id: 'a.main', attempt: 1, at: 2, worker: 'w1' },
        { type: 'started', id: 'b.main', attempt: 1, at: 2, worker: 'w1' },
        { type: 'started', id: 'd.main', attempt: 1, at: 2, worker: 'w2' },
      ],
      [
        { type: 'succeeded', id: 'a.main', attempt: 1, at: 3, result: okResult() },
        { type: 'failed', id: 'd.main', attempt: 1, at: 3, error: 'x', code: 'TASK_FAILED', retryable: true },
        { type: 'succeeded', id: 'b.main', attempt: 1, at: 4, result: okResult({ memoized: true }) },
        // A duplicate delivery of a finished attempt inside the same batch: a no-op.
        { type: 'started', id: 'a.main', attempt: 1, at: 5, worker: 'w3' },
      ],
    ];
    for (const events of steps) {
      const views = ['a.main', 'c.main', 'd.main', 'nope'];
      const r = await store.applyBatch(runId, events, views);
      assert.deepEqual(r.effects, applyEvents(index, shadow, events));
      assert.equal(r.phase, shadow.phase);
      assert.equal(r.cancelRequested, shadow.cancelRequested);
      const want = new Map<string, unknown>();
      for (const id of views) {
        const st = shadow.instances[id];
        if (st === undefined) continue;
        // Views are what a worker needs: no results, no failed attempts' records.
        const { result, failedAttempts, ...rest } = st;
        void result;
        void failedAttempts;
        want.set(id, rest);
      }
      assert.deepEqual(r.statuses, want);
      assert.deepEqual(await store.getState(runId), shadow);
    }
    assert.equal(shadow.instances['c.main']?.state, 'queued');
    assert.equal(shadow.instances['a.main']?.worker, 'w1');
  });

  it('applyBatch with dispatch statuses: the dispatched instances and their deps, with results, exactly as statuses() reads them', async () => {
    const dag = dagOf('known', [noopTask('a'), noopTask('b'), noopTask('c', { dependsOn: ['a', 'b'] }), noopTask('d', { dependsOn: ['c'] })]);
    const runId = uniqueRunId('known');
    const rec = recordOf(dag, runId);
    await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
    const start = await store.applyBatch(runId, [{ type: 'start', at: 1 }], [], true);
    assert.deepEqual([...start.known.keys()].sort(), ['a.main', 'b.main']);
    assert.deepEqual(start.known, await store.statuses(runId, ['a.main', 'b.main']));
    // Without the flag: nothing extra (apply() and the submitting CLI).
    const plain = await store.applyBatch(runId, [{ type: 'started', id: 'a.main', attempt: 1, at: 2, worker: 'w' }]);
    assert.equal(plain.known.size, 0);
    await store.applyBatch(runId, [{ type: 'started', id: 'b.main', attempt: 1, at: 2, worker: 'w' }], [], true);
    // a succeeds (c still waits on b: nothing dispatched, nothing known), then b: c is dispatched
    // and comes back with both deps, their results included (what JobResolver.build reads).
    const first = await store.applyBatch(runId, [{ type: 'succeeded', id: 'a.main', attempt: 1, at: 3, result: okResult({ metrics: { x: 1 } }) }], [], true);
    assert.equal(first.known.size, 0);
    const r = await store.applyBatch(runId, [{ type: 'succeeded', id: 'b.main', attempt: 1, at: 4, result: okResult({ metrics: { x: 2 } }) }], [], true);
    assert.deepEqual(r.effects, [{ type: 'dispatch', ids: ['c.main'] }]);
    assert.deepEqual([...r.known.keys()].sort(), ['a.main', 'b.main', 'c.main']);
    assert.deepEqual(r.known, await store.statuses(runId, ['c.main', 'a.main', 'b.main']));
    assert.deepEqual(r.known.get('a.main')?.result?.metrics, { x: 1 });
    assert.equal(r.known.get('c.main')?.state, 'queued');
  });

  it('dispatch statuses are capped: dispatched + deps up to REPLY_STATUSES_MAX ids, none above (the dispatcher reads them)', async () => {
    for (const [buckets, carried] of [[REPLY_STATUSES_MAX - 1, REPLY_STATUSES_MAX], [REPLY_STATUSES_MAX, 0]] as const) {
      const dag = dagOf('cap', [noopTask('root'), noopTask('fan', { dependsOn: ['root'], params: { buckets } }), noopTask('sink', { dependsOn: ['fan'] })]);
      const runId = uniqueRunId('cap');
      const rec = recordOf(dag, runId);
      await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      await store.applyBatch(runId, [{ type: 'start', at: 1 }, { type: 'succeeded', id: 'root.main', attempt: 1, at: 2, result: okResult() }]);
      const fan = rec.plan.filter((p) => p.task === 'fan').map((p) => p.id);
      assert.equal(fan.length, buckets);
      const r = await store.applyBatch(runId, fan.map((id) => ({ type: 'succeeded' as const, id, attempt: 1, at: 3, result: okResult() })), [], true);
      assert.deepEqual(r.effects, [{ type: 'dispatch', ids: ['sink.main'] }]);
      assert.equal(r.known.size, carried, `${buckets} deps`);
      if (carried > 0) assert.deepEqual(r.known, await store.statuses(runId, ['sink.main', ...fan]));
    }
  });

  it('coveredByReply: the apply reply alone only when it holds every needed id', async () => {
    const dag = dagOf('cover', [noopTask('a'), noopTask('b', { dependsOn: ['a'] })]);
    const runId = uniqueRunId('cover');
    const rec = recordOf(dag, runId);
    await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
    await store.applyBatch(runId, [{ type: 'start', at: 1 }]);
    const r = await store.applyBatch(runId, [{ type: 'succeeded', id: 'a.main', attempt: 1, at: 2, result: okResult() }], [], true);
    const need = new Set(['b.main', ...new JobResolver(rec).needs('b.main')]);
    // A chain: covered (the fast path, no read).
    assert.equal(coveredByReply(need, r.known), true);
    // Not covered: no reply, an empty one, or one missing a needed id.
    assert.equal(coveredByReply(need, undefined), false);
    assert.equal(coveredByReply(need, new Map()), false);
    assert.equal(coveredByReply(new Set([...need, 'x.main']), r.known), false);
  });

  it('a dispatch whose needs the reply does not cover is built from one read: a reset after the apply is not enqueued on stale inputs', async () => {
    // One task of three stages: c's needs include stage a (an earlier stage), which is not one of
    // c's plan deps, so the apply reply (c and its dep b) does not cover them.
    const dag = dagOf('stale', [noopTask('t')]);
    const runId = uniqueRunId('stale');
    const base = { task: 't', operator: 'noop', kind: 'work' as const, round: 1, rounds: 1, partition: '', bucket: -1, buckets: 1, inputBytes: 0, inputRows: 0, predictedMs: 1, overheadMs: 1, workMs: 0, costSource: 'default' as const };
    const plan: PlannedInstance[] = [
      { ...base, id: 't.a', stage: 'a', stageIndex: 0, deps: [] },
      { ...base, id: 't.b', stage: 'b', stageIndex: 1, deps: ['t.a'] },
      { ...base, id: 't.c', stage: 'c', stageIndex: 2, deps: ['t.b'] },
    ];
    const rec = { ...recordOf(dag, runId), plan };
    await store.createRun(rec, initialState(runId, dag.name, plan, 1000));
    await store.applyBatch(runId, [{ type: 'start', at: 1 }, { type: 'succeeded', id: 't.a', attempt: 1, at: 2, result: okResult() }]);
    const r = await store.applyBatch(runId, [{ type: 'succeeded', id: 't.b', attempt: 1, at: 3, result: okResult() }], [], true);
    assert.deepEqual(r.effects, [{ type: 'dispatch', ids: ['t.c'] }]);
    assert.deepEqual([...r.known.keys()].sort(), ['t.b', 't.c']);
    assert.ok(new JobResolver(rec).needs('t.c').includes('t.a'));
    // `retry --from t` lands between the apply and the enqueue: t.c is pending again, t.a has no result.
    await store.apply(runId, [{ type: 'reset', ids: ['t.a', 't.b', 't.c'], at: 4 }]);
    const qconn = await testRedis(14);
    const queues = new Queues(qconn, null);
    try {
      const dispatcher = new Dispatcher(store, queues);
      // Built from the reply plus a later read, t.c would be enqueued as attempt 1 ("queued" in the
      // reply) with stage a's inputs missing: the id the real re-dispatch reuses.
      assert.equal(await dispatcher.enqueue(runId, ['t.c'], {}, r.known), 0);
      assert.equal(await queues.get(DEFAULT_QUEUE).getJob(jobId(runId, 't.c', 1)), undefined);
    } finally {
      await queues.close();
      qconn.disconnect();
    }
  });

  it('lists run summaries with counts from Redis', async () => {
    const runId = uniqueRunId('sum');
    const dag = dagOf(`sum-${runId}`, [noopTask('a'), noopTask('b')]);
    const rec = recordOf(dag, runId);
    await store.createRun(rec, initialState(runId, dag.name, rec.plan, 5));
    await store.apply(runId, [{ type: 'start', at: 6 }]);
    const [s] = await store.listRuns({ dag: dag.name });
    assert.equal(s?.runId, runId);
    assert.deepEqual(s?.counts, { queued: 2 });
    assert.equal(s?.instances, 2);
    assert.equal((await store.activeInstances(runId)).size, 2);
    assert.ok((await store.activeRuns()).includes(runId));
  });

  it('a finished run expires after the retention and stays listed by its summary; a retry within the retention keeps it', async () => {
    const short = new RedisRunStore(redis, false, { retentionMs: 400 });
    const dag = dagOf('retained', [noopTask('a')]);
    const finish = async (runId: string): Promise<void> => {
      const rec = recordOf(dag, runId);
      await short.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      await short.apply(runId, [{ type: 'start', at: 1 }]);
      const fx = await short.apply(runId, [{ type: 'succeeded', id: 'a.main', attempt: 1, at: 2, result: okResult() }]);
      assert.deepEqual(fx, [{ type: 'finished', phase: 'succeeded' }]);
    };
    const gone = uniqueRunId('retained');
    await finish(gone);
    const ttl = await redis.pttl(`dagctl:run:{${gone}}:st`);
    assert.ok(ttl > 0 && ttl <= 400, `ttl ${ttl}`);
    // The retry case: reset before expiry makes the keys permanent again.
    const kept = uniqueRunId('retained');
    await finish(kept);
    await short.apply(kept, [{ type: 'reset', ids: ['a.main'], at: 3 }]);
    assert.equal(await redis.pttl(`dagctl:run:{${kept}}:st`), -1);
    while ((await short.getState(gone)) !== null) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await short.getRecord(gone), null);
    const listed = (await short.listRuns({ dag: 'retained' })).find((r) => r.runId === gone);
    assert.equal(listed?.phase, 'succeeded');
    assert.equal(listed?.expired, true);
    assert.equal(listed?.instances, 1);
    assert.equal((await short.getState(kept))?.phase, 'running');
  });

  it('a run starting, resuming or retried keeps the sweeper lease expiring (a permanent lease would lock every other sweeper out)', async () => {
    const dag = dagOf('leased', [noopTask('a')]);
    const runId = uniqueRunId('leased');
    const rec = recordOf(dag, runId);
    await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
    assert.equal(await store.takeSweepLease(runId, 'sweeper-1', 60_000), true);
    await store.apply(runId, [{ type: 'start', at: 1 }]);
    const ttl = await redis.pttl(`dagctl:run:{${runId}}:sweep`);
    assert.ok(ttl > 0, `the lease lost its expiry (pttl ${ttl})`);
  });
});
