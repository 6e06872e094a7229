/**
 * Messages between the `dagctl worker` thread pool and its threads (structured-clone data).
 */
import type { InstanceResult } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';

export type ToPoolThread =
  // The record travels as its JSON text, once per run per thread: a string is copied, not walked
  // (structured-cloning a 10,000-instance record object cost ~50 ms of the worker's event loop).
  | { type: 'run'; job: InstanceJob; worker: string; recordJson?: string }
  | { type: 'abort'; instanceId: string; attempt: number };

export type FromPoolThread =
  | { type: 'ready' }
  | { type: 'done'; instanceId: string; attempt: number; result: InstanceResult }
  | { type: 'error'; instanceId: string; attempt: number; code: string; message: string; retryable: boolean };
