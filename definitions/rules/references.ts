/**
 * Reference rules:
 *   UNKNOWN_DATASET      an input/output names no declared dataset;
 *   UNKNOWN_TASK         a dependsOn entry names no task;
 *   SELF_DEPENDENCY      a task depends on itself;
 *   DUPLICATE_REFERENCE  the same name twice in one inputs/outputs/dependsOn list.
 */
import type { Rule } from './types.js';

export const knownReferences: Rule = {
  name: 'known-references',
  check(draft, report) {
    for (const t of draft.tasks) {
      for (const side of ['inputs', 'outputs'] as const) {
        t.decl[side].forEach((d, j) => {
          if (!draft.datasetNames.has(d)) report.add('UNKNOWN_DATASET', ['tasks', t.index, side, j], `task "${t.decl.name}" ${side === 'inputs' ? 'reads' : 'writes'} undeclared dataset "${d}"`);
        });
      }
      t.decl.dependsOn.forEach((dep, j) => {
        if (dep === t.decl.name) report.add('SELF_DEPENDENCY', ['tasks', t.index, 'dependsOn', j], `task "${dep}" depends on itself`);
        else if (!draft.taskNames.has(dep)) report.add('UNKNOWN_TASK', ['tasks', t.index, 'dependsOn', j], `task "${t.decl.name}" depends on unknown task "${dep}"`);
      });
    }
  },
};

export const noDuplicateReferences: Rule = {
  name: 'no-duplicate-references',
  check(draft, report) {
    for (const t of draft.tasks) {
      for (const list of ['inputs', 'outputs', 'dependsOn'] as const) {
        const seen = new Set<string>();
        t.decl[list].forEach((x, j) => {
          if (seen.has(x)) report.add('DUPLICATE_REFERENCE', ['tasks', t.index, list, j], `"${x}" is listed twice in ${list}`);
          seen.add(x);
        });
      }
    }
  },
};
