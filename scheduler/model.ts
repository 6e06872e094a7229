/**
 * The run model shared by the planner, the pure run-state reducer, the run stores and the
 * executors: planned task instances, their states, results and run phases. Plain JSON data.
 *
 * Instance ids are deterministic and contain no ':' (they become BullMQ job ids):
 *   <task>.<stage>[.r<round>][.p<partition>|.b<bucket>]   e.g. rollup.map.p2024-01-03, rollup.reduce.b007
 *   <task>.publish                                         publication of the task's outputs
 */
import type { FileEntry } from '../storage/types.js';

export type InstanceState =
  | 'pending'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'upstream_failed'
  | 'skipped'
  | 'cancelled';

export type RunPhase = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<InstanceState> = new Set(['succeeded', 'failed', 'upstream_failed', 'skipped', 'cancelled']);
/** States that satisfy a dependency. */
export const DONE_OK: ReadonlySet<InstanceState> = new Set(['succeeded', 'skipped']);

export type InstanceKind = 'work' | 'publish';

/** A planned task instance: static, decided before the run starts. */
export interface PlannedInstance {
  id: string;
  task: string;
  operator: string;
  kind: InstanceKind;
  stage: string;
  stageIndex: number;
  /** 1-based round of an iterative stage, else 1. */
  round: number;
  /** Rounds planned for the stage (maxRounds for iterative stages, else 1). */
  rounds: number;
  /** Iterative stages: the metric whose round sum decides whether another round runs. */
  iterateMetric?: string;
  /** Date partition ('YYYY-MM-DD'), an upstream bucket label ('bucket=NNN'), or ''. */
  partition: string;
  /** Bucket of a 'bucket' stage instance, else -1. */
  bucket: number;
  /** Bucket count B of the task. */
  buckets: number;
  deps: string[];
  /** Estimated input size H of this instance. */
  inputBytes: number;
  inputRows: number;
  /** Cost model estimate T = O + P×H, and its parts, in milliseconds. */
  predictedMs: number;
  overheadMs: number;
  workMs: number;
  /** Where O and P came from: the operator's defaults or a fit over run history. */
  costSource: 'default' | 'fitted';
  /**
   * The cost model's estimate of the instance's thread CPU time (ms), when fitted from samples that
   * recorded it; predictedMs is then uncontended time + (contention − 1) × this.
   */
  predictedCpuMs?: number;
  /** The contention k predictedMs was computed for, and the plan-time probe's raw k it came from (with predictedCpuMs only). */
  contention?: number;
  probedContention?: number;
  /** Hash of the task's parsed operator params (scheduler/plan/cost.ts paramsKey): the cost model's params level. */
  paramsHash?: string;
  queue?: string;
}

/** The output an instance committed to one dataset (or to its task's stage work area). */
export interface CommittedOutput {
  /** Dataset name, or `stage:<task>.<stage>` for shuffle/stage outputs. */
  dataset: string;
  /** Root URI the file paths are relative to. */
  uri: string;
  /** Key of the commit marker under uri. */
  marker: string;
  files: FileEntry[];
  blobs?: string[];
}

export interface InstanceResult {
  /** Skipped because an identical earlier commit exists (memoized) — outputs reused. */
  memoized: boolean;
  fingerprint: string;
  outputs: CommittedOutput[];
  metrics: Record<string, number>;
  inputBytes: number;
  inputRows: number;
  outputRows: number;
  durationMs: number;
  /** Time before the first row was processed (resolving inputs, opening files): the O-ish part. */
  setupMs: number;
  /**
   * The attempt's worker-thread scheduler times (core/thread-cpu.ts), ms: CPU time and time it was
   * runnable but waiting for a CPU. Absent where they cannot be read (not Linux) or the attempt ran
   * on the main thread (its figures would include the engine's own work).
   */
  cpuMs?: number;
  cpuWaitMs?: number;
  /**
   * Instances of later stages of the same task that the operator found it does not need (its
   * StageResult.narrow): the run skips them (reason 'pruned') instead of dispatching them.
   */
  prune?: string[];
  worker?: string;
  /** The attempt's log tail (its ctx.log lines as JSON, the last 4 KiB; exec: its stdout/stderr tails), when it logged. */
  log?: string;
}

/**
 * A failed attempt, kept with its instance: the last MAX_FAILED_ATTEMPTS of them, across retries
 * and resets (a reset restarts `attempt` at 1; `at` orders them). The succeeded attempt's log is
 * its result's `log`.
 */
export interface FailedAttempt {
  attempt: number;
  /** When its failure was applied (ms since epoch). */
  at: number;
  code: string;
  error: string;
  /** Its log tail (ctx.log lines, the last 4 KiB), when it logged. */
  log?: string;
}

/** How many failed attempts an instance keeps (each with at most a 4 KiB log tail). */
export const MAX_FAILED_ATTEMPTS = 8;

export interface InstanceStatus {
  state: InstanceState;
  attempts: number;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Earliest time of the next attempt (retry backoff). */
  notBefore?: number;
  error?: string;
  errorCode?: string;
  /** Why a skipped instance was skipped. */
  skipReason?: 'memoized' | 'converged' | 'pruned';
  result?: InstanceResult;
  worker?: string;
  /** Its failed attempts, oldest first (at most MAX_FAILED_ATTEMPTS), when any failed. */
  failedAttempts?: FailedAttempt[];
}

/** One completed instance's cost sample, recorded in run history for calibration. */
export interface CostSample {
  operator: string;
  stage: string;
  /** `dag/task` it came from (samples recorded before this field have none). */
  task?: string;
  inputBytes: number;
  inputRows: number;
  /** The planner's estimate of the instance's input size (what predictions are made from). */
  plannedBytes?: number;
  plannedRows?: number;
  /** The instance's paramsHash (same operator + stage + params: the cost model's params level). */
  paramsHash?: string;
  /** 1-based round of an iterative stage's instance (absent for other stages): the model learns how many rounds run. */
  round?: number;
  durationMs: number;
  setupMs: number;
  /** The instance's worker-thread CPU time and run-queue wait (InstanceResult.cpuMs/cpuWaitMs), when recorded. */
  cpuMs?: number;
  waitMs?: number;
  /** The plan-time probe's k for its run (PlannedInstance.probedContention): the model learns how the probe compares with what instances meet. */
  probedContention?: number;
  at: number;
}
