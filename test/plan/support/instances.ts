/**
 * Hand-built PlannedInstances for planner tests: `inst('b', 4, ['a'])` is instance b of task b
 * taking 4 ms after a. Only id, deps and predictedMs matter to the graph analyses.
 */
import type { PlannedInstance } from '../../../scheduler/model.js';

export function inst(id: string, predictedMs: number, deps: string[] = [], task = id): PlannedInstance {
  return {
    id, task, operator: 'noop', kind: 'work', stage: 'main', stageIndex: 0, round: 1, rounds: 1,
    partition: '', bucket: -1, buckets: 1, deps, inputBytes: 0, inputRows: 0,
    predictedMs, overheadMs: predictedMs, workMs: 0, costSource: 'default',
  };
}

/** A random DAG of n instances, each depending on up to `fanIn` earlier ones; durations 1–100. */
export function randomDag(n: number, fanIn: number, rand: () => number): PlannedInstance[] {
  const out: PlannedInstance[] = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const k = i === 0 ? 0 : Math.floor(rand() * (fanIn + 1));
    for (let j = 0; j < k; j++) deps.add(`i${Math.floor(rand() * i)}`);
    out.push(inst(`i${i}`, 1 + Math.floor(rand() * 100), [...deps]));
  }
  return out;
}
