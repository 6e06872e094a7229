/**
 * The autoscaling demand (scheduler/plan/autoscale.ts), pure: remaining work of a run (finished
 * instances dropped, deps narrowed, a running instance credited with its elapsed time), the slots a
 * deadline needs — checked against closed forms (k independent equal instances of T ms fit
 * floor(D/T) per slot before a deadline D, so they need ceil(k / floor(D/T)) slots), and against a
 * brute-force oracle on random DAGs (the answer meets the deadline per the simulation, and one slot
 * fewer does not, unless the search hit the work bound) — and the work-jobs sum.
 */
import assert from 'node:assert/strict';
import type { InstanceState } from '../../scheduler/model.js';
import { autoscaleDemand, remainingInstances, runDemand, type InstanceProgress, type RunProgress } from '../../scheduler/plan/autoscale.js';
import { simulateMakespan } from '../../scheduler/plan/makespan.js';
import { inst, randomDag } from './support/instances.js';

const fan = (k: number, ms: number, rootState: InstanceState = 'succeeded'): RunProgress => {
  const plan = [inst('root', 10), ...Array.from({ length: k }, (_, i) => inst(`f${i}`, ms, ['root'], 'fan'))];
  return { runId: 'r', plan, statuses: { root: { state: rootState } } };
};

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('autoscale demand (pure)', () => {
  it('k independent instances of T ms need ceil(k / floor(D/T)) slots for a deadline D', () => {
    const rand = lcg(7);
    for (let trial = 0; trial < 200; trial++) {
      const k = 1 + Math.floor(rand() * 60);
      const t = 100 * (1 + Math.floor(rand() * 20));
      const perSlot = 1 + Math.floor(rand() * 6);
      const d = t * perSlot + Math.floor(rand() * t); // fits exactly perSlot instances per slot
      const run = { ...fan(k, t), deadlineAt: 50_000 + d };
      const r = runDemand(run, 50_000, 10_000);
      assert.equal(r.feasible, true);
      assert.equal(r.slots, Math.ceil(k / perSlot), `k=${k} T=${t} D=${d}`);
      assert.equal(r.remaining, k);
    }
  });

  it('drops finished instances, narrows deps, credits a running instance with its elapsed time', () => {
    const plan = [inst('a', 1000), inst('b', 1000, ['a']), inst('c', 500, ['b']), inst('x', 300)];
    const statuses: Record<string, InstanceProgress> = { a: { state: 'succeeded' }, b: { state: 'running', startedAt: 10_000 }, x: { state: 'skipped' } };
    const rest = remainingInstances({ runId: 'r', plan, statuses }, 10_400);
    assert.deepEqual(rest.map((p) => [p.id, p.deps, p.predictedMs]), [['b', [], 600], ['c', ['b'], 500]]);
    // Ran past its prediction: counts as finishing now, never negative.
    assert.equal(remainingInstances({ runId: 'r', plan, statuses }, 20_000)[0]?.predictedMs, 0);
    // Remaining chain 600 + 500 = 1100 ms: a 1100 ms budget is met with one slot, 1099 is not.
    const run = (deadlineAt: number): RunProgress => ({ runId: 'r', plan, statuses, deadlineAt });
    assert.deepEqual([runDemand(run(11_500), 10_400, 64).slots, runDemand(run(11_500), 10_400, 64).feasible], [1, true]);
    const late = runDemand(run(11_499), 10_400, 64);
    assert.equal(late.feasible, false);
    assert.equal(late.slots, 2); // as many as remain: the most parallelism that can help
    assert.equal(late.criticalPathMs, 1100);
  });

  it('no deadline adds nothing; a passed deadline asks for the widest useful count, capped', () => {
    assert.equal(runDemand(fan(8, 1000), 0, 64).slots, 0);
    const past = runDemand({ ...fan(8, 1000), deadlineAt: 100 }, 200, 64);
    assert.deepEqual([past.slots, past.feasible, past.budgetMs], [8, false, -100]);
    assert.equal(runDemand({ ...fan(8, 1000), deadlineAt: 100 }, 200, 5).slots, 5);
    const done = runDemand({ runId: 'r', plan: [inst('a', 5)], statuses: { a: { state: 'succeeded' } }, deadlineAt: 10 }, 0, 4);
    assert.deepEqual([done.slots, done.remaining], [0, 0]);
  });

  it('on random DAGs the slots meet the deadline in the simulation, and one fewer does not', () => {
    const rand = lcg(42);
    for (let trial = 0; trial < 60; trial++) {
      const plan = randomDag(40 + Math.floor(rand() * 80), 3, rand);
      const statuses: Record<string, InstanceProgress> = {};
      const run: RunProgress = { runId: 'r', plan, statuses };
      const rest = remainingInstances(run, 0);
      const oneSlot = simulateMakespan(rest, 1).makespanMs;
      const wide = simulateMakespan(rest, rest.length).makespanMs;
      const d = wide + Math.floor(rand() * (oneSlot - wide));
      const r = runDemand({ ...run, deadlineAt: d }, 0, 10_000);
      assert.equal(r.feasible, true);
      assert.ok(simulateMakespan(rest, r.slots).makespanMs <= d);
      const total = rest.reduce((s, p) => s + p.predictedMs, 0);
      if (r.slots > Math.ceil(total / d)) assert.ok(simulateMakespan(rest, r.slots - 1).makespanMs > d, `trial ${trial}`);
    }
  });

  it('workJobs counts ready (wait, prioritized, due delayed), running and due retries; demandSlots swaps deadline runs\' jobs for their slots', () => {
    const a: RunProgress = {
      ...fan(4, 1000),
      runId: 'a',
      deadlineAt: 1000,
      statuses: { root: { state: 'succeeded' }, f0: { state: 'queued' }, f1: { state: 'running', startedAt: 0 }, f2: { state: 'pending', notBefore: 0 }, f3: { state: 'pending', notBefore: 5000 } },
    };
    const b: RunProgress = { ...fan(4, 1000), runId: 'b', deadlineAt: 2000 };
    const c: RunProgress = { ...fan(2, 1000), runId: 'c', statuses: { root: { state: 'succeeded' }, f0: { state: 'pending', notBefore: 0 } } };
    const queues = { default: { wait: 5, prioritized: 2, delayedDue: 1, active: 3 }, heavy: { wait: 1, prioritized: 0, delayedDue: 0, active: 1 } };
    const d = autoscaleDemand({ now: 0, maxSlots: 100, queues, runs: [a, b, c] });
    assert.deepEqual(d.runs.map((r) => [r.runId, r.slots, r.inFlight, r.dueRetries]), [['a', 4, 2, 1], ['b', 2, 0, 0], ['c', 0, 0, 1]]);
    assert.deepEqual([d.readyJobs, d.activeJobs, d.dueRetries, d.workJobs], [9, 4, 2, 15]);
    assert.equal(d.deadlineSlots, 6);
    // 6 slots for the deadline runs + the 15 jobs less run a's 2 in flight and 1 due retry.
    assert.equal(d.demandSlots, 6 + (15 - 3));
    const capped = autoscaleDemand({ now: 0, maxSlots: 5, queues, runs: [a, b, c] });
    assert.deepEqual([capped.deadlineSlots, capped.demandSlots], [5, 5]);
    // Only deadline runs, whose jobs are all in the queue: demand is their slots alone.
    const only = autoscaleDemand({ now: 0, maxSlots: 100, queues: { default: { wait: 1, prioritized: 0, delayedDue: 0, active: 1 } }, runs: [a] });
    assert.deepEqual([only.workJobs, only.deadlineSlots, only.demandSlots], [3, 4, 4]);
  });
});
