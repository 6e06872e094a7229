/**
 * Graph analyses of a planned instance DAG: a graphology DirectedGraph of the instances (node
 * attributes = the instance, for callers that want graph algorithms or export), topological
 * generations (instances whose longest chain of dependencies has the same length), the critical
 * path (longest path by predictedMs, a lower bound on the makespan for any number of workers),
 * and total work (sum of predictedMs: the makespan on one worker).
 *
 * Precondition: instance deps name instances of the same list; otherwise PLAN_FAILED.
 */
import { DirectedGraph } from 'graphology';
import type { PlannedInstance } from '../model.js';
import { indexInstances } from './instance-index.js';
import type { InstanceIndex } from './instance-index.js';

export function instanceGraph(instances: readonly PlannedInstance[]): DirectedGraph<PlannedInstance> {
  const idx = indexInstances(instances); // validates ids, deps and acyclicity first
  const g = new DirectedGraph<PlannedInstance>();
  for (const inst of instances) g.addNode(inst.id, inst);
  idx.pred.forEach((ps, i) => {
    const to = instances[i]?.id as string;
    for (const j of ps) g.addDirectedEdge(instances[j]?.id, to);
  });
  return g;
}

/** Generation k holds the instances whose longest dependency chain has k edges. Ids in input order. */
export function topologicalGenerations(instances: readonly PlannedInstance[], idx: InstanceIndex = indexInstances(instances)): string[][] {
  const level = new Int32Array(instances.length);
  for (const v of idx.order) {
    let l = 0;
    for (const u of idx.pred[v] ?? []) l = Math.max(l, (level[u] as number) + 1);
    level[v] = l;
  }
  const gens: string[][] = [];
  instances.forEach((inst, i) => {
    const l = level[i] as number;
    while (gens.length <= l) gens.push([]);
    gens[l]?.push(inst.id);
  });
  return gens;
}

export interface CriticalPath {
  /** Instance ids from a source to a sink. */
  ids: string[];
  lengthMs: number;
}

/** The longest path by predictedMs (ties: the earliest instance in input order). */
export function criticalPath(instances: readonly PlannedInstance[], idx: InstanceIndex = indexInstances(instances)): CriticalPath {
  const n = instances.length;
  if (n === 0) return { ids: [], lengthMs: 0 };
  const dist = new Float64Array(n);
  const via = new Int32Array(n).fill(-1);
  for (const v of idx.order) {
    let best = 0;
    let from = -1;
    for (const u of idx.pred[v] ?? []) {
      const d = dist[u] as number;
      if (d > best || (from === -1 && d >= best) || (d === best && from !== -1 && u < from)) {
        best = d;
        from = u;
      }
    }
    dist[v] = best + (idx.duration[v] as number);
    via[v] = from;
  }
  let end = 0;
  for (let i = 1; i < n; i++) if ((dist[i] as number) > (dist[end] as number)) end = i;
  const ids: string[] = [];
  for (let v = end; v !== -1; v = via[v] as number) ids.push(instances[v]?.id as string);
  return { ids: ids.reverse(), lengthMs: dist[end] as number };
}

export function totalWorkMs(instances: readonly PlannedInstance[]): number {
  let s = 0;
  for (const inst of instances) s += Math.max(0, inst.predictedMs);
  return s;
}
