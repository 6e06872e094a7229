/**
 * The one registry mapping operator names to definitions. The CLI, the validator, the planner and
 * the workers all resolve operators here, so a name means the same thing everywhere.
 */
import { DagctlError } from '../core/errors.js';
import type { AnyOperator } from './types.js';
import { BUILTIN_OPERATORS } from './builtin.js';
import type { DagSpec } from '../definitions/types.js';
import { bundleOperator } from './modules/load.js';

const OPERATORS = new Map<string, AnyOperator>();

export function registerOperator(op: AnyOperator): void {
  if (OPERATORS.has(op.name)) throw new DagctlError('INTERNAL', `operator ${op.name} registered twice`);
  OPERATORS.set(op.name, op);
}

export function getOperator(name: string): AnyOperator | undefined {
  return OPERATORS.get(name);
}

export function requireOperator(name: string): AnyOperator {
  const op = OPERATORS.get(name);
  if (op === undefined) throw new DagctlError('OPERATOR_UNKNOWN', `unknown operator "${name}"`, { operator: name });
  return op;
}

export function operatorNames(): string[] {
  return [...OPERATORS.keys()].sort();
}

/**
 * The operator a DAG's task names: one of the DAG's own module operators (DagSpec.modules, loaded
 * from the run's code bundle, operators/modules/load.ts) or a built-in.
 */
export function operatorOf(dag: DagSpec, name: string): AnyOperator {
  const ref = dag.modules?.[name];
  return ref === undefined ? requireOperator(name) : bundleOperator(ref, name);
}

/** operatorOf as a lookup that answers undefined for unknown names (the cost model's). */
export function operatorLookup(dag: DagSpec): (name: string) => AnyOperator | undefined {
  return (name) => (dag.modules?.[name] === undefined ? getOperator(name) : operatorOf(dag, name));
}

for (const op of BUILTIN_OPERATORS) registerOperator(op);
