/**
 * The one registry mapping operator names to definitions. The CLI, the validator, the planner and
 * the workers all resolve operators here, so a name means the same thing everywhere.
 */
import { DagctlError } from '../core/errors.js';
import type { AnyOperator } from './types.js';
import { BUILTIN_OPERATORS } from './builtin.js';

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

for (const op of BUILTIN_OPERATORS) registerOperator(op);
