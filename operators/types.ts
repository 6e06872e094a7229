/**
 * The operator contract. An operator is pure data processing: it declares its params (zod), its
 * cost defaults (T = O + P×H), its stages, and a `run` per stage that reads rows from input
 * handles and writes rows to output handles. It knows nothing of how it is scheduled (embedded
 * thread pool or BullMQ worker), where data lives (local or S3), or how outputs are committed —
 * the task runner (workers/task-runner.ts) binds the handles to storage and commits atomically.
 *
 * Stages and fan-out (how one DAG task becomes task instances):
 *   - 'partition': one instance per partition of the task's primary input (inputs[0]) when that
 *     dataset is date-partitioned; a single instance otherwise.
 *   - 'bucket':    B instances (B = params.buckets, else the planner's choice); instance i reads
 *     bucket i of every instance of the previous stage (the shuffle).
 *   - 'single':    one instance.
 * A stage with `iterate` repeats in rounds (round r reads round r−1's buckets) while the sum of
 * `metrics[iterate.metric]` over the round's instances is > 0, up to maxRounds.
 */
import type { ZodType } from 'zod';
import type { ColumnBatch, DatasetFormat, Field, FileEntry, Row, Schema } from '../storage/types.js';

export type Fanout = 'partition' | 'bucket' | 'single';

export interface StageSpec {
  name: string;
  fanout: Fanout;
  /**
   * Repeat in rounds while the round's summed metric is > 0, at most maxRounds. The planner
   * charges only the rounds past runs executed (the cost model's expectedRounds), else
   * `expectedRounds` of them (default 4): later rounds are planned but usually skipped.
   */
  iterate?: { metric: string; maxRounds: number; expectedRounds?: number };
  /** Whether this stage writes the task's declared outputs (usually only the last stage). */
  writesOutputs?: boolean;
}

/** Which size drives the per-unit cost P: input bytes (per MiB) or input rows (per 1,000). */
export type CostDriver = 'bytes' | 'rows';

export interface CostDefaults {
  /** O: fixed overhead per instance, milliseconds. */
  overheadMs: number;
  /** P: milliseconds per unit of H (per MiB when driver = bytes, per 1,000 rows when rows). */
  perUnitMs: number;
  driver: CostDriver;
}

/**
 * One file of an input, its bytes fetched on demand: for operators that decode Parquet column by
 * column (late materialization, storage/parquet/column-scan.ts) instead of streaming rows.
 */
export interface RawFile {
  readonly path: string;
  readonly bytes: number;
  read(): Promise<Uint8Array>;
}

/**
 * A file of a view version as that version lists it: its bytes on demand, the entry to carry it
 * into the next version (OutputWriter.carry) and the rows the version has deleted from it.
 */
export interface VersionFile extends RawFile {
  readonly entry: FileEntry;
  /** Sorted row positions the version no longer holds (storage/dataset/deletes.ts), or null. */
  readonly deleted: Int32Array | null;
}

/** Rows read by one instance: the files it was assigned, streamed in batches. */
export interface InputHandle {
  readonly name: string;
  readonly bytes: number;
  /** Live rows: deleted rows (merge-on-read view versions) not counted. */
  readonly rows: number;
  /** True when some file's row count is unknown (a source dataset's entries): `rows` then counts only the known ones. */
  readonly rowsUnknown?: boolean;
  readonly files: number;
  /** Rows of its files that the version has deleted (merge-on-read view versions); 0 or absent otherwise. */
  readonly deletedRows?: number;
  /** The rows in batches; each batch holds fresh row objects the stage owns (it may modify them). */
  batches(opts?: { columns?: string[]; invalidUtf8?: 'error' | 'mark' }): AsyncIterable<Row[]>;
  /** Columns the dataset's declared schema says are never null: rows with a null there break its contract. */
  readonly notNull?: readonly string[];
  /** The Parquet schema of the input (from its first file's footer); null when it has no files. */
  schema(): Promise<Schema | null>;
  /** The dataset's declared format, where the handle reads a declared dataset (absent: parquet or in-memory). */
  readonly format?: DatasetFormat;
  /** Line datasets (format: text, csv, jsonl): lines, in batches. */
  lines(): AsyncIterable<string[]>;
  /**
   * The files batches() streams, in the same order, unread (Parquet datasets). Optional: handles
   * without files to hand out (in-memory inputs) omit it and operators fall back to batches().
   * Each file's rows count once in the instance's rowsIn (the cost model's input rows) when read.
   * Absent when a file has deleted rows: a raw reader would see them (use filesWithDeletes).
   */
  rawFiles?(): RawFile[];
  /** The files with their deletion vectors (file-backed handles): for readers that apply them. */
  filesWithDeletes?(): VersionFile[];
}

export interface OutputWriter {
  write(rows: Row[]): Promise<void>;
  /**
   * Column-at-a-time rows (REQUIRED string and int64 fields only), present when the output's codec
   * can write them (the default flat codec): no row objects are built or encoded.
   */
  writeColumns?(batch: ColumnBatch): Promise<void>;
  /**
   * Lists a file of the output's previous version (OutputHandle.previous → filesWithDeletes) in
   * this instance's output again, with `deleted` (sorted positions, a superset of the file's
   * earlier deletions) as its deletion vector: a merge-on-read view version shares the file
   * instead of rewriting it. Present for file-backed outputs; a file not in the previous version
   * is INTERNAL.
   */
  carry?(file: VersionFile, deleted: Int32Array): Promise<void>;
}

export interface OutputHandle {
  readonly name: string;
  /** Opens the instance's writer for this output with the given schema (once per instance). */
  open(schema: Schema): OutputWriter;
  /** The previously published version of this dataset (views: partial recompute), or null. */
  previous(): Promise<InputHandle | null>;
}

/** Bucketed output of a non-final stage, read by the next stage (the shuffle). */
export interface ShuffleWriter {
  readonly buckets: number;
  write(bucket: number, rows: Row[]): Promise<void>;
  /**
   * Appends a block already encoded for the opened schema (storage/shuffle/format.ts
   * encodeRawBlock) holding `rows` rows; present when the shuffle is DGSH files.
   */
  writeBlock?(bucket: number, block: Uint8Array, rows: number): Promise<void>;
}

export interface ShuffleOutput {
  readonly buckets: number;
  open(schema: Schema): ShuffleWriter;
}

export interface PriorStage {
  /** Rows of the given bucket from every instance of the prior stage (or prior round). */
  bucket(b: number): InputHandle;
  /** All rows of every instance of the prior stage. */
  all(): InputHandle;
  /** A blob written by the prior stage's instances (concatenated per instance, in instance order). */
  blobs(name: string): Uint8Array[];
}

export interface StageContext<P> {
  readonly params: P;
  readonly stage: StageSpec;
  readonly stageIndex: number;
  /** 1-based round for iterative stages, else 1. */
  readonly round: number;
  /** The date partition of a 'partition' instance ('' when the input is unpartitioned). */
  readonly partition: string;
  /** The bucket of a 'bucket' instance, else -1. */
  readonly bucket: number;
  /** Bucket count B of the task (for shuffles). */
  readonly buckets: number;
  /** Task inputs in declared order. For 'partition' stages, inputs[0] holds just this partition. */
  readonly inputs: InputHandle[];
  /** Task outputs in declared order (only for stages with writesOutputs). */
  readonly outputs: OutputHandle[];
  /** Bucketed output for the next stage. */
  readonly shuffle: ShuffleOutput;
  /** The previous stage (or round) of this task; null for the first stage's first round. */
  readonly prior: PriorStage | null;
  /** Any earlier stage of this task by name (its last round, for iterative stages); null if none ran. */
  stageOutput(name: string): PriorStage | null;
  /** The previously published version of output i (views), available in every stage; null if none. */
  previous(output: number): Promise<InputHandle | null>;
  /** Small named byte outputs for later stages (e.g. a Bloom filter built once). */
  putBlob(name: string, bytes: Uint8Array): void;
  /** 1-based attempt number of this instance (retries increase it). */
  readonly attempt: number;
  readonly signal: AbortSignal;
  log(message: string, fields?: Record<string, unknown>): void;
}

export interface StageResult {
  /** Counters reported to status and run history (rows in/out, rejects, rounds, false positives…). */
  metrics?: Record<string, number>;
  /**
   * The logical rows this instance consumed, when its stored input rows pack many (e.g. columnar
   * blocks of pageviews, chunks of edges): the cost sample then counts these instead of stored
   * rows, so P stays per logical row — the unit the planner estimates in. Absent: rows read.
   */
  inputRows?: number;
  /**
   * Dynamic fan-out: for a later stage of this task (by name), the buckets whose instances are
   * still needed; the others are skipped (pruned), never dispatched. `[]` skips every instance of
   * that stage (for a stage without buckets, the only form that applies). An operator narrows
   * when what it learned at run time (e.g. a partial run's few routed buckets) leaves instances
   * with nothing to do: each would still cost a dispatch, commit markers and a slot.
   */
  narrow?: Record<string, number[]>;
}

export interface StagesInfo {
  inputs: number;
}

export interface OperatorDef<P = unknown> {
  readonly name: string;
  /** Bumped when the operator's output changes for the same input: part of every fingerprint. */
  readonly version: string;
  readonly summary: string;
  readonly params: ZodType<P>;
  readonly cost: CostDefaults;
  /** Outputs the operator expects (e.g. normalize: [main, rejects?]); validation checks the count. */
  readonly outputs: { min: number; max: number };
  readonly inputs: { min: number; max: number };
  /** `info.inputs`: how many inputs the task declares (an optional second input may add stages). */
  stages(params: P, info: StagesInfo): StageSpec[];
  /**
   * True when an instance with these params does no CPU-heavy work and holds little memory (a
   * sensor, a no-op): workers may then run it on their event loop instead of a worker thread,
   * saving the thread hop. Absent: always a thread.
   */
  inline?(params: P): boolean;
  /**
   * The columns (and types) the operator needs in each input, by input index: checked against
   * every file it reads, before any row is processed (DATASET_SCHEMA_MISMATCH naming file,
   * column, expected and found). Absent: no requirement beyond the dataset's declared schema.
   */
  requires?(params: P): (Field[] | undefined)[];
  run(ctx: StageContext<P>): Promise<StageResult>;
}

/** The registry's element type: stages/run are methods, so any OperatorDef<P> is assignable. */
export type AnyOperator = OperatorDef<unknown>;

/**
 * An operator's metadata without its implementation: what validation and planning need (params,
 * cost, arity, stages). The built-ins register a descriptor each, their `run` imported on first
 * use (operators/lazy.ts), so `dagctl validate` and `plan` never load operator code.
 */
export type OperatorDescriptor<P = unknown> = Omit<OperatorDef<P>, 'run'>;
