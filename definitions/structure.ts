/**
 * Layer 1: the structural check (definitions/schema.ts, zod) and the "draft" the semantic rules read.
 *
 * Every zod issue becomes a SCHEMA_INVALID issue at its zod path (unknown keys: one issue per key,
 * placed on the key). So that one bad task does not hide the semantic issues of the others, the
 * draft is built part by part: each dataset and each task is kept when it alone is well-formed,
 * and the names of all declared datasets/tasks are kept even when their bodies are not (so a
 * reference to them is not reported as unknown).
 *
 * Precondition: `raw` is plain data from definitions/yaml-source.ts, with params already interpolated.
 */
import type { z } from 'zod';
import { didYouMean } from '../core/suggest.js';
import { DagFileSchema, DatasetSchema, DefaultsSchema, ParamsSchema, ScheduleSchema, TaskSchema, TriggerSchema, WorkSchema } from './schema.js';
import type { DatasetDecl, ScheduleDecl, TaskDecl, TriggerDecl } from './schema.js';
import type { ParamValue } from './interpolate.js';
import type { IssueReporter } from './reporter.js';
import type { AnyOperator } from '../operators/types.js';

/** How rules find operators: operators/registry.ts getOperator, or a stand-in in tests. */
export type OperatorLookup = (name: string) => AnyOperator | undefined;

export type DefaultsDecl = z.infer<typeof DefaultsSchema>;

export interface TaskEntry {
  /** Index in the file's `tasks` list: issue paths use it. */
  index: number;
  decl: TaskDecl;
}

export interface DagDraft extends StructureContext {
  /** metadata.name when it is a string. */
  name?: string;
  description?: string;
  defaults?: DefaultsDecl;
  /** Well-formed dataset declarations. */
  datasets: Map<string, DatasetDecl>;
  /** Every declared dataset name, well-formed or not. */
  datasetNames: Set<string>;
  /** Well-formed tasks, in file order. */
  tasks: TaskEntry[];
  /** Every string task name in the file, well-formed task or not. */
  taskNames: Set<string>;
  /** A well-formed `schedule`, when the file has one. */
  schedule?: ScheduleDecl;
  /** `triggers:` entries that are well-formed, with their index in the file. */
  triggers?: { index: number; decl: TriggerDecl }[];
  /** The run variables some ${run.x} refers to. */
  runVarsUsed?: Set<string>;
  /** `deadline:` as written (checked by the durations rule). */
  deadline?: string | number;
  /** A well-formed `work:` setting. */
  work?: 'keep' | 'reclaim';
  /** Some ${run.x} refers to the run's interval. */
  usesRunVars?: boolean;
  /** The whole document passed the structural schema. */
  structureValid: boolean;
}

type ZodIssueLike = { code: string; path: PropertyKey[]; message: string; keys?: string[] };

/**
 * Reports zod issues as `code`, with `prefix` before each zod path. `topKeys`: the keys allowed at
 * the top of the checked object, for a "did you mean" on an unknown key there.
 */
export function reportZodIssues(issues: readonly ZodIssueLike[], prefix: readonly PropertyKey[], code: 'SCHEMA_INVALID' | 'OPERATOR_PARAMS_INVALID', report: IssueReporter, topKeys: readonly string[] = []): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) {
      for (const key of issue.keys) report.add(code, [...path, key], `unknown key "${key}"${issue.path.length === 0 ? didYouMean(key, topKeys) : ''}`, { onKey: true });
    } else report.add(code, path, issue.message);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** What validation knows before the structure: params, lookups and paths (the draft carries them on). */
export interface StructureContext {
  params: Record<string, ParamValue>;
  /** Params some ${params.x} refers to. */
  usedParams: Set<string>;
  operators: OperatorLookup;
  /** Absolute directory relative dataset URIs resolve against. */
  dagDir: string;
  /** Resolves symlinks of a local absolute path (an I/O port); absent: paths are taken as written. */
  realpath?: (absPath: string) => string;
  /** Operators the DAG declares as modules (their load failures are reported on `operators:`). */
  moduleNames?: Set<string>;
}

export function checkStructure(raw: unknown, ctx: StructureContext, report: IssueReporter): DagDraft {
  const whole = DagFileSchema.safeParse(raw);
  if (!whole.success) reportZodIssues(whole.error.issues, [], 'SCHEMA_INVALID', report);
  const doc = isRecord(raw) ? raw : {};
  const draft: DagDraft = { ...ctx, datasets: new Map(), datasetNames: new Set(), tasks: [], taskNames: new Set(), structureValid: whole.success };

  const metadata = doc.metadata;
  if (isRecord(metadata)) {
    if (typeof metadata.name === 'string') draft.name = metadata.name;
    if (typeof metadata.description === 'string') draft.description = metadata.description;
  }
  const defaults = DefaultsSchema.safeParse(doc.defaults ?? {});
  if (defaults.success) draft.defaults = defaults.data;

  if (doc.schedule !== undefined) {
    const sch = ScheduleSchema.safeParse(doc.schedule);
    if (sch.success) draft.schedule = sch.data;
  }
  if (Array.isArray(doc.triggers)) {
    draft.triggers = [];
    doc.triggers.forEach((body: unknown, index) => {
      const t = TriggerSchema.safeParse(body);
      if (t.success) draft.triggers?.push({ index, decl: t.data });
    });
  }
  if (typeof doc.deadline === 'string' || typeof doc.deadline === 'number') draft.deadline = doc.deadline;
  const work = WorkSchema.safeParse(doc.work);
  if (work.success) draft.work = work.data;
  if (isRecord(doc.datasets)) {
    for (const [name, body] of Object.entries(doc.datasets)) {
      draft.datasetNames.add(name);
      const d = DatasetSchema.safeParse(body);
      if (d.success) draft.datasets.set(name, d.data);
    }
  }
  if (Array.isArray(doc.tasks)) {
    doc.tasks.forEach((body: unknown, index) => {
      if (isRecord(body) && typeof body.name === 'string') draft.taskNames.add(body.name);
      const t = TaskSchema.safeParse(body);
      if (t.success) draft.tasks.push({ index, decl: t.data });
    });
  }
  return draft;
}

/** The file's declared params (before overrides), or {} when they are malformed (reported later). */
export function declaredParams(raw: unknown): Record<string, ParamValue> {
  const p = ParamsSchema.safeParse(isRecord(raw) ? raw.params : undefined);
  return p.success ? p.data : {};
}
