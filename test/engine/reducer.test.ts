/**
 * Unit tests of the pure run-state reducer: every transition, retries with backoff, timeouts,
 * cancel, upstream failure, memoized skips, iterative-round convergence, recovery and reset.
 */
import assert from 'node:assert/strict';
import { applyEvent, reduce } from '../../scheduler/engine/reducer.js';
import { indexPlan, initialState, type PlanIndex, type RunState } from '../../scheduler/engine/state.js';
import type { Effect, RunEvent } from '../../scheduler/engine/events.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import { policiesOf } from '../../scheduler/stores/policies.js';
import type { DagSpec } from '../../definitions/types.js';
import { chain, dagOf, diamond, noopTask, planOf } from '../helpers/dags.js';
import { okResult } from '../conformance/run-store.js';

function setup(dag: DagSpec, plan: PlannedInstance[] = planOf(dag)): { index: PlanIndex; state: RunState; ev: (e: RunEvent) => Effect[] } {
  const index = indexPlan(plan, policiesOf(dag));
  const state = initialState('r1', dag.name, plan, 0);
  return { index, state, ev: (e) => applyEvent(index, state, e) };
}

const dispatched = (fx: Effect[]): string[] => fx.flatMap((f) => (f.type === 'dispatch' ? f.ids : []));

describe('reducer', () => {
  it('start dispatches only the roots, and moves the run to running', () => {
    const { state, ev } = setup(diamond());
    assert.deepEqual(dispatched(ev({ type: 'start', at: 5 })), ['a.main']);
    assert.equal(state.phase, 'running');
    assert.equal(state.startedAt, 5);
    assert.equal(state.instances['a.main']?.state, 'queued');
    assert.equal(state.instances['a.main']?.attempts, 1);
    assert.equal(state.instances['b.main']?.state, 'pending');
  });

  it('walks queued → running → succeeded, and a diamond joins only when both sides are done', () => {
    const { state, ev } = setup(diamond());
    ev({ type: 'start', at: 0 });
    ev({ type: 'started', id: 'a.main', attempt: 1, at: 1, worker: 'w1' });
    assert.equal(state.instances['a.main']?.state, 'running');
    assert.equal(state.instances['a.main']?.worker, 'w1');
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: 'a.main', attempt: 1, at: 2, result: okResult() })), ['b.main', 'c.main']);
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: 'b.main', attempt: 1, at: 3, result: okResult() })), []);
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: 'c.main', attempt: 1, at: 4, result: okResult() })), ['d.main']);
    const fx = ev({ type: 'succeeded', id: 'd.main', attempt: 1, at: 5, result: okResult() });
    assert.deepEqual(fx, [{ type: 'finished', phase: 'succeeded' }]);
    assert.equal(state.phase, 'succeeded');
    assert.equal(state.finishedAt, 5);
  });

  it('a memoized result is skipped and still satisfies dependents', () => {
    const { state, ev } = setup(chain(2));
    ev({ type: 'start', at: 0 });
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: 't0.main', attempt: 1, at: 1, result: okResult({ memoized: true }) })), ['t1.main']);
    assert.equal(state.instances['t0.main']?.state, 'skipped');
    assert.equal(state.instances['t0.main']?.skipReason, 'memoized');
  });

  it('retries with exponential backoff capped at the max, then fails and propagates upstream_failed', () => {
    const dag = dagOf('r', [noopTask('a', { retries: 3, retryBackoffMs: 100, retryBackoffMaxMs: 250 }), noopTask('b', { dependsOn: ['a'] }), noopTask('c', { dependsOn: ['b'] })]);
    const { state, ev } = setup(dag);
    ev({ type: 'start', at: 0 });
    const fail = (attempt: number, at: number): Effect[] => ev({ type: 'failed', id: 'a.main', attempt, at, error: 'boom', code: 'TASK_FAILED', retryable: true });
    assert.deepEqual(fail(1, 10), [{ type: 'wake', at: 110 }]);
    assert.equal(state.instances['a.main']?.state, 'pending');
    assert.deepEqual(dispatched(ev({ type: 'tick', at: 109 })), []);
    assert.deepEqual(dispatched(ev({ type: 'tick', at: 110 })), ['a.main']);
    assert.deepEqual(fail(2, 200), [{ type: 'wake', at: 400 }]); // 100 × 2
    ev({ type: 'tick', at: 400 });
    assert.deepEqual(fail(3, 500), [{ type: 'wake', at: 750 }]); // 100 × 4 = 400, capped at 250
    ev({ type: 'tick', at: 750 });
    const fx = fail(4, 800);
    assert.deepEqual(fx, [{ type: 'finished', phase: 'failed' }]);
    assert.equal(state.instances['a.main']?.state, 'failed');
    assert.equal(state.instances['a.main']?.attempts, 4);
    assert.equal(state.instances['b.main']?.state, 'upstream_failed');
    assert.equal(state.instances['c.main']?.state, 'upstream_failed');
    assert.equal(state.instances['c.main']?.errorCode, 'UPSTREAM_FAILED');
  });

  it('does not retry non-retryable codes, nor failures reported as not retryable', () => {
    const dag = dagOf('nr', [noopTask('a', { retries: 5 }), noopTask('b', { retries: 5 })]);
    const { state, ev } = setup(dag);
    ev({ type: 'start', at: 0 });
    ev({ type: 'failed', id: 'a.main', attempt: 1, at: 1, error: 'bad params', code: 'OPERATOR_PARAMS_INVALID', retryable: true });
    ev({ type: 'failed', id: 'b.main', attempt: 1, at: 1, error: 'nope', code: 'TASK_FAILED', retryable: false });
    assert.equal(state.instances['a.main']?.state, 'failed');
    assert.equal(state.instances['b.main']?.state, 'failed');
  });

  it('a timeout is a retryable failure', () => {
    const { state, ev } = setup(dagOf('t', [noopTask('a', { retries: 1, retryBackoffMs: 0 })]));
    ev({ type: 'start', at: 0 });
    ev({ type: 'started', id: 'a.main', attempt: 1, at: 1 });
    ev({ type: 'failed', id: 'a.main', attempt: 1, at: 2, error: 'timed out', code: 'TASK_TIMEOUT', retryable: true });
    assert.equal(state.instances['a.main']?.state, 'pending');
    assert.deepEqual(dispatched(ev({ type: 'tick', at: 2 })), ['a.main']);
    assert.equal(state.instances['a.main']?.attempts, 2);
  });

  it('keeps independent branches running after a failure, and the run fails at the end', () => {
    const dag = dagOf('b', [noopTask('x'), noopTask('y'), noopTask('z', { dependsOn: ['y'] })]);
    const { state, ev } = setup(dag);
    ev({ type: 'start', at: 0 });
    ev({ type: 'failed', id: 'x.main', attempt: 1, at: 1, error: 'e', code: 'TASK_FAILED', retryable: false });
    assert.equal(state.phase, 'running');
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: 'y.main', attempt: 1, at: 2, result: okResult() })), ['z.main']);
    const fx = ev({ type: 'succeeded', id: 'z.main', attempt: 1, at: 3, result: okResult() });
    assert.deepEqual(fx, [{ type: 'finished', phase: 'failed' }]);
  });

  it('cancel: pending instances are cancelled, queued/running ones get an abort, and the run ends cancelled', () => {
    const { state, ev } = setup(diamond());
    ev({ type: 'start', at: 0 });
    ev({ type: 'started', id: 'a.main', attempt: 1, at: 1 });
    const fx = ev({ type: 'cancel', at: 2 });
    assert.deepEqual(fx, [{ type: 'abort', ids: ['a.main'] }]);
    assert.equal(state.instances['b.main']?.state, 'cancelled');
    assert.equal(state.cancelRequested, true);
    const end = ev({ type: 'failed', id: 'a.main', attempt: 1, at: 3, error: 'aborted', code: 'TASK_CANCELLED', retryable: false });
    assert.deepEqual(end, [{ type: 'finished', phase: 'cancelled' }]);
    assert.equal(state.instances['a.main']?.state, 'cancelled');
    // nothing is dispatched after a cancel
    assert.deepEqual(ev({ type: 'tick', at: 4 }), []);
  });

  it('ignores stale attempts and duplicate completions (replay-safe)', () => {
    const { state, ev } = setup(chain(2, { retries: 1, retryBackoffMs: 0 }));
    ev({ type: 'start', at: 0 });
    ev({ type: 'failed', id: 't0.main', attempt: 1, at: 1, error: 'e', code: 'TASK_FAILED', retryable: true });
    ev({ type: 'tick', at: 1 });
    assert.deepEqual(ev({ type: 'succeeded', id: 't0.main', attempt: 1, at: 2, result: okResult() }), []);
    assert.equal(state.instances['t0.main']?.state, 'queued');
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: 't0.main', attempt: 2, at: 3, result: okResult() })), ['t1.main']);
    assert.deepEqual(ev({ type: 'succeeded', id: 't0.main', attempt: 2, at: 4, result: okResult() }), []);
    assert.equal(state.instances['t1.main']?.pendingDeps, 0);
  });

  it('recover re-dispatches attempts lost with the process, without charging a retry', () => {
    const { state, ev } = setup(diamond());
    ev({ type: 'start', at: 0 });
    ev({ type: 'succeeded', id: 'a.main', attempt: 1, at: 1, result: okResult() });
    ev({ type: 'started', id: 'b.main', attempt: 1, at: 2 });
    const fx = ev({ type: 'recover', at: 10 });
    assert.deepEqual(dispatched(fx).sort(), ['b.main', 'c.main']);
    assert.equal(state.instances['b.main']?.attempts, 1);
    assert.equal(state.instances['a.main']?.state, 'succeeded');
  });

  it('reset re-runs the given instances and recounts their dependents', () => {
    const { state, ev } = setup(chain(3));
    ev({ type: 'start', at: 0 });
    ev({ type: 'succeeded', id: 't0.main', attempt: 1, at: 1, result: okResult() });
    ev({ type: 'failed', id: 't1.main', attempt: 1, at: 2, error: 'e', code: 'TASK_FAILED', retryable: false });
    assert.equal(state.phase, 'failed');
    const fx = ev({ type: 'reset', ids: ['t1.main', 't2.main'], at: 3 });
    assert.deepEqual(dispatched(fx), ['t1.main']);
    assert.equal(state.phase, 'running');
    assert.equal(state.instances['t0.main']?.state, 'succeeded');
    assert.equal(state.instances['t2.main']?.pendingDeps, 1);
  });

  it('iterative rounds: a round whose metric sums to 0 skips every later round (converged)', () => {
    const dag = dagOf('it', [noopTask('c')]);
    const ROUNDS = 5;
    const id = (r: number, b: number): string => `c.iter.r${r}.b00${b}`;
    const mk = (round: number, bucket: number): PlannedInstance => ({
      id: id(round, bucket), task: 'c', operator: 'noop', kind: 'work', stage: 'iter', stageIndex: 0, round, rounds: ROUNDS, iterateMetric: 'changed',
      partition: '', bucket, buckets: 2, deps: round === 1 ? [] : [id(round - 1, 0), id(round - 1, 1)],
      inputBytes: 0, inputRows: 0, predictedMs: 1, overheadMs: 1, workMs: 0, costSource: 'default',
    });
    const plan: PlannedInstance[] = [];
    for (let r = 1; r <= ROUNDS; r++) plan.push(mk(r, 0), mk(r, 1));
    plan.push({ ...mk(1, 0), id: 'c.final', stage: 'final', stageIndex: 1, rounds: 1, bucket: -1, deps: [id(ROUNDS, 0), id(ROUNDS, 1)] });
    const { state, ev } = setup(dag, plan);
    ev({ type: 'start', at: 0 });
    ev({ type: 'succeeded', id: id(1, 0), attempt: 1, at: 1, result: okResult({ metrics: { changed: 3 } }) });
    assert.deepEqual(dispatched(ev({ type: 'succeeded', id: id(1, 1), attempt: 1, at: 2, result: okResult({ metrics: { changed: 0 } }) })).sort(), [id(2, 0), id(2, 1)]);
    ev({ type: 'succeeded', id: id(2, 0), attempt: 1, at: 3, result: okResult({ metrics: { changed: 0 } }) });
    const fx = ev({ type: 'succeeded', id: id(2, 1), attempt: 1, at: 4, result: okResult({ metrics: { changed: 0 } }) });
    assert.deepEqual(dispatched(fx), ['c.final']);
    for (let r = 3; r <= ROUNDS; r++) {
      for (const b of [0, 1]) {
        assert.equal(state.instances[id(r, b)]?.state, 'skipped', `round ${r} ran`);
        assert.equal(state.instances[id(r, b)]?.skipReason, 'converged');
        assert.equal(state.instances[id(r, b)]?.attempts, 0);
      }
    }
    assert.deepEqual(ev({ type: 'succeeded', id: 'c.final', attempt: 1, at: 5, result: okResult() }), [{ type: 'finished', phase: 'succeeded' }]);
  });

  it('reduce() does not mutate its input state', () => {
    const dag = diamond();
    const plan = planOf(dag);
    const index = indexPlan(plan, policiesOf(dag));
    const s0 = initialState('r', 'diamond', plan, 0);
    const copy = structuredClone(s0);
    const { state } = reduce(index, s0, { type: 'start', at: 1 });
    assert.deepEqual(s0, copy);
    assert.equal(state.phase, 'running');
  });
});
