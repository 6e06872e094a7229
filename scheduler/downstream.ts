/**
 * The instances a retry "from TASK" starts over: TASK's instances and every instance downstream of
 * them in the run's plan. Pure; TASK_NOT_FOUND when the run has no such task. Used by `dagctl retry`
 * (Redis runs) and by `dagctl ui`'s retry of embedded runs.
 */
import { DagctlError } from '../core/errors.js';
import type { RunRecord } from './ports.js';

export function downstreamOf(record: RunRecord, from: string): string[] {
  const start = record.plan.filter((p) => p.task === from).map((p) => p.id);
  if (start.length === 0) throw new DagctlError('TASK_NOT_FOUND', `run ${record.runId} has no task ${from}`);
  const dependents = new Map<string, string[]>();
  for (const p of record.plan) for (const d of p.deps) dependents.set(d, [...(dependents.get(d) ?? []), p.id]);
  const seen = new Set<string>(start);
  const stack = [...start];
  while (stack.length > 0) {
    for (const d of dependents.get(stack.pop() as string) ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
  }
  return record.plan.filter((p) => seen.has(p.id)).map((p) => p.id);
}
