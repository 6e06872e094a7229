/**
 * INPUT_COLUMNS_MISSING: before any run, each task's inputs must carry the columns its operator
 * requires (OperatorDef.requires) — checked where the input dataset declares a `schema`: a
 * required column it lacks, or declares with another type, is reported at the task's input.
 * Datasets without a declared schema are checked at run time, file by file
 * (workers/runner/contract.ts).
 */
import type { Rule } from './types.js';

export const inputsCarryRequiredColumns: Rule = {
  name: 'inputs-carry-required-columns',
  check(draft, report) {
    for (const t of draft.tasks) {
      const op = draft.operators(t.decl.operator);
      if (op?.requires === undefined) continue;
      const parsed = op.params.safeParse(t.decl.params);
      if (!parsed.success) continue; // OPERATOR_PARAMS_INVALID
      const needs = op.requires(parsed.data);
      t.decl.inputs.forEach((name, j) => {
        const declared = draft.datasets.get(name)?.schema;
        if (declared === undefined) return;
        for (const col of needs[j] ?? []) {
          const type = declared[col.name];
          if (type !== undefined && type.replace(/\?$/, '') === col.type) continue;
          const found = type === undefined ? 'does not declare it' : `declares it ${type}`;
          report.add('INPUT_COLUMNS_MISSING', ['tasks', t.index, 'inputs', j], `operator ${op.name} needs column "${col.name}" (${col.type}) in input "${name}", whose schema ${found}`);
        }
      });
    }
  },
};
