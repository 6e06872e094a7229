/**
 * The JSON contract between `dagctl ui`'s server (ui/server/) and its pages (ui/web/): every API
 * response and server-sent event has one of these shapes. Self-contained (no imports) so that the
 * browser build type-checks against the same definitions the server produces.
 */

export type UiInstanceState = 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'upstream_failed' | 'skipped' | 'cancelled';
export type UiRunPhase = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
/** Which run store a run lives in: the embedded one under DAGCTL_HOME, or Redis (--redis). */
export type UiStoreId = 'local' | 'redis';

export interface UiStoreInfo {
  id: UiStoreId;
  /** What the store is, with no secrets: the DAGCTL_HOME path, or the Redis URL with its password masked. */
  label: string;
  /** Set when the store could not be read (e.g. Redis down); its runs are then missing. */
  error: string | null;
}

export interface UiRunListItem {
  store: UiStoreId;
  runId: string;
  dag: string;
  phase: UiRunPhase;
  /** What started the run (a schedule tick, a user), when the run recorded it. */
  trigger: string | null;
  executor: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  instances: number;
  counts: Partial<Record<UiInstanceState, number>>;
  /** The cost model's makespan of the run's plan on `predictedWorkers` workers (list scheduling). */
  predictedMs: number | null;
  predictedWorkers: number;
}

export interface UiDagListItem {
  name: string;
  store: UiStoreId;
  latestRunId: string;
  dagHash: string;
  runs: number;
  tasks: number;
}

export interface UiHome {
  stores: Array<UiStoreInfo & { runs: UiRunListItem[]; dags: UiDagListItem[] }>;
  readOnly: boolean;
}

/** One task instance on the run page. Times are offsets (ms) from the run's start. */
export interface UiInstanceRow {
  id: string;
  task: string;
  stage: string;
  partition: string;
  state: UiInstanceState;
  attempts: number;
  worker: string | null;
  /** T = O + P×H for this instance, and its parts. */
  predictedMs: number;
  overheadMs: number;
  workMs: number;
  /** Measured duration once finished (null while running: the page counts it from startMs). */
  durationMs: number | null;
  startMs: number | null;
  endMs: number | null;
  error: string | null;
  errorCode: string | null;
  why: string | null;
  /** The last attempt's log tail (ctx.log lines; exec: stdout/stderr tails), when it logged. */
  log?: string;
  /** Its earlier attempts that failed, oldest first (the last 8 kept); absent when none. */
  earlierAttempts?: UiFailedAttempt[];
  /** UTF-8 bytes of `error` left out of the page (its first 4 KiB kept: ui/server/views.ts UI_TEXT_CAP_BYTES); absent when none. */
  errorMore?: number;
  /** UTF-8 bytes of `log` left out of the page (its last 4 KiB kept); absent when none. */
  logMore?: number;
  /** UTF-8 bytes of `why` left out of the page (a failure's why quotes its error); absent when none. */
  whyMore?: number;
}

/** A failed attempt: when its failure was recorded (ms since epoch), its error and log tail. */
export interface UiFailedAttempt {
  attempt: number;
  at: number;
  code: string;
  error: string;
  log?: string;
  /** As UiInstanceRow's: bytes of `error` / `log` left out of the page. */
  errorMore?: number;
  logMore?: number;
}

/** One instance's texts in full (not capped): its last error and log, and its earlier failed attempts. */
export interface UiInstanceTexts {
  runId: string;
  instance: string;
  attempts: number;
  why: string | null;
  error: string | null;
  errorCode: string | null;
  log: string | null;
  earlierAttempts: UiFailedAttempt[];
}

export interface UiTaskRow {
  name: string;
  operator: string;
  instances: number;
  state: UiInstanceState;
  counts: Partial<Record<UiInstanceState, number>>;
  predictedMs: number;
  actualMs: number;
}

export interface UiActions {
  cancel: boolean;
  retry: boolean;
  /** Why an action is unavailable (read-only mode, an embedded run, a finished run). */
  reason: string | null;
}

export interface UiRunHeader {
  store: UiStoreId;
  runId: string;
  dag: string;
  dagHash: string;
  phase: UiRunPhase;
  cancelRequested: boolean;
  trigger: string | null;
  executor: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  counts: Partial<Record<UiInstanceState, number>>;
  predictedMs: number;
  predictedWorkers: number;
  seq: number;
  actions: UiActions;
}

export interface UiRun extends UiRunHeader {
  tasks: UiTaskRow[];
  instances: UiInstanceRow[];
}

/** A live update of a run page (SSE `patch` event): the header, every task row, changed instances. */
export interface UiRunPatch extends UiRunHeader {
  tasks: UiTaskRow[];
  instances: UiInstanceRow[];
}

export interface UiGraphNode {
  id: string;
  kind: 'task' | 'dataset';
  label: string;
  /** task: its operator; dataset: its URI's scheme and format. */
  detail: string;
  layer: number;
  x: number;
  y: number;
}

export interface UiGraph {
  nodes: UiGraphNode[];
  edges: Array<{ from: string; to: string }>;
  width: number;
  height: number;
}

export interface UiPlanNumbers {
  instances: number;
  totalWorkMs: number;
  criticalPathMs: number;
  criticalTasks: string[];
  workers: number;
  makespanMs: number;
  deadline: { deadlineMs: number; feasible: boolean; workers: number | null; makespanMs: number | null; reason: string | null } | null;
  tasks: Array<{ task: string; operator: string; instances: number; overheadMs: number; workMs: number; predictedMs: number; costSource: string }>;
}

export interface UiDag {
  name: string;
  store: UiStoreId;
  runId: string;
  dagHash: string;
  sourceFile: string;
  description: string | null;
  text: string;
  /** The recorded file checked again against today's operators and rules (null: no text recorded). */
  issues: Array<{ code: string; severity: string; message: string; line: number; column: number; path: string }> | null;
  graph: UiGraph;
  /** The DAG's view datasets (each has a page /views/DAG/DATASET). */
  views: string[];
  plan: UiPlanNumbers;
  /** The DAG's `schedule:` as recorded, with its next tick after now (null: not scheduled). */
  schedule: UiSchedule | null;
  runs: UiRunListItem[];
}

export interface UiSchedule {
  /** `cron 0 3 * * *` or `every 1h`. */
  spec: string;
  timezone: string;
  catchup: string;
  overlap: string;
  /** ISO time of the next tick after now, or null when the expression has none. */
  nextTick: string | null;
  /** Paused with `dagctl pause` (or from the UI): its ticks are dropped; null when this store keeps no schedule state. */
  paused: boolean | null;
}

export interface UiError {
  error: { code: string; message: string };
}

export interface UiViewVersion {
  version: string;
  createdAt: string;
  rows: number;
  bytes: number;
  files: number;
  current: boolean;
}

/** A view dataset of a DAG: its published versions, newest first (at most 100). */
export interface UiView {
  dag: string;
  dataset: string;
  store: UiStoreId;
  /** The dataset URI, any password masked. */
  uri: string;
  /** The task writing it, when the DAG has one. */
  producer: string | null;
  current: string | null;
  versions: UiViewVersion[];
  /** Versions left out (more than 100). */
  more: number;
}
