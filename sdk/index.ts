/**
 * The operator SDK: what `import … from 'dagctl'` gives an operator author. `defineOperator` makes
 * an operator module's default export with the same contract as the built-ins (operators/types.ts):
 * zod params, cost defaults, stages and a `run` per stage. `z` is the zod dagctl validates params
 * with (use it, not another copy of zod, so schemas are the same kind). Types describe the stage
 * context, handles and rows. A DAG file declares modules under `operators:` (docs/operators-sdk.md).
 */
import { z } from 'zod';
import type { ZodType } from 'zod';
import { DagctlError } from '../core/errors.js';
import type { CostDefaults, OperatorDef, StageContext, StageResult, StageSpec, StagesInfo } from '../operators/types.js';

export { z };
export { DagctlError, isDagctlError } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';
export type {
  CostDefaults, CostDriver, Fanout, InputHandle, OperatorDef, OutputHandle, OutputWriter, PriorStage, RawFile, ShuffleOutput,
  ShuffleWriter, StageContext, StageResult, StageSpec, StagesInfo, VersionFile,
} from '../operators/types.js';
export type { ColumnBatch, ColumnType, Field, Row, Schema, Value } from '../storage/types.js';

/** Marks definitions made by defineOperator (a registered symbol: the same across module copies). */
export const OPERATOR_BRAND: unique symbol = Symbol.for('dagctl.operator') as never;

/** What an author writes: everything but `run` and `params` has a default. */
export interface OperatorSpec<P> {
  /** Shown by `dagctl operators`; the DAG's `operators:` key is the name tasks use. */
  name?: string;
  /** Bumped by hand if you like; the module's content hash is part of every fingerprint anyway. */
  version?: string;
  summary?: string;
  params: ZodType<P>;
  /** T = O + P×H defaults for the planner (default O 50 ms, P 1 ms per 1,000 rows). */
  cost?: CostDefaults;
  /** Input / output counts the operator accepts (default 1..1 each). */
  inputs?: { min: number; max: number };
  outputs?: { min: number; max: number };
  /** Default: one stage `main`, one instance per partition of the first input, writing the outputs. */
  stages?: (params: P, info: StagesInfo) => StageSpec[];
  run(ctx: StageContext<P>): Promise<StageResult>;
}

export type DefinedOperator<P> = OperatorDef<P> & { readonly [OPERATOR_BRAND]: true };

/**
 * Makes an operator from its spec, filling in the defaults. Throws OPERATOR_INVALID (at module load)
 * when the spec lacks a zod params schema or a run function.
 */
export function defineOperator<P>(spec: OperatorSpec<P>): DefinedOperator<P> {
  const s = spec as Partial<OperatorSpec<P>>;
  if (typeof s.run !== 'function') throw new DagctlError('OPERATOR_INVALID', `defineOperator${s.name === undefined ? '' : ` (${s.name})`}: run must be a function`);
  if (s.params === undefined || typeof (s.params as { safeParse?: unknown }).safeParse !== 'function') {
    throw new DagctlError('OPERATOR_INVALID', `defineOperator${s.name === undefined ? '' : ` (${s.name})`}: params must be a zod schema (import { z } from 'dagctl')`);
  }
  const stages = spec.stages ?? ((): StageSpec[] => [{ name: 'main', fanout: 'partition', writesOutputs: true }]);
  return {
    [OPERATOR_BRAND]: true,
    name: spec.name ?? 'module-operator',
    version: spec.version ?? '1',
    summary: spec.summary ?? '',
    params: spec.params,
    cost: spec.cost ?? { overheadMs: 50, perUnitMs: 1, driver: 'rows' },
    inputs: spec.inputs ?? { min: 1, max: 1 },
    outputs: spec.outputs ?? { min: 1, max: 1 },
    stages,
    run: spec.run,
  };
}

/** Whether a value is an operator made by defineOperator (any copy of the SDK). */
export function isDefinedOperator(x: unknown): x is DefinedOperator<unknown> {
  return x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[OPERATOR_BRAND] === true;
}
