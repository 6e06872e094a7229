/**
 * Typed errors with stable string codes.
 *
 * Every error dagctl raises on purpose is a DagctlError whose `code` is one of ErrorCode. Tests and
 * callers branch on the code, never on message text. `details` carries machine-readable context
 * (file, path, offending value) for `--json` output.
 */

export const ERROR_CODES = [
  // DAG files (validation issues use their own codes, see spec/issues.ts)
  'DAG_INVALID',
  'DAG_READ_FAILED',
  'PARAM_INVALID',
  // planning / cost model
  'PLAN_FAILED',
  'COST_INVALID',
  // run engine
  'RUN_NOT_FOUND',
  'RUN_STATE_INVALID',
  'RUN_LOCKED',
  'TASK_NOT_FOUND',
  'TASK_TIMEOUT',
  'TASK_CANCELLED',
  'TASK_FAILED',
  'WORKER_CRASHED',
  'WORKER_OUT_OF_MEMORY',
  // storage
  'STORAGE_NOT_FOUND',
  'STORAGE_CONFLICT',
  'STORAGE_PRECONDITION_FAILED',
  'STORAGE_IO',
  'STORAGE_URI_INVALID',
  'STORAGE_LOCK_TIMEOUT',
  'DATASET_NOT_FOUND',
  'DATASET_SCHEMA_MISMATCH',
  'PARQUET_INVALID',
  'SHUFFLE_INVALID',
  'SOURCE_WRITE_REFUSED',
  'REJECTS_EXCEEDED',
  // publication safety (views)
  'INPUT_EMPTY',
  'VIEW_SHRINK',
  'DATASET_PRODUCER_CONFLICT',
  'VERSION_NOT_FOUND',
  'VERSION_VACUUMED',
  'DELTA_LOG_INVALID',
  // operators
  'OPERATOR_UNKNOWN',
  'OPERATOR_PARAMS_INVALID',
  'OPERATOR_INPUT_INVALID',
  // operator modules (operators a DAG file declares) and their code bundles
  'OPERATOR_INVALID',
  'OPERATOR_MODULE_FAILED',
  'OPERATOR_FAILED',
  'BUNDLE_INVALID',
  'BUNDLE_NOT_FOUND',
  // distributed
  'REDIS_UNAVAILABLE',
  'REDIS_AUTH_FAILED',
  'REDIS_TLS_UNTRUSTED',
  'QUEUE_FAILED',
  'JOB_TAMPERED',
  // ingest (Kafka → master dataset)
  'KAFKA_UNAVAILABLE',
  'KAFKA_TOPIC_NOT_FOUND',
  'INGEST_CONFLICT',
  'INGEST_OFFSET_GAP',
  // serving (query / serve: bad queries are input errors, exit 2 / HTTP 4xx)
  'QUERY_INVALID',
  'QUERY_VIEW_UNKNOWN',
  'QUERY_KEY_UNKNOWN',
  'QUERY_RANGE_INVALID',
  'QUERY_RANGE_OUTSIDE_DATA',
  // web UI (dagctl ui)
  'UI_UNAUTHORIZED',
  'UI_FORBIDDEN',
  'UI_READ_ONLY',
  'RUN_ACTION_UNSUPPORTED',
  // scheduling
  'SCHEDULER_LOCKED',
  // cli
  'USAGE',
  'INTERRUPTED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes of failures that another attempt cannot change (bad input, a broken contract, a refused
 * write, a cancelled task): the run engine never retries them, whatever the task's `retries`.
 * Everything else (I/O, timeouts, crashed workers, INTERNAL) is retried.
 */
export const PERMANENT_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'DAG_INVALID',
  'PARAM_INVALID',
  'TASK_NOT_FOUND',
  'TASK_CANCELLED',
  'STORAGE_URI_INVALID',
  'DATASET_SCHEMA_MISMATCH',
  'PARQUET_INVALID',
  'SHUFFLE_INVALID',
  'SOURCE_WRITE_REFUSED',
  'REJECTS_EXCEEDED',
  'VIEW_SHRINK',
  'DATASET_PRODUCER_CONFLICT',
  'VERSION_NOT_FOUND',
  'VERSION_VACUUMED',
  'DELTA_LOG_INVALID',
  'INPUT_EMPTY',
  'JOB_TAMPERED',
  'OPERATOR_UNKNOWN',
  'OPERATOR_PARAMS_INVALID',
  'OPERATOR_INPUT_INVALID',
]);

/** Whether a failure with this code may succeed on another attempt. */
export function isRetryableCode(code: string): boolean {
  return !PERMANENT_CODES.has(code);
}

export class DagctlError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DagctlError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isDagctlError(e: unknown, code?: ErrorCode): e is DagctlError {
  return e instanceof DagctlError && (code === undefined || e.code === code);
}

/** Best-effort message of an unknown thrown value, for logs and task error fields. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Error code of an unknown thrown value; INTERNAL when it is not a DagctlError. */
export function errorCode(e: unknown): ErrorCode {
  return e instanceof DagctlError ? e.code : 'INTERNAL';
}
