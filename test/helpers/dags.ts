/**
 * Test helpers: build resolved DagSpecs and plans in code (noop tasks), without YAML files.
 */
import type { DagSpec, TaskSpec } from '../../definitions/types.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import { expandDag, type CostModelLike } from '../../scheduler/plan/expand.js';
import type { RunRecord } from '../../scheduler/ports.js';

export const unitCost: CostModelLike = {
  estimate: () => ({ overheadMs: 1, workMs: 0, predictedMs: 1, source: 'default' }),
};

export function noopTask(name: string, opts: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name,
    operator: 'noop',
    inputs: [],
    outputs: [],
    dependsOn: [],
    params: {},
    retries: 0,
    timeoutMs: 60_000,
    retryBackoffMs: 10,
    retryBackoffMaxMs: 1000,
    ...opts,
  };
}

export function dagOf(name: string, tasks: TaskSpec[]): DagSpec {
  return { name, params: {}, datasets: {}, tasks, sourceHash: 'test', sourceFile: 'test.yaml' };
}

/** a → b, a → c, b → d, c → d */
export function diamond(opts: Partial<TaskSpec> = {}): DagSpec {
  return dagOf('diamond', [
    noopTask('a', opts),
    noopTask('b', { ...opts, dependsOn: ['a'] }),
    noopTask('c', { ...opts, dependsOn: ['a'] }),
    noopTask('d', { ...opts, dependsOn: ['b', 'c'] }),
  ]);
}

export function chain(n: number, opts: Partial<TaskSpec> = {}): DagSpec {
  const tasks: TaskSpec[] = [];
  for (let i = 0; i < n; i++) tasks.push(noopTask(`t${i}`, { ...opts, dependsOn: i === 0 ? [] : [`t${i - 1}`] }));
  return dagOf('chain', tasks);
}

export function planOf(dag: DagSpec): PlannedInstance[] {
  return expandDag(dag, {}, unitCost);
}

export function recordOf(dag: DagSpec, runId: string, createdAt = 1000): RunRecord {
  return {
    runId,
    dag,
    dagText: '',
    dagHash: dag.sourceHash,
    plan: planOf(dag),
    sources: {},
    createdAt,
    options: { force: false, params: {}, executor: 'embedded' },
  };
}
