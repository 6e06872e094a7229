/**
 * Reclaiming a finished run's work files: each task's work area (`workUri`: `<dataset>/_work/<task>/`
 * of the first dataset it writes) deleted by storage/dataset/reclaim.ts — stage markers first, so
 * memoization never finds a marker naming deleted files.
 *
 *   workPolicy(record)     the run's policy, pure: `dagctl run --work` (RunOptions.work) over the
 *                          DAG's `work:`, default keep.
 *   reclaimDue(record, p)  pure: reclaim only a succeeded run (it published) whose policy says so;
 *                          a failed or cancelled run keeps its work for a resume or retry.
 *   reclaimRunWork(record, runs)  the I/O: every task's work area, each at most once (stores opened
 *                          once per process: workers/runner/stores.ts) — unless another run of the
 *                          DAG is pending or running in `runs` (work areas are per task, shared by
 *                          the DAG's runs): then nothing is deleted and `skipped` names that run; a
 *                          later succeeded run reclaims.
 *   reclaimAndRecord(store, record) reclaimRunWork, then recorded in the run store
 *                          (markWorkReclaimed: what `dagctl status` shows) unless skipped.
 *
 * Callers: embedded runs after driveRun (cli/commands/run.ts, backfill.ts, the embedded scheduler:
 * scheduler/schedule/embedded-launcher.ts) and, for distributed runs, the process that applied the
 * run's `finished` effect (workers/bullmq/dispatcher.ts), once.
 */
import type { RunPhase } from '../scheduler/model.js';
import type { RunRecord, RunStore } from '../scheduler/ports.js';
import { reclaimWorkArea, type ReclaimReport } from '../storage/dataset/reclaim.js';
import { storeFor } from './runner/stores.js';
import { workUri } from './task-runner.js';

export type WorkPolicy = 'keep' | 'reclaim';

export function workPolicy(record: Pick<RunRecord, 'dag' | 'options'>): WorkPolicy {
  return record.options.work ?? record.dag.work ?? 'keep';
}

export function reclaimDue(record: Pick<RunRecord, 'dag' | 'options'>, phase: RunPhase): boolean {
  return phase === 'succeeded' && workPolicy(record) === 'reclaim';
}

/**
 * reclaimRunWork, then the report recorded in the run (RunStore.markWorkReclaimed, when the store
 * keeps it) for `dagctl status`: what embedded runs' drivers call. Skipped: nothing recorded.
 */
export async function reclaimAndRecord(store: Pick<RunStore, 'markWorkReclaimed' | 'listRuns'>, record: RunRecord, now = Date.now): Promise<ReclaimReport & { skipped?: string }> {
  const r = await reclaimRunWork(record, store);
  if (r.skipped === undefined) await store.markWorkReclaimed?.(record.runId, { markers: r.markers, files: r.files, bytes: r.bytes, at: now() });
  return r;
}

export async function reclaimRunWork(record: RunRecord, runs: Pick<RunStore, 'listRuns'>): Promise<ReclaimReport & { skipped?: string }> {
  const total: ReclaimReport & { skipped?: string } = { markers: 0, files: 0, bytes: 0 };
  const active = (await runs.listRuns({ dag: record.dag.name, limit: 1000 })).find((r) => r.runId !== record.runId && (r.phase === 'pending' || r.phase === 'running'));
  if (active !== undefined) {
    total.skipped = active.runId;
    return total;
  }
  const uris = new Set(record.dag.tasks.map((t) => workUri(record, t.name)));
  for (const uri of uris) {
    const r = await reclaimWorkArea(await storeFor(uri));
    total.markers += r.markers;
    total.files += r.files;
    total.bytes += r.bytes;
  }
  return total;
}
