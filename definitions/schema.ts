/**
 * The DAG file format, v1: the structural (first) validation layer, as zod schemas.
 *
 * This layer checks shapes and types only. Everything that needs the whole document — names,
 * references, cycles, durations, `${params.x}` interpolation, operator params — is a semantic rule
 * in definitions/rules.ts, so each problem gets its own stable code. The JSON Schema that editors use
 * (`dagctl schema`) is generated from these same schemas.
 */
import { z } from 'zod';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

const durationLike = z
  .union([z.string(), z.number()])
  .describe('Duration: 500ms, 30s, 10m, 2h, 1d or a compound such as 1h30m (a bare number is milliseconds).');

/** Column types a dataset `schema` may declare; `?` marks a nullable column. */
export const COLUMN_TYPES = ['string', 'int64', 'int32', 'double', 'boolean', 'bytes', 'string?', 'int64?', 'int32?', 'double?', 'boolean?', 'bytes?'] as const;

const columnType = z.enum(COLUMN_TYPES);
const migrationReason = z.string().optional().describe('Why the schema changes (for the people who read the view).');

/** One declared schema change of a view (storage/dataset/schema-migration.ts). */
export const MigrationSchema = z
  .discriminatedUnion('change', [
    z.object({ column: z.string().min(1), change: z.literal('added'), to: columnType.describe('The new column\'s type.'), reason: migrationReason }).strict(),
    z.object({ column: z.string().min(1), change: z.literal('removed'), from: columnType.describe('The removed column\'s type in the current version.'), reason: migrationReason }).strict(),
    z
      .object({ column: z.string().min(1), change: z.literal('type'), from: columnType.describe('The type in the current version.'), to: columnType.describe('The type the new version writes.'), reason: migrationReason })
      .strict(),
  ])
  .describe('A schema change of a view, declared: added (a column that is not nullable; nullable ones need no entry), removed, or type (a `?` marks nullable: int64 → int64? needs no entry).');

export const DatasetSchema = z
  .object({
    uri: z.string().describe('file://path, a relative path, or s3://bucket/prefix; may use ${params.x}.'),
    format: z.enum(['parquet', 'text', 'csv', 'jsonl']).default('parquet').describe('parquet datasets, or for sources: text (lines, e.g. access logs), csv (a header line, then records) or jsonl (one JSON object per line), read by parse-access-log / read-records.'),
    partitionBy: z.enum(['date']).optional().describe('Vertical partitioning by date: date=YYYY-MM-DD/ folders.'),
    view: z.boolean().default(false).describe('A batch view: versioned, published atomically through _CURRENT.'),
    description: z.string().optional(),
    retention: z.number().int().positive().optional().describe('Views: how many published versions `dataset vacuum` keeps.'),
    schema: z
      .record(z.string(), z.enum(COLUMN_TYPES))
      .optional()
      .describe('The columns every file must carry, by name: string, int64, int32, double, boolean or bytes; a trailing ? allows nulls. Checked against each file read (DATASET_SCHEMA_MISMATCH); rows with a null in a non-null column go to rejects.'),
    delta: z.boolean().optional().describe('Views: keep a Delta Lake log in _delta_log/ so foreign engines read the current version (default true; false allows merge-on-read versions, which only dagctl reads right).'),
    allowEmpty: z.boolean().optional().describe('Sources: resolving to no files is not an error (default false: INPUT_EMPTY while planning).'),
    maxShrink: z.number().min(0).max(1).optional().describe('Views: the share of the current version\'s rows a new version may drop (default 0.5; 1 disables the guard).'),
    takeOver: z.boolean().optional().describe('Publish over a version another DAG published (default false: DATASET_PRODUCER_CONFLICT).'),
    partitions: z
      .string()
      .optional()
      .describe('Sources with partitionBy date: read only these date partitions, comma-separated YYYY-MM-DD (typically ${run.changedPartitions}, what a data trigger saw change).'),
    migrations: z
      .array(MigrationSchema)
      .optional()
      .describe('Views: the schema changes a publication may make to the current version\'s schema (its Delta log). An undeclared column removal, type change or non-nullable addition refuses the publication (SCHEMA_MIGRATION_REQUIRED).'),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.migrations !== undefined && !d.view) ctx.addIssue({ code: 'custom', path: ['migrations'], message: 'migrations apply to views only: set `view: true` or remove them' });
  });

export const TaskSchema = z
  .object({
    name: z.string().describe('Task name: ^[a-z0-9][a-z0-9-]{0,62}$, unique in the DAG.'),
    operator: z.string().describe('Operator name from the registry (`dagctl operators`).'),
    description: z.string().optional(),
    inputs: z.array(z.string()).default([]).describe('Dataset names read by the task. The first is the primary input.'),
    outputs: z.array(z.string()).default([]).describe('Dataset names written by the task; each dataset has at most one producer.'),
    dependsOn: z.array(z.string()).default([]).describe('Extra ordering edges to other tasks, beside the data edges.'),
    params: z.record(z.string(), z.unknown()).default({}).describe("Operator params, validated by the operator's own schema."),
    retries: z.number().int().min(0).max(100).optional(),
    timeout: durationLike.optional(),
    queue: z.string().optional().describe('Distributed runs: the worker queue this task is sent to.'),
    maxRejectShare: z.number().min(0).max(1).optional().describe('Fail an instance (REJECTS_EXCEEDED, not retried) whose rejected rows exceed this share of the rows it read.'),
  })
  .strict();

export const DefaultsSchema = z
  .object({
    retries: z.number().int().min(0).max(100).default(2),
    timeout: durationLike.default('10m'),
    retryBackoff: durationLike.default('1s').describe('Base of the exponential backoff between attempts.'),
    retryBackoffMax: durationLike.default('5m'),
    maxRejectShare: z.number().min(0).max(1).optional().describe('Default maxRejectShare of every task.'),
  })
  .strict();

export const MetadataSchema = z
  .object({
    name: z.string().describe('DAG name: ^[a-z0-9][a-z0-9-]{0,62}$.'),
    description: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const ScheduleSchema = z
  .object({
    cron: z.string().optional().describe('A 5-field cron expression (minute hour day-of-month month day-of-week), read in `timezone`.'),
    timezone: z.string().optional().describe('IANA time zone of `cron` (e.g. Europe/Berlin); default UTC. Ticks follow its DST changes.'),
    every: durationLike.optional().describe('Instead of cron: a fixed period (30s, 10m, 1d), ticks at multiples of it since the Unix epoch (UTC).'),
    catchup: z.enum(['latest', 'all', 'none']).default('latest').describe('Ticks missed while no scheduler ran: run only the latest, all of them, or none.'),
    overlap: z
      .enum(['skip', 'queue', 'cancel-previous'])
      .default('skip')
      .describe("A tick while the DAG's previous run is unfinished: skip the tick, queue its run, or cancel the previous run."),
  })
  .strict()
  .describe('When `dagctl scheduler` runs the DAG. Each run sees its interval as ${run.intervalStart} / ${run.intervalEnd}.');

export const TriggerSchema = z
  .object({
    dataset: z.string().describe('A source dataset of this DAG (declared under datasets, no task writes it): new commits to it start a run.'),
    minInterval: durationLike.optional().describe('At most one run per this long (default 0): commits landing meanwhile are batched into the next run.'),
    debounce: durationLike.optional().describe('Wait until no new commit has landed for this long before starting a run (default 0).'),
    newData: z
      .string()
      .optional()
      .describe(
        "A source dataset of this DAG that a triggered run reads as the trigger dataset's changed date partitions (what the new commits touched) in place of its own declaration — e.g. the new batch of a partial recomputation. `dagctl run` reads it as declared.",
      ),
  })
  .strict()
  .describe('A data trigger: `dagctl scheduler` starts a run when new committed data lands in the dataset; ${run.changedPartitions} lists the date partitions it touched.');

export const ParamsSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .default({})
  .describe('Named values used as ${params.name} in datasets and tasks; `--param name=value` overrides them.');

export const WorkSchema = z
  .enum(['keep', 'reclaim'])
  .describe("Work files (shuffles and stage markers in <dataset>/_work/<task>/): keep them (default; the next incremental run reuses them) or reclaim them once a run succeeded and published. `dagctl run --work` overrides it.");

export const DagFileSchema = z
  .object({
    apiVersion: z.literal('dagctl/v1'),
    kind: z.literal('Dag'),
    metadata: MetadataSchema,
    params: ParamsSchema,
    defaults: DefaultsSchema.default({ retries: 2, timeout: '10m', retryBackoff: '1s', retryBackoffMax: '5m' }).describe('Task settings used where a task sets none.'),
    operators: z
      .record(z.string(), z.string())
      .optional()
      .describe('Operator modules by name: a path relative to this file (./ops/bot-filter.ts) or a package specifier; the default export is made with defineOperator from the dagctl package.'),
    datasets: z.record(z.string(), DatasetSchema).default({}).describe('Datasets by name: sources (no producer task) and task outputs.'),
    tasks: z.array(TaskSchema).min(1).describe('The tasks, in file order.'),
    schedule: ScheduleSchema.optional(),
    triggers: z.array(TriggerSchema).optional().describe('Data triggers: runs started by new committed data in source datasets (docs/scheduling.md).'),
    deadline: durationLike
      .optional()
      .describe('Each run of this DAG should finish within this long after it is created (e.g. 2h); `dagctl run --deadline` overrides it. Autoscaling (dagctl autoscale-metrics) sizes workers to meet it.'),
    work: WorkSchema.optional(),
  })
  .strict()
  .meta({ title: 'dagctl DAG file (dagctl/v1)', description: 'A DAG of data operators over partitioned datasets.' });

export type DagFile = z.infer<typeof DagFileSchema>;
export type DatasetDecl = z.infer<typeof DatasetSchema>;
export type TaskDecl = z.infer<typeof TaskSchema>;
export type ScheduleDecl = z.infer<typeof ScheduleSchema>;
export type TriggerDecl = z.infer<typeof TriggerSchema>;
