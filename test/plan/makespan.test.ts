/**
 * Graph analyses and the makespan simulation against hand-computed schedules (chain, diamond,
 * fork; 1/2/3 workers), the HLFET priority, the deadline search, validity of schedules on random
 * DAGs, and speed at 10,000 instances.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { criticalPath, instanceGraph, topologicalGenerations, totalWorkMs } from '../../scheduler/plan/graph.js';
import { minWorkersForDeadline, simulateMakespan } from '../../scheduler/plan/makespan.js';
import type { MakespanResult } from '../../scheduler/plan/makespan.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import { inst, randomDag } from './support/instances.js';
import { mulberry32 } from './support/prng.js';

const chain = [inst('a', 2), inst('b', 3, ['a']), inst('c', 4, ['b'])];
const diamond = [inst('a', 1), inst('b', 4, ['a']), inst('c', 2, ['a']), inst('d', 1, ['b', 'c'])];
const fork = [inst('r', 1), inst('p', 3, ['r']), inst('q', 3, ['r']), inst('s', 2, ['r']), inst('t', 2, ['r'])];

const makespan = (xs: PlannedInstance[], n: number): number => simulateMakespan(xs, n).makespanMs;

/** Dependencies respected and never more than `workers` instances running at once. */
function assertValidSchedule(xs: readonly PlannedInstance[], r: MakespanResult): void {
  const byId = new Map(r.schedule.map((s) => [s.id, s]));
  for (const x of xs) {
    const s = byId.get(x.id);
    assert.ok(s !== undefined);
    assert.equal(s.finishMs - s.startMs, x.predictedMs);
    for (const d of x.deps) assert.ok((byId.get(d)?.finishMs ?? Infinity) <= s.startMs, `${x.id} starts before ${d} ends`);
  }
  const events = r.schedule.flatMap((s) => [[s.startMs, 1], [s.finishMs, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  for (const [, d] of events) {
    running += d;
    assert.ok(running <= r.workers, 'more instances running than workers');
  }
  const perWorker = new Map<number, [number, number][]>();
  for (const s of r.schedule) perWorker.set(s.worker, [...(perWorker.get(s.worker) ?? []), [s.startMs, s.finishMs]]);
  for (const spans of perWorker.values()) {
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) assert.ok((spans[i]?.[0] ?? 0) >= (spans[i - 1]?.[1] ?? 0), 'worker double-booked');
  }
  assert.equal(r.makespanMs, Math.max(0, ...r.schedule.map((s) => s.finishMs)));
}

describe('plan: graph analyses', () => {
  it('finds the critical path, generations and total work', () => {
    assert.deepEqual(criticalPath(diamond), { ids: ['a', 'b', 'd'], lengthMs: 6 });
    assert.deepEqual(criticalPath(chain), { ids: ['a', 'b', 'c'], lengthMs: 9 });
    assert.deepEqual(criticalPath(fork), { ids: ['r', 'p'], lengthMs: 4 });
    assert.deepEqual(topologicalGenerations(diamond), [['a'], ['b', 'c'], ['d']]);
    assert.equal(totalWorkMs(fork), 11);
    assert.deepEqual(criticalPath([]), { ids: [], lengthMs: 0 });
  });

  it('builds a graphology graph with instances as node attributes', () => {
    const g = instanceGraph(diamond);
    assert.equal(g.order, 4);
    assert.equal(g.size, 4);
    assert.deepEqual(g.outNeighbors('a').sort(), ['b', 'c']);
    assert.equal(g.getNodeAttributes('b').predictedMs, 4);
  });

  it('rejects cycles, unknown deps and duplicate ids with PLAN_FAILED', () => {
    const bad = [[inst('a', 1, ['b']), inst('b', 1, ['a'])], [inst('a', 1, ['zz'])], [inst('a', 1), inst('a', 2)]];
    for (const xs of bad) assert.throws(() => simulateMakespan(xs, 1), (e) => isDagctlError(e, 'PLAN_FAILED'));
  });
});

describe('plan: makespan simulation', () => {
  it('chain: the sum, whatever the workers', () => {
    for (const n of [1, 2, 3]) assert.equal(makespan(chain, n), 9);
  });

  it('diamond: 8 on one worker, 6 on two or three', () => {
    assert.deepEqual([1, 2, 3].map((n) => makespan(diamond, n)), [8, 6, 6]);
    const r = simulateMakespan(diamond, 2);
    assert.deepEqual(r.schedule.map((s) => [s.id, s.startMs, s.finishMs]), [['a', 0, 1], ['b', 1, 5], ['c', 1, 3], ['d', 5, 6]]);
  });

  it('fork: 11 / 6 / 5 / 4 on 1 / 2 / 3 / 4 workers', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => makespan(fork, n)), [11, 6, 5, 4]);
  });

  it('orders the ready queue by longest remaining path, not by plan order or own duration', () => {
    // FIFO would run a, b first (makespan 6); HLFET starts c at once (5).
    assert.equal(makespan([inst('r', 1), inst('a', 1, ['r']), inst('b', 1, ['r']), inst('c', 4, ['r'])], 2), 5);
    // Longest-own-duration-first would start z, w (makespan 16); the path x → y matters more (11).
    assert.equal(makespan([inst('z', 5), inst('w', 5), inst('x', 1), inst('y', 10, ['x'])], 2), 11);
  });

  it('produces valid schedules on random DAGs, never below the critical path or work bound', () => {
    const rand = mulberry32(42);
    for (let trial = 0; trial < 30; trial++) {
      const xs = randomDag(5 + Math.floor(rand() * 60), 3, rand);
      for (const n of [1, 2, 3, 7]) {
        const r = simulateMakespan(xs, n);
        assertValidSchedule(xs, r);
        assert.ok(r.makespanMs >= criticalPath(xs).lengthMs);
        assert.ok(r.makespanMs >= totalWorkMs(xs) / n - 1e-9);
        if (n === 1) assert.equal(r.makespanMs, totalWorkMs(xs));
      }
    }
  });

  it('simulates 10,000 instances quickly', () => {
    const xs = randomDag(10_000, 3, mulberry32(3));
    const t0 = performance.now();
    const r = simulateMakespan(xs, 16);
    const ms = performance.now() - t0;
    assertValidSchedule(xs, r);
    assert.ok(ms < 1000, `took ${ms}ms`);
  });
});

describe('plan: deadline search', () => {
  const wide = [inst('r', 1), ...['a', 'b', 'c', 'd'].map((x) => inst(x, 3, ['r']))];

  it('finds the fewest workers meeting the deadline', () => {
    assert.deepEqual(minWorkersForDeadline(wide, 4, 16), { feasible: true, workers: 4, makespanMs: 4 });
    assert.deepEqual(minWorkersForDeadline(wide, 7, 16), { feasible: true, workers: 2, makespanMs: 7 });
    assert.deepEqual(minWorkersForDeadline(wide, 100, 16), { feasible: true, workers: 1, makespanMs: 13 });
  });

  it('says why a deadline cannot be met', () => {
    const cp = minWorkersForDeadline(wide, 3, 16);
    assert.equal(cp.feasible, false);
    assert.ok(!cp.feasible && cp.reason === 'critical path 4ms exceeds deadline 3ms');
    const cap = minWorkersForDeadline(wide, 5, 2);
    assert.ok(!cap.feasible && cap.bestMakespanMs === 7);
  });

  it('agrees with a linear scan on random DAGs', () => {
    const rand = mulberry32(11);
    for (let trial = 0; trial < 20; trial++) {
      const xs = randomDag(40, 2, rand);
      const deadline = criticalPath(xs).lengthMs * (1 + rand());
      const r = minWorkersForDeadline(xs, deadline, 40);
      let scan = 0;
      for (let n = 1; n <= 40 && scan === 0; n++) if (makespan(xs, n) <= deadline) scan = n;
      assert.ok(r.feasible && scan > 0);
      // Equal unless a scheduling anomaly makes makespan non-monotone in N (documented).
      assert.ok(r.workers >= scan && makespan(xs, r.workers) <= deadline);
      assert.equal(r.workers, scan, `trial ${trial}`);
    }
  });
});
