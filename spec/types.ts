/**
 * The resolved DAG: what validation hands to the planner and the run engine. Params are
 * interpolated, durations are milliseconds, defaults are applied, and every reference is known to
 * resolve. Plain data (JSON-serializable) so it can be stored with a run and shipped to workers.
 */

export interface DatasetSpec {
  name: string;
  uri: string;
  format: 'parquet' | 'text';
  partitionBy?: 'date';
  view: boolean;
  retention?: number;
  /** Task that writes it; undefined for source (master) datasets. */
  producer?: string;
}

export interface TaskSpec {
  name: string;
  operator: string;
  inputs: string[];
  outputs: string[];
  dependsOn: string[];
  /** Operator params after the operator's zod schema applied its defaults. */
  params: Record<string, unknown>;
  retries: number;
  timeoutMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  queue?: string;
}

/** `schedule:` resolved: exactly one of cron / everyMs. */
export interface ScheduleSpec {
  cron?: string;
  /** IANA zone of `cron` ('UTC' when unset or with `every`). */
  timezone: string;
  everyMs?: number;
  catchup: 'latest' | 'all' | 'none';
  overlap: 'skip' | 'queue' | 'cancel-previous';
}

/** A run's logical interval [start, end), ms since the epoch. */
export interface RunInterval {
  start: number;
  end: number;
}

export interface DagSpec {
  name: string;
  description?: string;
  params: Record<string, string | number | boolean>;
  datasets: Record<string, DatasetSpec>;
  /** In file order. */
  tasks: TaskSpec[];
  /** sha256 of the exact file text the DAG was loaded from. */
  sourceHash: string;
  sourceFile: string;
  schedule?: ScheduleSpec;
  /** Some ${run.x} refers to the run's interval: a run needs one (scheduler, backfill). */
  usesRunVars?: boolean;
  /** The interval ${run.x} was resolved with; absent when validated without one. */
  interval?: RunInterval;
}
