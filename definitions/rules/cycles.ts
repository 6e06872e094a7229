/**
 * CYCLE: the task graph must be acyclic. Edges: producer → consumer for every task input, plus
 * dependsOn (dependency → dependent). One issue per cyclic strongly connected component, naming a
 * shortest cycle through its first task in file order: `a -> b -> a`. A task reading its own
 * output is the cycle `a -> a`; a task in dependsOn of itself is SELF_DEPENDENCY instead.
 */
import { cycleThrough, cyclicComponents } from '../scc.js';
import type { TaskEntry } from '../structure.js';
import { producers } from './producers.js';
import type { Rule } from './types.js';

export const acyclic: Rule = {
  name: 'acyclic',
  check(draft, report) {
    // First task of each name only: duplicates are DUPLICATE_TASK's business.
    const byName = new Map<string, number>();
    const nodes: TaskEntry[] = [];
    for (const t of draft.tasks) {
      if (byName.has(t.decl.name)) continue;
      byName.set(t.decl.name, nodes.length);
      nodes.push(t);
    }
    const prod = producers(draft);
    const succ: number[][] = nodes.map(() => []);
    nodes.forEach((t, v) => {
      for (const d of t.decl.inputs) {
        const p = prod.get(d);
        const u = p === undefined ? undefined : byName.get(p.decl.name);
        if (u !== undefined) succ[u]?.push(v);
      }
      for (const dep of t.decl.dependsOn) {
        const u = byName.get(dep);
        if (u !== undefined && u !== v) succ[u]?.push(v);
      }
    });
    for (const comp of cyclicComponents(nodes.length, succ)) {
      const start = comp[0] as number;
      const cycle = cycleThrough(start, new Set(comp), succ).map((i) => nodes[i]?.decl.name ?? '?');
      const first = nodes[start] as TaskEntry;
      report.add('CYCLE', ['tasks', first.index, 'name'], cycle.join(' -> '));
    }
  },
};
