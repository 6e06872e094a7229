/**
 * Creating a run (pure): the run id, the plan (expandDag with the cost model fitted on history),
 * the record that keeps the exact DAG text, its hash and the source snapshot, and the initial
 * state. The caller does the I/O (listing sources, reading history, storing the run).
 */
import { fingerprint } from '../core/hash.js';
import type { CodeBundle } from '../operators/modules/bundle.js';
import { operatorLookup } from '../operators/registry.js';
import type { DagSpec } from '../definitions/types.js';
import { initialState, type RunState } from './engine/state.js';
import { createCostModel } from './plan/cost.js';
import type { PlanningContext } from './plan/context.js';
import { expandDag } from './plan/expand.js';
import type { RunOptions, RunRecord, RunTrigger } from './ports.js';

/**
 * Unique, no ':' (it becomes part of BullMQ job ids): <dag>-<yyyymmddThhmmssSSSZ>-<6 hex>. It names
 * the run's view versions, but publication order never depends on it: publications are ordered by
 * the run's creation time (RunRecord.createdAt, storage/dataset/publish.ts), the id only breaking
 * ties between runs created in the same millisecond.
 */
export function newRunId(dag: string, now: number, entropy: string): string {
  const ts = new Date(now).toISOString().replace(/[-:.]/g, '');
  return `${dag}-${ts}-${fingerprint({ dag, now, entropy }).slice(0, 6)}`;
}

/**
 * The run id of one (DAG, tick): deterministic, so however many schedulers (or a backfill and a
 * scheduler) reach the same tick, it names one run and a second creation finds it. Same shape as
 * newRunId, with the tick in place of the creation time (runs sort by tick).
 */
export function tickRunId(dag: string, tick: number): string {
  const ts = new Date(tick).toISOString().replace(/[-:.]/g, '');
  return `${dag}-${ts}-${fingerprint({ dag, tick }).slice(0, 6)}`;
}

export function createRunRecord(args: { dag: DagSpec; text: string; ctx: PlanningContext; options: RunOptions; now: number; runId: string; bundle?: CodeBundle | undefined; trigger?: RunTrigger }): { record: RunRecord; state: RunState } {
  const cost = createCostModel(args.ctx.history, { operators: operatorLookup(args.dag), ...(args.ctx.contention === undefined ? {} : { contention: args.ctx.contention, probed: args.ctx.contentionProbed === true }) });
  const plan = expandDag(args.dag, args.ctx.sources, cost);
  const record: RunRecord = {
    runId: args.runId,
    dag: args.dag,
    dagText: args.text,
    dagHash: args.dag.sourceHash,
    plan,
    sources: args.ctx.sources,
    sourceRoots: args.ctx.sourceRoots,
    createdAt: args.now,
    // The DAG's `deadline:` unless the run was given one (--deadline).
    options: args.options.deadlineAt === undefined && args.dag.deadlineMs !== undefined ? { ...args.options, deadlineAt: args.now + args.dag.deadlineMs } : args.options,
    trigger: args.trigger ?? { kind: 'manual' },
  };
  if (args.bundle !== undefined) record.bundle = args.bundle;
  return { record, state: initialState(args.runId, args.dag.name, plan, args.now) };
}
