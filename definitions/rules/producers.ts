/**
 * Which task writes each dataset, and the DATASET_PRODUCED_TWICE rule: a dataset has at most one
 * producer (two writers would race on commits and make lineage ambiguous).
 */
import type { DagDraft, TaskEntry } from '../structure.js';
import type { Rule } from './types.js';

/** Dataset name → its first producer in file order. */
export function producers(draft: DagDraft): Map<string, TaskEntry> {
  const out = new Map<string, TaskEntry>();
  for (const t of draft.tasks) for (const d of t.decl.outputs) if (!out.has(d)) out.set(d, t);
  return out;
}

export const producedOnce: Rule = {
  name: 'dataset-produced-once',
  check(draft, report) {
    const first = new Map<string, TaskEntry>();
    for (const t of draft.tasks) {
      t.decl.outputs.forEach((d, j) => {
        const p = first.get(d);
        if (p === undefined) first.set(d, t);
        else if (p.index !== t.index) report.add('DATASET_PRODUCED_TWICE', ['tasks', t.index, 'outputs', j], `dataset "${d}" is already produced by task "${p.decl.name}"`);
      });
    }
  },
};
