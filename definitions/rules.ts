/**
 * Layer 2: the named semantic rules, in the order their issues are reported. Each rule lives in
 * definitions/rules/ and checks one concern of the draft the structural layer built (definitions/structure.ts).
 */
import type { IssueReporter } from './reporter.js';
import type { DagDraft } from './structure.js';
import { usedDatasets, usedParams, viewsHaveProducers } from './rules/advice.js';
import { acyclic } from './rules/cycles.js';
import { uniqueTasks } from './rules/duplicate-task.js';
import { validNames } from './rules/names.js';
import { knownOperators, operatorArity, operatorParams } from './rules/operators.js';
import { datasetsDisjoint } from './rules/overlap.js';
import { inputsCarryRequiredColumns } from './rules/input-columns.js';
import { producedOnce } from './rules/producers.js';
import { knownReferences, noDuplicateReferences } from './rules/references.js';
import { validSchedule } from './rules/schedule.js';
import { validTriggers } from './rules/triggers.js';
import type { Rule } from './rules/types.js';
import { validDurations, validUris } from './rules/values.js';

export type { Rule } from './rules/types.js';

export const RULES: readonly Rule[] = [
  validNames,
  uniqueTasks,
  knownOperators,
  operatorParams,
  operatorArity,
  knownReferences,
  noDuplicateReferences,
  producedOnce,
  acyclic,
  validDurations,
  validUris,
  datasetsDisjoint,
  inputsCarryRequiredColumns,
  validSchedule,
  validTriggers,
  usedDatasets,
  viewsHaveProducers,
  usedParams,
];

export function runRules(draft: DagDraft, report: IssueReporter, rules: readonly Rule[] = RULES): void {
  for (const rule of rules) rule.check(draft, report);
}
