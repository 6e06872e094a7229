/**
 * Messages between the thread pool (pool.ts, main thread) and its worker threads (thread.ts).
 * Structured-clone data. A thread may hold several jobs (prefetch): it runs them one at a time, in
 * order, and says `started` when each one begins, so timeouts count from the real start.
 */
import type { InstanceResult } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';

export type ToThread =
  // The record travels as its JSON text, once per run per thread: a string is copied, not walked
  // (structured-cloning a 10,000-instance record object cost ~50 ms of the sender's event loop).
  | { type: 'run'; job: InstanceJob; recordJson?: string }
  | { type: 'abort'; instanceId: string; attempt: number }
  // A run's record before its first job here: the thread keeps it and imports the run's operator
  // modules now (its code bundle), answering `loaded` when done (or failed: the first job that
  // needs the module then reports the failure).
  | { type: 'load'; recordJson: string };

export type FromThread =
  | { type: 'ready' }
  | { type: 'loaded'; runId: string }
  | { type: 'started'; instanceId: string; attempt: number }
  | { type: 'done'; instanceId: string; attempt: number; result: InstanceResult }
  | { type: 'error'; instanceId: string; attempt: number; code: string; message: string; retryable: boolean; log?: string };

/** Worker-thread data: the name results carry is `${workerPrefix}${threadId}`. */
export interface ThreadData {
  workerPrefix: string;
  /** Collect between instances past this many MB of ArrayBuffer growth (collect.ts; 0: never). */
  collectMb?: number;
}

/** Run records a thread keeps (the latest ones); the pool mirrors it to know what to resend. */
export const RECORDS_KEPT = 8;
