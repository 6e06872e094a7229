/**
 * Predicted makespan on N identical workers: a list-scheduling simulation of the instance DAG.
 *
 * Policy (HLFET, "highest level first with estimated times"): whenever a worker is free, it takes
 * the ready instance with the longest remaining path — its bottom level, its own predictedMs plus
 * the longest chain after it (instance-index.ts). Ties go to the earlier instance in plan order,
 * so results are deterministic. This mirrors the run engine's critical-path-first dispatch and is
 * within a factor (2 − 1/N) of optimal (Graham); it is a prediction, not an optimum.
 *
 * Events: all instances finishing at the same instant are completed before the free workers pick,
 * so simultaneous finishes are seen together. Cost: O((n + e) log n) with two binary heaps.
 *
 * Precondition: workers ≥ 1; the instances form a DAG (else PLAN_FAILED from indexInstances).
 */
import { DagctlError } from '../../core/errors.js';
import type { PlannedInstance } from '../model.js';
import { criticalPath } from './graph.js';
import { BinaryHeap } from './heap.js';
import { bottomLevels, indexInstances } from './instance-index.js';
import type { InstanceIndex } from './instance-index.js';

export interface ScheduledInstance {
  id: string;
  worker: number;
  startMs: number;
  finishMs: number;
}

export interface MakespanResult {
  workers: number;
  makespanMs: number;
  /** In plan (input) order. */
  schedule: ScheduledInstance[];
}

export function simulateMakespan(instances: readonly PlannedInstance[], workers: number, idx: InstanceIndex = indexInstances(instances)): MakespanResult {
  if (!Number.isInteger(workers) || workers < 1) throw new DagctlError('PLAN_FAILED', `workers must be a positive integer, got ${workers}`);
  const n = instances.length;
  const level = bottomLevels(idx);
  const start = new Float64Array(n);
  const finish = new Float64Array(n);
  const workerOf = new Int32Array(n);
  const missing = Int32Array.from(idx.pred, (p) => p.length);

  const ready = new BinaryHeap<number>((a, b) => (level[a] as number) > (level[b] as number) || (level[a] === level[b] && a < b));
  const running = new BinaryHeap<number>((a, b) => (finish[a] as number) < (finish[b] as number) || (finish[a] === finish[b] && a < b));
  const freeWorkers = new BinaryHeap<number>((a, b) => a < b);
  for (let w = 0; w < Math.min(workers, Math.max(n, 1)); w++) freeWorkers.push(w);
  for (let i = 0; i < n; i++) if (missing[i] === 0) ready.push(i);

  let now = 0;
  let done = 0;
  while (done < n) {
    while (freeWorkers.size > 0 && ready.size > 0) {
      const v = ready.pop() as number;
      start[v] = now;
      finish[v] = now + (idx.duration[v] as number);
      workerOf[v] = freeWorkers.pop() as number;
      running.push(v);
    }
    const next = running.peek();
    if (next === undefined) throw new DagctlError('INTERNAL', 'makespan: nothing running and nothing ready');
    now = finish[next] as number;
    while (running.size > 0 && finish[running.peek() as number] === now) {
      const v = running.pop() as number;
      done++;
      freeWorkers.push(workerOf[v] as number);
      for (const w of idx.succ[v] ?? []) {
        missing[w] = (missing[w] as number) - 1;
        if (missing[w] === 0) ready.push(w);
      }
    }
  }
  const schedule = instances.map((inst, i) => ({ id: inst.id, worker: workerOf[i] as number, startMs: start[i] as number, finishMs: finish[i] as number }));
  return { workers, makespanMs: n === 0 ? 0 : now, schedule };
}

export type DeadlineResult =
  | { feasible: true; workers: number; makespanMs: number }
  | { feasible: false; reason: string; criticalPathMs: number; bestMakespanMs?: number };

/**
 * The smallest worker count whose simulated makespan meets the deadline. Search: start at the
 * work bound ⌈total work / deadline⌉ (fewer workers cannot finish the work in time), gallop
 * (double) until the deadline is met, then binary-search the last doubling step — O(log N)
 * simulations, and usually one or two. More workers than instances never help, so the count is
 * capped there. The search assumes makespan does not grow with more workers; list scheduling can
 * break that in rare cases (Graham's anomalies): the answer then meets the deadline, but a smaller
 * count might too.
 */
export function minWorkersForDeadline(instances: readonly PlannedInstance[], deadlineMs: number, maxWorkers: number): DeadlineResult {
  if (!(deadlineMs > 0) || !Number.isFinite(deadlineMs)) throw new DagctlError('PLAN_FAILED', `deadline must be a positive duration, got ${deadlineMs}`);
  if (!Number.isInteger(maxWorkers) || maxWorkers < 1) throw new DagctlError('PLAN_FAILED', `maxWorkers must be a positive integer, got ${maxWorkers}`);
  const idx = indexInstances(instances);
  const cp = criticalPath(instances, idx).lengthMs;
  if (cp > deadlineMs) return { feasible: false, reason: `critical path ${cp}ms exceeds deadline ${deadlineMs}ms`, criticalPathMs: cp };
  let total = 0;
  for (const d of idx.duration) total += d;
  const cap = Math.min(maxWorkers, Math.max(1, instances.length));
  const sim = (n: number): MakespanResult => simulateMakespan(instances, n, idx);

  let fail = Math.min(cap, Math.max(1, Math.ceil(total / deadlineMs - 1e-9))) - 1; // largest count known (or assumed) to miss
  let ok = fail + 1;
  let okResult = sim(ok);
  while (okResult.makespanMs > deadlineMs) {
    if (ok === cap) {
      return { feasible: false, reason: `makespan ${okResult.makespanMs}ms with ${cap} workers exceeds deadline ${deadlineMs}ms`, criticalPathMs: cp, bestMakespanMs: okResult.makespanMs };
    }
    fail = ok;
    ok = Math.min(cap, ok * 2);
    okResult = sim(ok);
  }
  while (ok - fail > 1) {
    const mid = Math.floor((fail + ok) / 2);
    const r = sim(mid);
    if (r.makespanMs <= deadlineMs) [ok, okResult] = [mid, r];
    else fail = mid;
  }
  return { feasible: true, workers: ok, makespanMs: okResult.makespanMs };
}
