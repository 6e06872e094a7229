/**
 * Messages between the embedded pool (main thread) and its worker threads. Structured-clone data.
 * A thread may hold several jobs (prefetch): it runs them one at a time, in order, and says
 * `started` when each one begins, so timeouts count from the real start.
 */
import type { InstanceResult } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';

export type ToThread =
  | { type: 'run'; job: InstanceJob; record?: RunRecord }
  | { type: 'abort'; instanceId: string; attempt: number }
  /** Load the run's operator modules now (a run with a code bundle), before its first job. */
  | { type: 'load'; record: RunRecord };

export type FromThread =
  | { type: 'ready' }
  /** The `load` finished (its failures are reported by the jobs that need the modules). */
  | { type: 'loaded' }
  | { type: 'started'; instanceId: string; attempt: number }
  | { type: 'done'; instanceId: string; attempt: number; result: InstanceResult }
  | { type: 'error'; instanceId: string; attempt: number; code: string; message: string; retryable: boolean };
