/**
 * RunStore conformance suite: every RunStore implementation (memory, local, Redis) must pass it.
 * It drives runs through the store's apply() and checks the results against the pure reducer,
 * replay idempotence, atomic batches, listing and cost history.
 */
import assert from 'node:assert/strict';
import { MAX_FAILED_ATTEMPTS, type InstanceResult, type PlannedInstance } from '../../scheduler/model.js';
import { applyEvents } from '../../scheduler/engine/reducer.js';
import { indexPlan, initialState } from '../../scheduler/engine/state.js';
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { RunStore } from '../../scheduler/ports.js';
import { policiesOf } from '../../scheduler/stores/policies.js';
import { chain, diamond, noopTask, dagOf, recordOf } from '../helpers/dags.js';

export interface RunStoreFactory {
  make(): Promise<RunStore>;
  /** A second handle on the same underlying storage (another process's view). */
  reopen?(store: RunStore): Promise<RunStore>;
  cleanup?(): Promise<void>;
}

export function okResult(over: Partial<InstanceResult> = {}): InstanceResult {
  return { memoized: false, fingerprint: 'fp', outputs: [], metrics: {}, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: 1, setupMs: 0, ...over };
}

export function runStoreConformance(name: string, factory: RunStoreFactory): void {
  describe(`RunStore conformance: ${name}`, function () {
    let store: RunStore;
    let n = 0;
    const rid = (p: string): string => `${p}-${Date.now().toString(36)}-${n++}`;
    beforeEach(async () => {
      store = await factory.make();
    });
    afterEach(async () => {
      await store.close();
      await factory.cleanup?.();
    });

    it('creates a run and returns its record and initial state', async () => {
      const runId = rid('create');
      const rec = recordOf(diamond(), runId);
      await store.createRun(rec, initialState(runId, 'diamond', rec.plan, 1000));
      const got = await store.getRecord(runId);
      assert.equal(got?.runId, runId);
      assert.deepEqual(got?.plan.map((p) => p.id), rec.plan.map((p) => p.id));
      const st = await store.getState(runId);
      assert.equal(st?.phase, 'pending');
      assert.equal(Object.keys(st?.instances ?? {}).length, 4);
    });

    it('returns null for unknown runs', async () => {
      assert.equal(await store.getRecord('no-such-run'), null);
      assert.equal(await store.getState('no-such-run'), null);
    });

    it('applies a diamond to success and agrees with the pure reducer at every step', async () => {
      const runId = rid('diamond');
      const dag = diamond();
      const rec = recordOf(dag, runId);
      await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      const index = indexPlan(rec.plan, policiesOf(dag));
      const shadow = initialState(runId, dag.name, rec.plan, 1000);
      const step = async (events: RunEvent[]) => {
        const fx = await store.apply(runId, events);
        const want = applyEvents(index, shadow, events);
        assert.deepEqual(fx, want);
        const st = await store.getState(runId);
        assert.deepEqual(st?.instances, shadow.instances);
        assert.equal(st?.phase, shadow.phase);
        return fx;
      };
      let fx = await step([{ type: 'start', at: 1 }]);
      assert.deepEqual(fx, [{ type: 'dispatch', ids: ['a.main'] }]);
      await step([{ type: 'started', id: 'a.main', attempt: 1, at: 2 }]);
      fx = await step([{ type: 'succeeded', id: 'a.main', attempt: 1, at: 3, result: okResult() }]);
      assert.deepEqual(fx, [{ type: 'dispatch', ids: ['b.main', 'c.main'] }]);
      await step([
        { type: 'succeeded', id: 'b.main', attempt: 1, at: 4, result: okResult() },
        { type: 'succeeded', id: 'c.main', attempt: 1, at: 5, result: okResult({ memoized: true }) },
      ]);
      fx = await step([{ type: 'succeeded', id: 'd.main', attempt: 1, at: 6, result: okResult() }]);
      assert.deepEqual(fx, [{ type: 'finished', phase: 'succeeded' }]);
      const st = await store.getState(runId);
      assert.equal(st?.instances['c.main']?.state, 'skipped');
      assert.equal(st?.finishedAt, 6);
    });

    it('records the worker that finished an attempt (a redelivered attempt runs elsewhere)', async () => {
      const runId = rid('worker');
      const dag = chain(2);
      const rec = recordOf(dag, runId);
      await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      await store.apply(runId, [{ type: 'start', at: 1 }]);
      await store.apply(runId, [{ type: 'started', id: 't0.main', attempt: 1, at: 2, worker: 'killed' }]);
      assert.equal((await store.getState(runId))?.instances['t0.main']?.worker, 'killed');
      // The redelivered attempt's `started` is ignored (already running); its success names its worker.
      await store.apply(runId, [{ type: 'started', id: 't0.main', attempt: 1, at: 3, worker: 'heir' }]);
      await store.apply(runId, [{ type: 'succeeded', id: 't0.main', attempt: 1, at: 4, result: okResult({ worker: 'heir' }) }]);
      assert.equal((await store.getState(runId))?.instances['t0.main']?.worker, 'heir');
    });

    it('ignores a replayed completion and stale attempts', async () => {
      const runId = rid('replay');
      const dag = chain(3, { retries: 2 });
      const rec = recordOf(dag, runId);
      await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      await store.apply(runId, [{ type: 'start', at: 1 }]);
      const done: RunEvent = { type: 'succeeded', id: 't0.main', attempt: 1, at: 2, result: okResult() };
      const fx1 = await store.apply(runId, [done]);
      assert.deepEqual(fx1, [{ type: 'dispatch', ids: ['t1.main'] }]);
      const fx2 = await store.apply(runId, [done]);
      assert.deepEqual(fx2, []);
      await store.apply(runId, [{ type: 'failed', id: 't1.main', attempt: 1, at: 3, error: 'boom', code: 'TASK_FAILED', retryable: true }]);
      // attempt 1 is stale now: its late success must not count
      assert.deepEqual(await store.apply(runId, [{ type: 'succeeded', id: 't1.main', attempt: 1, at: 4, result: okResult() }]), []);
      const st = await store.getState(runId);
      assert.equal(st?.instances['t1.main']?.state, 'pending');
      assert.equal(st?.instances['t2.main']?.state, 'pending');
    });

    it('fails a task after its retries and marks downstream upstream_failed', async () => {
      const runId = rid('fail');
      const dag = dagOf('f', [noopTask('a', { retries: 1, retryBackoffMs: 100 }), noopTask('b', { dependsOn: ['a'] }), noopTask('c')]);
      const rec = recordOf(dag, runId);
      await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      await store.apply(runId, [{ type: 'start', at: 0 }]);
      const fx = await store.apply(runId, [{ type: 'failed', id: 'a.main', attempt: 1, at: 10, error: 'x', code: 'TASK_FAILED', retryable: true }]);
      assert.deepEqual(fx, [{ type: 'wake', at: 110 }]);
      assert.deepEqual(await store.apply(runId, [{ type: 'tick', at: 50 }]), [{ type: 'wake', at: 110 }]);
      assert.deepEqual(await store.apply(runId, [{ type: 'tick', at: 110 }]), [{ type: 'dispatch', ids: ['a.main'] }]);
      await store.apply(runId, [{ type: 'succeeded', id: 'c.main', attempt: 1, at: 111, result: okResult() }]);
      const end = await store.apply(runId, [{ type: 'failed', id: 'a.main', attempt: 2, at: 120, error: 'x', code: 'TASK_FAILED', retryable: true }]);
      assert.deepEqual(end, [{ type: 'finished', phase: 'failed' }]);
      const st = await store.getState(runId);
      assert.equal(st?.instances['a.main']?.state, 'failed');
      assert.equal(st?.instances['a.main']?.attempts, 2);
      assert.equal(st?.instances['b.main']?.state, 'upstream_failed');
      assert.equal(st?.instances['c.main']?.state, 'succeeded');
    });

    it('keeps each failed attempt (error, code, log tail), the last MAX_FAILED_ATTEMPTS, across a reset, as the reducer does', async () => {
      const runId = rid('attempts');
      const dag = dagOf('att', [noopTask('a', { retries: 20, retryBackoffMs: 1 }), noopTask('b', { dependsOn: ['a'] })]);
      const rec = recordOf(dag, runId);
      await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
      const index = indexPlan(rec.plan, policiesOf(dag));
      const shadow = initialState(runId, dag.name, rec.plan, 1000);
      const step = async (events: RunEvent[]): Promise<void> => {
        assert.deepEqual(await store.apply(runId, events), applyEvents(index, shadow, events));
        assert.deepEqual((await store.getState(runId))?.instances, shadow.instances);
      };
      await step([{ type: 'start', at: 1 }]);
      const n = MAX_FAILED_ATTEMPTS + 2;
      let at = 10;
      for (let attempt = 1; attempt <= n; attempt++) {
        // Every other attempt logged: text with quotes, a slash, a newline and non-ASCII survives as is.
        const log = attempt % 2 === 1 ? `{"message":"attempt ${attempt} / é…"}\nline two` : undefined;
        await step([{ type: 'failed', id: 'a.main', attempt, at, error: `boom ${attempt}`, code: 'TASK_FAILED', retryable: true, ...(log === undefined ? {} : { log }) }]);
        at += 400_000; // past the longest backoff (capped at 300 s)
        await step([{ type: 'tick', at }]);
      }
      const kept = (await store.getState(runId))?.instances['a.main']?.failedAttempts ?? [];
      assert.deepEqual(kept.map((f) => f.attempt), Array.from({ length: MAX_FAILED_ATTEMPTS }, (_, i) => n - MAX_FAILED_ATTEMPTS + 1 + i));
      assert.equal(kept[0]?.log, `{"message":"attempt ${n - MAX_FAILED_ATTEMPTS + 1} / é…"}\nline two`);
      assert.equal(kept[1]?.log, undefined);
      assert.equal(kept[1]?.error, `boom ${n - MAX_FAILED_ATTEMPTS + 2}`);
      // A stale failure (an attempt no longer running) records nothing.
      await step([{ type: 'failed', id: 'a.main', attempt: 1, at, error: 'stale', code: 'TASK_FAILED', retryable: true, log: 'stale' }]);
      await step([{ type: 'succeeded', id: 'a.main', attempt: n + 1, at: at + 1, result: okResult({ log: 'last attempt' }) }]);
      await step([{ type: 'failed', id: 'b.main', attempt: 1, at: at + 2, error: 'b failed', code: 'TASK_FAILED', retryable: false, log: 'b log' }]);
      assert.equal(shadow.phase, 'failed');
      // Reset (retry from a): the failed attempts are kept; the new attempts count from 1 again.
      await step([{ type: 'reset', ids: ['a.main'], at: at + 3 }]);
      await step([{ type: 'failed', id: 'a.main', attempt: 1, at: at + 4, error: 'after reset', code: 'TASK_FAILED', retryable: true, log: 'again' }]);
      const after = (await store.getState(runId))?.instances;
      assert.equal(after?.['a.main']?.failedAttempts?.length, MAX_FAILED_ATTEMPTS);
      assert.deepEqual(after?.['a.main']?.failedAttempts?.at(-1), { attempt: 1, at: at + 4, code: 'TASK_FAILED', error: 'after reset', log: 'again' });
      assert.deepEqual(after?.['b.main']?.failedAttempts, [{ attempt: 1, at: at + 2, code: 'TASK_FAILED', error: 'b failed', log: 'b log' }]);
    });

    it('iterative rounds: convergence skips every later round and releases the next stage', async () => {
      const runId = rid('iter');
      const dag = dagOf('iter', [noopTask('c')]);
      const id = (r: number, b: number): string => `c.iter.r${r}.b00${b}`;
      const mk = (round: number, bucket: number): PlannedInstance => ({
        id: id(round, bucket), task: 'c', operator: 'noop', kind: 'work', stage: 'iter', stageIndex: 0, round, rounds: 4, iterateMetric: 'changed',
        partition: '', bucket, buckets: 2, deps: round === 1 ? [] : [id(round - 1, 0), id(round - 1, 1)],
        inputBytes: 0, inputRows: 0, predictedMs: 1, overheadMs: 1, workMs: 0, costSource: 'default',
      });
      const plan: PlannedInstance[] = [];
      for (let r = 1; r <= 4; r++) plan.push(mk(r, 0), mk(r, 1));
      plan.push({ ...mk(1, 0), id: 'c.final', stage: 'final', stageIndex: 1, rounds: 1, bucket: -1, deps: [id(4, 0), id(4, 1)] });
      const rec = { ...recordOf(dag, runId), plan };
      await store.createRun(rec, initialState(runId, dag.name, plan, 1000));
      const index = indexPlan(plan, policiesOf(dag));
      const shadow = initialState(runId, dag.name, plan, 1000);
      const events: RunEvent[][] = [
        [{ type: 'start', at: 1 }],
        [{ type: 'succeeded', id: id(1, 0), attempt: 1, at: 2, result: okResult({ metrics: { changed: 2 } }) }],
        [{ type: 'succeeded', id: id(1, 1), attempt: 1, at: 3, result: okResult({ metrics: { changed: 0 } }) }],
        [{ type: 'succeeded', id: id(2, 0), attempt: 1, at: 4, result: okResult({ metrics: { changed: 0 } }) }],
        [{ type: 'succeeded', id: id(2, 1), attempt: 1, at: 5, result: okResult({ metrics: { changed: 0 } }) }],
        [{ type: 'succeeded', id: 'c.final', attempt: 1, at: 6, result: okResult() }],
      ];
      for (const batch of events) assert.deepEqual(await store.apply(runId, batch), applyEvents(index, shadow, batch));
      const st = await store.getState(runId);
      assert.deepEqual(st?.instances, shadow.instances);
      assert.equal(st?.phase, 'succeeded');
      assert.equal(st?.instances[id(3, 0)]?.skipReason, 'converged');
      assert.equal(st?.instances[id(4, 1)]?.attempts, 0);
    });

    it('pruning: a result skips the later-stage instances it prunes and releases their dependents', async () => {
      const runId = rid('prune');
      const dag = dagOf('prune', [noopTask('p'), noopTask('q')]);
      const base = { operator: 'noop', kind: 'work' as const, round: 1, rounds: 1, partition: '', buckets: 3, inputBytes: 0, inputRows: 0, predictedMs: 1, overheadMs: 1, workMs: 0, costSource: 'default' as const };
      const fetch = ['p.fetch.d1', 'p.fetch.d2'], reduce = [0, 1, 2].map((b) => `p.reduce.b00${b}`);
      const plan: PlannedInstance[] = [
        { ...base, id: 'p.plan', task: 'p', stage: 'plan', stageIndex: 0, bucket: -1, deps: [] },
        ...fetch.map((id) => ({ ...base, id, task: 'p', stage: 'fetch', stageIndex: 1, bucket: -1, deps: ['p.plan'] })),
        ...reduce.map((id, b) => ({ ...base, id, task: 'p', stage: 'reduce', stageIndex: 2, bucket: b, deps: ['p.plan', ...fetch] })),
        { ...base, id: 'p.publish', task: 'p', kind: 'publish', stage: 'publish', stageIndex: 3, bucket: -1, deps: reduce },
        { ...base, id: 'q.main', task: 'q', stage: 'main', stageIndex: 0, bucket: -1, deps: [] },
      ];
      const rec = { ...recordOf(dag, runId), plan };
      await store.createRun(rec, initialState(runId, dag.name, plan, 1000));
      const index = indexPlan(plan, policiesOf(dag));
      const shadow = initialState(runId, dag.name, plan, 1000);
      // Pruned: both fetch instances and reduce b001, b002. Ignored: another task's instance (q.main,
      // already queued anyway), an unknown id, and the publish instance (not a work stage).
      const prune = [...fetch, reduce[1]!, reduce[2]!, 'q.main', 'nope', 'p.publish'];
      const events: RunEvent[][] = [
        [{ type: 'start', at: 1 }],
        [{ type: 'succeeded', id: 'p.plan', attempt: 1, at: 2, result: okResult({ prune }) }],
        [{ type: 'succeeded', id: reduce[0]!, attempt: 1, at: 3, result: okResult() }],
        [{ type: 'succeeded', id: 'q.main', attempt: 1, at: 4, result: okResult() }],
        [{ type: 'succeeded', id: 'p.publish', attempt: 1, at: 5, result: okResult() }],
      ];
      const effects = [];
      for (const batch of events) {
        const fx = await store.apply(runId, batch);
        assert.deepEqual(fx, applyEvents(index, shadow, batch));
        effects.push(fx);
      }
      // The plan's completion dispatches the one reduce instance left, nothing of fetch.
      assert.deepEqual(effects[1], [{ type: 'dispatch', ids: [reduce[0]!] }]);
      const st = await store.getState(runId);
      assert.deepEqual(st?.instances, shadow.instances);
      assert.equal(st?.phase, 'succeeded');
      for (const id of [...fetch, reduce[1]!, reduce[2]!]) {
        assert.equal(st?.instances[id]?.state, 'skipped');
        assert.equal(st?.instances[id]?.skipReason, 'pruned');
        assert.equal(st?.instances[id]?.attempts, 0);
      }
      assert.equal(st?.instances['q.main']?.state, 'succeeded');
      assert.equal(st?.instances['p.publish']?.state, 'succeeded');
    });

    it('lists runs newest first and finds the latest', async () => {
      const a = rid('list-a');
      const b = rid('list-b');
      const ra = recordOf(diamond(), a, 1000);
      const rb = recordOf(chain(2), b, 2000);
      await store.createRun(ra, initialState(a, 'diamond', ra.plan, 1000));
      await store.createRun(rb, initialState(b, 'chain', rb.plan, 2000));
      const runs = await store.listRuns();
      const ids = runs.map((r) => r.runId);
      assert.ok(ids.indexOf(b) < ids.indexOf(a));
      assert.equal(await store.latestRunId('diamond'), a);
      const chainRuns = await store.listRuns({ dag: 'chain' });
      assert.ok(chainRuns.every((r) => r.dag === 'chain'));
      assert.equal(chainRuns.find((r) => r.runId === b)?.instances, 2);
    });

    it('records and filters cost history', async () => {
      await store.appendSamples([
        { operator: 'noop', stage: 'main', inputBytes: 1, inputRows: 1, durationMs: 2, setupMs: 1, at: 1 },
        { operator: 'rollup', stage: 'map', inputBytes: 10, inputRows: 5, durationMs: 20, setupMs: 2, at: 2 },
      ]);
      const all = await store.history();
      assert.ok(all.length >= 2);
      const r = await store.history({ operator: 'rollup' });
      assert.ok(r.length >= 1 && r.every((s) => s.operator === 'rollup'));
    });

    if (factory.reopen !== undefined) {
      it('is durable: another handle sees every acknowledged batch', async () => {
        const runId = rid('durable');
        const dag = chain(5);
        const rec = recordOf(dag, runId);
        await store.createRun(rec, initialState(runId, dag.name, rec.plan, 1000));
        await store.apply(runId, [{ type: 'start', at: 1 }]);
        for (let i = 0; i < 3; i++) {
          await store.apply(runId, [{ type: 'succeeded', id: `t${i}.main`, attempt: 1, at: 2 + i, result: okResult() }]);
        }
        const other = await factory.reopen!(store);
        const st = await other.getState(runId);
        assert.equal(st?.instances['t2.main']?.state, 'succeeded');
        assert.equal(st?.instances['t3.main']?.state, 'queued');
        await other.close();
      });
    }
  });
}
