/**
 * The run engine's ports. RunStore owns run records and run state and applies events through the
 * reducer atomically; TaskExecutor runs dispatched instances and reports back. Implementations:
 *   RunStore:     MemoryRunStore (tests), LocalRunStore (.dagctl/, the embedded default),
 *                 RedisRunStore (distributed runs; applies events with a Lua script).
 *   TaskExecutor: EmbeddedExecutor (worker_threads pool), BullMQ queue + `dagctl worker`.
 * Every RunStore passes test/conformance/run-store.ts.
 */
import type { CodeBundle } from '../operators/modules/bundle.js';
import type { BundleRef } from '../operators/modules/bundle-store.js';
import { DagctlError, isDagctlError } from '../core/errors.js';
import type { DagSpec } from '../definitions/types.js';
import type { CostSample, PlannedInstance, RunPhase } from './model.js';
import type { Effect, RunEvent } from './engine/events.js';
import type { RunState } from './engine/state.js';
import type { SourceSnapshot } from './plan/sources.js';

/** Everything fixed when a run is created: enough to explain or resume it later. */
export interface RunRecord {
  runId: string;
  dag: DagSpec;
  /** The exact DAG file text and its sha256. */
  dagText: string;
  dagHash: string;
  plan: PlannedInstance[];
  sources: SourceSnapshot;
  /** Store roots of sources whose URI names one file (their folder); others use the dataset URI. */
  sourceRoots?: Record<string, string>;
  createdAt: number;
  options: RunOptions;
  /** Distributed runs with DAGCTL_JOB_KEY: HMAC of the record (workers/bullmq/job-auth.ts). */
  mac?: string;
  /**
   * The DAG and its operator modules (operators/modules/bundle.ts) when the DAG declares modules:
   * workers load the run's operators from here by hash, never from their own disk.
   */
  bundle?: CodeBundle;
  /**
   * Instead of `bundle`: where the bundle was uploaded, content-addressed (a worker-carried run
   * whose DAG has S3 datasets, or DAGCTL_BUNDLE_STORE; operators/modules/bundle-store.ts).
   */
  bundleRef?: BundleRef;
  /** What made the run; absent on runs older than triggers (read as manual). */
  trigger?: RunTrigger;
}

/** What made a run: a person (`dagctl run`), a schedule tick, a backfill interval, or new data. */
export type RunTrigger =
  | { kind: 'manual' }
  | { kind: 'schedule'; at: string; intervalStart: string; intervalEnd: string }
  | { kind: 'backfill'; at: string; intervalStart: string; intervalEnd: string }
  | { kind: 'data'; dataset: string; partitions: string[]; at?: string; commits?: number };

export interface RunOptions {
  force: boolean;
  rerunFrom?: string;
  concurrency?: number;
  params: Record<string, string>;
  executor: 'embedded' | 'bullmq';
  /** Datasets (by name) this run may publish over another DAG's version (`--take-over`). */
  takeOver?: string[];
  /** Publish views even when they drop more than their maxShrink share of rows (`--allow-shrink`). */
  allowShrink?: boolean;
  /** Epoch ms by which the run should finish (`dagctl run --deadline`); autoscaling sizes workers for it. */
  deadlineAt?: number;
  /** `dagctl run --work keep|reclaim`: overrides the DAG's `work:` (workers/reclaim.ts). */
  work?: 'keep' | 'reclaim';
}

export interface RunSummary {
  runId: string;
  dag: string;
  phase: RunPhase;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  instances: number;
  counts: Record<string, number>;
  /** The run's details are gone (its store's retention): only this summary is left. */
  expired?: boolean;
  trigger: RunTrigger;
}

export interface RunStore {
  /** Stores a new run; a run with the same id exists → RUN_STATE_INVALID with details.exists (see isRunExists). */
  createRun(record: RunRecord, state: RunState): Promise<void>;
  getRecord(runId: string): Promise<RunRecord | null>;
  getState(runId: string): Promise<RunState | null>;
  /**
   * Applies events through the reducer atomically and durably (all or none), returning the
   * effects. Replaying an already-applied instance event is a no-op (the reducer ignores stale
   * attempts).
   */
  apply(runId: string, events: RunEvent[]): Promise<Effect[]>;
  listRuns(opts?: { dag?: string; limit?: number }): Promise<RunSummary[]>;
  latestRunId(dag?: string): Promise<string | null>;
  appendSamples(samples: CostSample[]): Promise<void>;
  history(opts?: { operator?: string; limit?: number }): Promise<CostSample[]>;
  close(): Promise<void>;
  /**
   * Optional: records that the run's work files were reclaimed (workers/reclaim.ts) and how many,
   * and reads it back (null: kept, or not yet); `dagctl status` shows it. Redis and local stores.
   */
  markWorkReclaimed?(runId: string, r: WorkReclaimed): Promise<void>;
  workReclaimed?(runId: string): Promise<WorkReclaimed | null>;
  /**
   * Optional, for stores whose listing is written apart from the run (Redis: the global indexes
   * after the create script): makes an existing run listed (in listRuns, and active unless
   * finished). Idempotent. A creator killed between the two writes left its run complete but
   * unlisted — never listed, never started; whoever finds a run by its deterministic id instead of
   * creating it (launch.ts) calls this.
   */
  listExisting?(runId: string, dag: string): Promise<void>;
}

/** A finished run's reclaimed work (workers/reclaim.ts): objects deleted, bytes, when (epoch ms). */
export interface WorkReclaimed {
  markers: number;
  files: number;
  bytes: number;
  at: number;
}

/** The error every RunStore throws when createRun meets an existing run id. */
export function runExists(runId: string): DagctlError {
  return new DagctlError('RUN_STATE_INVALID', `run ${runId} exists`, { runId, exists: true });
}

export function isRunExists(e: unknown): boolean {
  return isDagctlError(e, 'RUN_STATE_INVALID') && e.details.exists === true;
}

export function summarize(state: RunState, createdAt = state.createdAt, trigger: RunTrigger = { kind: 'manual' }): RunSummary {
  const counts: Record<string, number> = {};
  let n = 0;
  for (const s of Object.values(state.instances)) {
    counts[s.state] = (counts[s.state] ?? 0) + 1;
    n++;
  }
  const out: RunSummary = { runId: state.runId, dag: state.dag, phase: state.phase, createdAt, instances: n, counts, trigger };
  if (state.startedAt !== undefined) out.startedAt = state.startedAt;
  if (state.finishedAt !== undefined) out.finishedAt = state.finishedAt;
  return out;
}
