import type { ModuleOperatorRef } from '../operators/modules/bundle.js';

/**
 * The resolved DAG: what validation hands to the planner and the run engine. Params are
 * interpolated, durations are milliseconds, defaults are applied, and every reference is known to
 * resolve. Plain data (JSON-serializable) so it can be stored with a run and shipped to workers.
 */

import type { SchemaMigration } from '../storage/dataset/schema-migration.js';
import type { Field } from '../storage/types.js';

export interface DatasetSpec {
  name: string;
  uri: string;
  format: 'parquet' | 'text' | 'csv' | 'jsonl';
  partitionBy?: 'date';
  view: boolean;
  retention?: number;
  /** Task that writes it; undefined for source (master) datasets. */
  producer?: string;
  /** Declared columns (the dataset's contract), checked against every file read. */
  schema?: Field[];
  /** Views: keep a Delta Lake log (storage/dataset/delta-log.ts); absent = true. */
  delta?: boolean;
  /** Sources: no files is fine (else INPUT_EMPTY while planning). */
  allowEmpty?: boolean;
  /** Views: share of the current version's rows a new version may drop (default 0.5). */
  maxShrink?: number;
  /** Publish over versions another DAG published. */
  takeOver?: boolean;
  /** Views: declared schema changes (storage/dataset/schema-migration.ts; else SCHEMA_MIGRATION_REQUIRED). */
  migrations?: SchemaMigration[];
  /** Sources partitioned by date: read only these partitions (`partitions:`, e.g. ${run.changedPartitions}). */
  partitions?: string[];
  /** The params its URI was written with (`${params.x}`), so errors can say which to fix. */
  uriParams?: string[];
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
  /** Largest share of rejected rows per instance; above it the instance fails (REJECTS_EXCEEDED). */
  maxRejectShare?: number;
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

/** `triggers:` entry resolved: new commits to the source `dataset` start a run. */
export interface TriggerSpec {
  dataset: string;
  /** At most one run per this long (0: no limit). */
  minIntervalMs: number;
  /** Start only once no new commit landed for this long (0: at once). */
  debounceMs: number;
  /** A source a triggered run reads as `dataset`'s changed partitions (scheduler/schedule/triggers.ts withNewData). */
  newData?: string;
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
  /** Operators the DAG declares as modules (`operators:`), by name; their code is the run's bundle. */
  modules?: Record<string, ModuleOperatorRef>;
  schedule?: ScheduleSpec;
  /** `triggers:`, in file order. */
  triggers?: TriggerSpec[];
  /** `deadline:`: each run should finish this long after it is created (a run's --deadline overrides). */
  deadlineMs?: number;
  /** `work:` as declared (absent: keep); `dagctl run --work` overrides it (RunOptions.work). */
  work?: 'keep' | 'reclaim';
  /** Some ${run.x} refers to the run's interval: a run needs one (scheduler, backfill). */
  usesRunVars?: boolean;
  /** The interval ${run.x} was resolved with; absent when validated without one. */
  interval?: RunInterval;
}
