/**
 * Creating the run of one interval — a schedule tick or a backfill interval — the same way
 * `dagctl run` creates a run (validate, loadPlanningContext, createRunRecord, store.createRun),
 * with the interval interpolated into ${run.x} and the deterministic id tickRunId(dag, tick).
 * Idempotent: when the tick's run exists (another scheduler, an earlier backfill, a crash after
 * creating it) nothing is created and `created` is false; the existing run is made listed
 * (RunStore.listExisting), as a creator killed between storing and listing it left it unlisted.
 *
 * createTriggerRun: the run of one data-trigger fire (triggers.ts), likewise — the fire's changed
 * partitions as ${run.changedPartitions}, its interval [previous fire, fire), its id fire.runId,
 * each trigger's `newData` source read as the changed partitions (triggers.ts withNewData).
 *
 * A DAG that declares operator modules gets them loaded and its code bundle put in the record, as
 * `dagctl run` does (placed in the object store for worker-carried runs: bundle-store.ts).
 *
 * Precondition: `text` is a DAG file's text with a `schedule` (backfill: any DAG given a
 * schedule to split the range by); history for the cost model comes from `historyStore`.
 */
import { DagctlError } from '../../core/errors.js';
import { formatIssue } from '../../definitions/format-issues.js';
import type { RunInterval, ScheduleSpec } from '../../definitions/types.js';
import { loadModules } from '../../definitions/load.js';
import { validateDagText } from '../../definitions/validate.js';
import { bundleStoreOf, placeBundle } from '../../operators/modules/bundle-store.js';
import { createRunRecord, tickRunId } from '../create-run.js';
import { loadPlanningContext } from '../plan/context.js';
import { isRunExists, type RunOptions, type RunRecord, type RunStore, type RunTrigger } from '../ports.js';
import { intervalOf } from './planner.js';
import { withNewData, type TriggerFire } from './triggers.js';
import type { DagSpec } from '../../definitions/types.js';

export interface IntervalRunArgs {
  store: RunStore;
  historyStore: RunStore;
  file: string;
  text: string;
  schedule: ScheduleSpec;
  tick: number;
  kind: 'schedule' | 'backfill';
  executor: RunOptions['executor'];
  now: number;
  params?: Record<string, string>;
}

export async function createIntervalRun(a: IntervalRunArgs): Promise<{ record: RunRecord; created: boolean }> {
  const interval = intervalOf(a.schedule, a.tick);
  const at = new Date(a.tick).toISOString();
  const trigger: RunTrigger = { kind: a.kind, at, intervalStart: new Date(interval.start).toISOString(), intervalEnd: new Date(interval.end).toISOString() };
  return createRunOf(a, { interval }, (name) => tickRunId(name, a.tick), trigger);
}

export interface TriggerRunArgs {
  store: RunStore;
  historyStore: RunStore;
  file: string;
  text: string;
  fire: TriggerFire;
  executor: RunOptions['executor'];
  now: number;
}

export async function createTriggerRun(a: TriggerRunArgs): Promise<{ record: RunRecord; created: boolean }> {
  const f = a.fire;
  const trigger: RunTrigger = { kind: 'data', dataset: f.datasets.join(','), partitions: f.partitions, at: new Date(f.at).toISOString(), commits: f.commits.length };
  return createRunOf(a, { interval: { start: f.prevAt, end: f.at }, changedPartitions: f.partitions }, () => f.runId, trigger, (dag) => withNewData(dag, f));
}

async function createRunOf(
  a: { store: RunStore; historyStore: RunStore; file: string; text: string; executor: RunOptions['executor']; now: number; params?: Record<string, string> },
  vars: { interval: RunInterval; changedPartitions?: readonly string[] },
  idOf: (dag: string) => string,
  trigger: RunTrigger,
  adapt: (dag: DagSpec) => DagSpec = (dag) => dag,
): Promise<{ record: RunRecord; created: boolean }> {
  const modules = await loadModules(a.file, a.text);
  const v = validateDagText(a.text, a.file, { ...vars, paramOverrides: a.params ?? {}, ...(modules !== null ? { modules: modules.set } : {}) });
  if (v.dag === undefined) {
    throw new DagctlError('DAG_INVALID', `${a.file} is not valid:\n${v.issues.filter((i) => i.severity === 'error').map(formatIssue).join('\n')}`, { file: a.file });
  }
  const dag = adapt(v.dag);
  const runId = idOf(dag.name);
  const existing = await a.store.getRecord(runId);
  if (existing !== null) {
    // Its creator may have died before listing it (a leader SIGKILLed mid-create): list it now,
    // or the tick's run stays invisible and never starts.
    await a.store.listExisting?.(runId, existing.dag.name);
    return { record: existing, created: false };
  }
  const ctx = await loadPlanningContext(dag, undefined, a.historyStore);
  const options: RunOptions = { force: false, params: a.params ?? {}, executor: a.executor };
  const created = createRunRecord({ dag, text: a.text, ctx, options, now: a.now, runId, trigger, bundle: modules?.bundle });
  const state = created.state;
  const bundleStore = bundleStoreOf(dag, a.executor, process.env, process.cwd());
  const record = bundleStore === null ? created.record : await placeBundle(created.record, bundleStore);
  try {
    await a.store.createRun(record, state);
  } catch (e) {
    if (!isRunExists(e)) throw e;
    return { record: (await a.store.getRecord(runId)) ?? record, created: false };
  }
  return { record, created: true };
}
