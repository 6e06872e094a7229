/**
 * Operator rules, all through the draft's operator lookup (the registry, operators/registry.ts):
 *   UNKNOWN_OPERATOR         the operator name is not registered;
 *   OPERATOR_PARAMS_INVALID  the operator's own zod params schema rejects the params (each zod
 *                            issue at its full path, tasks[i].params.x);
 *   OPERATOR_ARITY           the number of inputs/outputs is outside the operator's min/max.
 */
import { didYouMean } from '../../core/suggest.js';
import { operatorNames } from '../../operators/registry.js';
import { reportZodIssues } from '../structure.js';
import type { Rule } from './types.js';

export const knownOperators: Rule = {
  name: 'known-operators',
  check(draft, report) {
    for (const t of draft.tasks) {
      // A declared module that failed to load is reported once, on its `operators:` entry.
      if (draft.operators(t.decl.operator) === undefined && draft.moduleNames?.has(t.decl.operator) !== true) {
        report.add('UNKNOWN_OPERATOR', ['tasks', t.index, 'operator'], `unknown operator "${t.decl.operator}"${didYouMean(t.decl.operator, operatorNames())} (dagctl operators lists them)`);
      }
    }
  },
};

export const operatorParams: Rule = {
  name: 'operator-params',
  check(draft, report) {
    for (const t of draft.tasks) {
      const op = draft.operators(t.decl.operator);
      if (op === undefined) continue;
      const parsed = op.params.safeParse(t.decl.params);
      const shape = (op.params as { shape?: Record<string, unknown> }).shape;
      if (!parsed.success) reportZodIssues(parsed.error.issues, ['tasks', t.index, 'params'], 'OPERATOR_PARAMS_INVALID', report, shape !== undefined ? Object.keys(shape) : []);
    }
  },
};

export const operatorArity: Rule = {
  name: 'operator-arity',
  check(draft, report) {
    for (const t of draft.tasks) {
      const op = draft.operators(t.decl.operator);
      if (op === undefined) continue;
      for (const side of ['inputs', 'outputs'] as const) {
        const n = t.decl[side].length;
        const { min, max } = op[side];
        if (n < min || n > max) {
          const want = min === max ? `${min}` : `${min} to ${max}`;
          report.add('OPERATOR_ARITY', ['tasks', t.index, side], `operator ${op.name} takes ${want} ${side}, task "${t.decl.name}" has ${n}`);
        }
      }
    }
  },
};
