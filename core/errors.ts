/**
 * Typed errors with stable string codes.
 *
 * Every error dagctl raises on purpose is a DagctlError whose `code` is one of ErrorCode. Tests and
 * callers branch on the code, never on message text. `details` carries machine-readable context
 * (file, path, offending value) for `--json` output.
 */

/**
 * Every code, with what the run engine does with a failed attempt that carries it: 'permanent' —
 * another attempt cannot change the outcome (bad input, a broken contract, a refused write, a
 * cancelled task), never retried whatever the task's `retries`; 'retried' — everything else (I/O,
 * timeouts, crashed workers, INTERNAL). The Redis run store's Lua twin of the reducer gets
 * PERMANENT_CODES as an argument (scheduler/redis/redis-run-store.ts), so this is the one list.
 */
const CODES = {
  // DAG files (validation issues use their own codes, see definitions/issues.ts)
  DAG_INVALID: 'permanent',
  DAG_READ_FAILED: 'retried',
  PARAM_INVALID: 'permanent',
  // planning / cost model
  PLAN_FAILED: 'retried',
  COST_INVALID: 'retried',
  CALIBRATION_FAILED: 'retried',
  // run engine
  RUN_NOT_FOUND: 'retried',
  RUN_STATE_INVALID: 'retried',
  TRIGGER_LATE_COMMIT: 'permanent',
  TRIGGER_RESET_REFUSED: 'permanent',
  RUN_LOCKED: 'retried',
  TASK_NOT_FOUND: 'permanent',
  TASK_TIMEOUT: 'retried',
  TASK_CANCELLED: 'permanent',
  TASK_FAILED: 'retried',
  WORKER_CRASHED: 'retried',
  WORKER_OUT_OF_MEMORY: 'retried',
  // storage
  STORAGE_NOT_FOUND: 'retried',
  STORAGE_CONFLICT: 'retried',
  STORAGE_PRECONDITION_FAILED: 'retried',
  STORAGE_IO: 'retried',
  STORAGE_URI_INVALID: 'permanent',
  STORAGE_LOCK_TIMEOUT: 'retried',
  DATASET_NOT_FOUND: 'retried',
  DATASET_SCHEMA_MISMATCH: 'permanent',
  PARQUET_INVALID: 'permanent',
  PARQUET_INVALID_UTF8: 'permanent',
  SHUFFLE_INVALID: 'permanent',
  SOURCE_WRITE_REFUSED: 'permanent',
  REJECTS_EXCEEDED: 'permanent',
  // publication safety (views)
  INPUT_EMPTY: 'permanent',
  VIEW_SHRINK: 'permanent',
  DATASET_PRODUCER_CONFLICT: 'permanent',
  VERSION_NOT_FOUND: 'permanent',
  VERSION_VACUUMED: 'permanent',
  DELTA_LOG_INVALID: 'permanent',
  SCHEMA_MIGRATION_REQUIRED: 'permanent',
  // operators
  OPERATOR_UNKNOWN: 'permanent',
  OPERATOR_PARAMS_INVALID: 'permanent',
  OPERATOR_INPUT_INVALID: 'permanent',
  // operator modules (operators a DAG file declares) and their code bundles
  OPERATOR_INVALID: 'retried',
  OPERATOR_MODULE_FAILED: 'retried',
  OPERATOR_FAILED: 'retried',
  BUNDLE_INVALID: 'permanent',
  BUNDLE_NOT_FOUND: 'permanent',
  // distributed
  REDIS_UNAVAILABLE: 'retried',
  REDIS_AUTH_FAILED: 'retried',
  REDIS_TLS_UNTRUSTED: 'retried',
  QUEUE_FAILED: 'retried',
  JOB_TAMPERED: 'permanent',
  // ingest (Kafka → master dataset)
  KAFKA_UNAVAILABLE: 'retried',
  KAFKA_TOPIC_NOT_FOUND: 'retried',
  INGEST_CONFLICT: 'retried',
  INGEST_OFFSET_GAP: 'retried',
  // serving (query / serve: bad queries are input errors, exit 2 / HTTP 4xx)
  QUERY_INVALID: 'retried',
  QUERY_VIEW_UNKNOWN: 'retried',
  QUERY_KEY_UNKNOWN: 'retried',
  QUERY_RANGE_INVALID: 'retried',
  QUERY_RANGE_OUTSIDE_DATA: 'retried',
  QUERY_VIEW_STALE: 'retried',
  KEY_INDEX_INVALID: 'permanent',
  VIEW_INVALID: 'permanent',
  SPEED_OFFSET_CONFLICT: 'retried',
  // web UI (dagctl ui)
  UI_UNAUTHORIZED: 'retried',
  UI_FORBIDDEN: 'retried',
  UI_READ_ONLY: 'retried',
  RUN_ACTION_UNSUPPORTED: 'retried',
  // scheduling
  SCHEDULER_LOCKED: 'retried',
  // cli
  USAGE: 'retried',
  INTERRUPTED: 'retried',
  INTERNAL: 'retried',
} as const satisfies Record<string, 'permanent' | 'retried'>;

export type ErrorCode = keyof typeof CODES;

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(CODES) as ErrorCode[];

/** Codes of failures that another attempt cannot change (see CODES). */
export const PERMANENT_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES.filter((c) => CODES[c] === 'permanent'));

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
