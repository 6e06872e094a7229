/**
 * The last step of validation: a draft with no errors becomes the resolved DagSpec
 * (definitions/types.ts) — durations in ms, task defaults applied, operator params parsed by the
 * operator's schema (so its defaults are filled in), dataset producers filled in, and dataset URIs
 * made absolute against the DAG file's directory (definitions/uri.ts).
 *
 * Precondition: the draft passed the structural schema and every rule without errors; anything
 * else here is a bug and throws INTERNAL.
 */
import { DagctlError } from '../core/errors.js';
import { durationMs } from './durations.js';
import { producers } from './rules/producers.js';
import type { DagDraft } from './structure.js';
import type { Field } from '../storage/types.js';
import type { DagSpec, DatasetSpec, RunInterval, ScheduleSpec, TaskSpec } from './types.js';
import { resolveDatasetUri } from './uri.js';

export interface ResolveContext {
  sourceHash: string;
  /** Absolute path of the DAG file. */
  sourceFile: string;
  /** The interval ${run.x} was interpolated with, if the caller gave one. */
  interval?: RunInterval;
  /** Absolute directory relative dataset URIs are resolved against. */
  dagDir: string;
  /** Per dataset, the params its URI refers to as written (before interpolation). */
  uriParams?: Record<string, string[]>;
}

function ms(value: string | number, what: string): number {
  const v = durationMs(value);
  if (v === null) throw new DagctlError('INTERNAL', `resolve: ${what} is not a duration after validation`);
  return v;
}

export function resolveDag(draft: DagDraft, ctx: ResolveContext): DagSpec {
  const defaults = draft.defaults;
  if (!draft.structureValid || draft.name === undefined || defaults === undefined) {
    throw new DagctlError('INTERNAL', 'resolve: called on a draft that is not structurally valid');
  }
  const prod = producers(draft);
  const datasets: Record<string, DatasetSpec> = {};
  for (const [name, d] of draft.datasets) {
    const uri = resolveDatasetUri(d.uri, ctx.dagDir);
    if (!uri.ok) throw new DagctlError('INTERNAL', `resolve: dataset ${name} has a bad URI after validation`);
    const spec: DatasetSpec = { name, uri: uri.uri, format: d.format, view: d.view };
    if (d.partitionBy !== undefined) spec.partitionBy = d.partitionBy;
    if (d.partitions !== undefined) spec.partitions = splitPartitions(d.partitions);
    if (d.retention !== undefined) spec.retention = d.retention;
    if (d.schema !== undefined) spec.schema = Object.entries(d.schema).map(([col, t]) => (t.endsWith('?') ? { name: col, type: t.slice(0, -1) as Field['type'], nullable: true } : { name: col, type: t as Field['type'] }));
    if (d.allowEmpty !== undefined) spec.allowEmpty = d.allowEmpty;
    if (d.delta !== undefined) spec.delta = d.delta;
    if (d.maxShrink !== undefined) spec.maxShrink = d.maxShrink;
    if (d.takeOver !== undefined) spec.takeOver = d.takeOver;
    if (d.migrations !== undefined) spec.migrations = d.migrations.map((m) => ({ ...m }));
    const refs = ctx.uriParams?.[name];
    if (refs !== undefined && refs.length > 0) spec.uriParams = refs;
    const producer = prod.get(name)?.decl.name;
    if (producer !== undefined) spec.producer = producer;
    datasets[name] = spec;
  }
  const tasks: TaskSpec[] = draft.tasks.map(({ decl }) => {
    const op = draft.operators(decl.operator);
    if (op === undefined) throw new DagctlError('INTERNAL', `resolve: unknown operator ${decl.operator} after validation`);
    const task: TaskSpec = {
      name: decl.name,
      operator: decl.operator,
      inputs: [...decl.inputs],
      outputs: [...decl.outputs],
      dependsOn: [...decl.dependsOn],
      params: op.params.parse(decl.params) as Record<string, unknown>,
      retries: decl.retries ?? defaults.retries,
      timeoutMs: ms(decl.timeout ?? defaults.timeout, `${decl.name}.timeout`),
      retryBackoffMs: ms(defaults.retryBackoff, 'defaults.retryBackoff'),
      retryBackoffMaxMs: ms(defaults.retryBackoffMax, 'defaults.retryBackoffMax'),
    };
    if (decl.queue !== undefined) task.queue = decl.queue;
    const share = decl.maxRejectShare ?? defaults.maxRejectShare;
    if (share !== undefined) task.maxRejectShare = share;
    return task;
  });
  const dag: DagSpec = { name: draft.name, params: { ...draft.params }, datasets, tasks, sourceHash: ctx.sourceHash, sourceFile: ctx.sourceFile };
  if (draft.description !== undefined) dag.description = draft.description;
  if (draft.schedule !== undefined) {
    const d = draft.schedule;
    const sch: ScheduleSpec = { timezone: d.timezone ?? 'UTC', catchup: d.catchup, overlap: d.overlap };
    if (d.cron !== undefined) sch.cron = d.cron.trim();
    if (d.every !== undefined) sch.everyMs = ms(d.every, 'schedule.every');
    dag.schedule = sch;
  }
  if (draft.triggers !== undefined && draft.triggers.length > 0) {
    dag.triggers = draft.triggers.map(({ index, decl }) => ({
      dataset: decl.dataset,
      minIntervalMs: decl.minInterval === undefined ? 0 : ms(decl.minInterval, `triggers[${index}].minInterval`),
      debounceMs: decl.debounce === undefined ? 0 : ms(decl.debounce, `triggers[${index}].debounce`),
      ...(decl.newData !== undefined ? { newData: decl.newData } : {}),
    }));
  }
  if (draft.deadline !== undefined) dag.deadlineMs = ms(draft.deadline, 'deadline');
  if (draft.work !== undefined) dag.work = draft.work;
  if (draft.usesRunVars === true) dag.usesRunVars = true;
  if (ctx.interval !== undefined) dag.interval = { ...ctx.interval };
  return dag;
}

/** A `partitions:` value as its dates (validated by definitions/rules/triggers.ts); '' is none. */
export function splitPartitions(v: string): string[] {
  return [...new Set(v.split(',').map((x) => x.trim()).filter((x) => x !== ''))].sort();
}
