/**
 * Reclaiming a finished run's work files: each task's work area (`workUri`: `<dataset>/_work/<task>/`
 * of the first dataset it writes) deleted by storage/dataset/reclaim.ts — stage markers first, so
 * memoization never finds a marker naming deleted files.
 *
 *   workPolicy(record)     the run's policy, pure: `dagctl run --work` (RunOptions.work) over the
 *                          DAG's `work:`, default keep.
 *   reclaimDue(record, p)  pure: reclaim only a succeeded run (it published) whose policy says so;
 *                          a failed or cancelled run keeps its work for a resume or retry.
 *   reclaimRunWork(record) the I/O: every task's work area, each at most once (stores opened
 *                          once per process: workers/runner/stores.ts).
 *   reclaimAndRecord(store, record) reclaimRunWork, then recorded in the run store
 *                          (markWorkReclaimed: what `dagctl status` shows).
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
 * keeps it) for `dagctl status`: what embedded runs' drivers call.
 */
export async function reclaimAndRecord(store: Pick<RunStore, 'markWorkReclaimed'>, record: RunRecord, now = Date.now): Promise<ReclaimReport> {
  const r = await reclaimRunWork(record);
  await store.markWorkReclaimed?.(record.runId, { ...r, at: now() });
  return r;
}

export async function reclaimRunWork(record: RunRecord): Promise<ReclaimReport> {
  const total: ReclaimReport = { markers: 0, files: 0, bytes: 0 };
  const uris = new Set(record.dag.tasks.map((t) => workUri(record, t.name)));
  for (const uri of uris) {
    const r = await reclaimWorkArea(await storeFor(uri));
    total.markers += r.markers;
    total.files += r.files;
    total.bytes += r.bytes;
  }
  return total;
}
