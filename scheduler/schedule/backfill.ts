/**
 * Backfill: one run per schedule interval in (from, to] — each tick T of the DAG's schedule with
 * from < T ≤ to, i.e. the intervals [prev(T), T) inside the range — created with the same
 * deterministic id a scheduler would give that tick (launch.ts), so a tick is never run twice,
 * whoever reaches it first. At most `parallel` runs go at once. Resumable and idempotent: an
 * existing run is not created again — a finished one is reported as found, an unfinished one
 * (its backfill was killed) is carried on through `carry`.
 *
 * I/O is behind BackfillPorts (embedded: driveRun in this process; distributed: submit and follow).
 */
import type { RunPhase } from '../model.js';
import type { RunRecord } from '../ports.js';
import type { ScheduleSpec } from '../../definitions/types.js';
import { ticksBetween } from './planner.js';

export interface BackfillPorts {
  create(tick: number): Promise<{ record: RunRecord; created: boolean }>;
  phase(runId: string): Promise<RunPhase | null>;
  /** Runs a new or unfinished run to its end (resume: it existed unfinished). */
  carry(record: RunRecord, resume: boolean): Promise<RunPhase>;
  onProgress?(e: BackfillItem): void;
}

export interface BackfillItem {
  tick: string;
  runId: string;
  /** created: made by this backfill; found: it existed (finished); resumed: it existed unfinished. */
  how: 'created' | 'found' | 'resumed';
  phase: RunPhase;
}

export interface BackfillReport {
  intervals: number;
  created: number;
  found: number;
  resumed: number;
  succeeded: number;
  failed: number;
  runs: BackfillItem[];
}

export function backfillTicks(schedule: ScheduleSpec, from: number, to: number): number[] {
  return ticksBetween(schedule, from + 1, to + 1);
}

export async function backfill(schedule: ScheduleSpec, from: number, to: number, parallel: number, ports: BackfillPorts): Promise<BackfillReport> {
  const ticks = backfillTicks(schedule, from, to);
  const items: BackfillItem[] = new Array<BackfillItem>(ticks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const tick = ticks[i];
      if (tick === undefined) return;
      const { record, created } = await ports.create(tick);
      let item: BackfillItem;
      const existing = created ? null : await ports.phase(record.runId);
      if (!created && (existing === 'succeeded' || existing === 'failed' || existing === 'cancelled')) {
        item = { tick: new Date(tick).toISOString(), runId: record.runId, how: 'found', phase: existing };
      } else {
        const phase = await ports.carry(record, !created && existing === 'running');
        item = { tick: new Date(tick).toISOString(), runId: record.runId, how: created ? 'created' : 'resumed', phase };
      }
      items[i] = item;
      ports.onProgress?.(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, ticks.length)) }, worker));
  const runs = items.filter((x): x is BackfillItem => x !== undefined);
  return {
    intervals: ticks.length,
    created: runs.filter((r) => r.how === 'created').length,
    found: runs.filter((r) => r.how === 'found').length,
    resumed: runs.filter((r) => r.how === 'resumed').length,
    succeeded: runs.filter((r) => r.phase === 'succeeded').length,
    failed: runs.filter((r) => r.phase !== 'succeeded').length,
    runs,
  };
}
