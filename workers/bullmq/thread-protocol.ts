/**
 * Messages between the `dagctl worker` thread pool and its threads (structured-clone data).
 */
import type { InstanceResult } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';

export type ToPoolThread =
  | { type: 'run'; job: InstanceJob; worker: string; record?: RunRecord }
  | { type: 'abort'; instanceId: string; attempt: number };

export type FromPoolThread =
  | { type: 'done'; instanceId: string; attempt: number; result: InstanceResult }
  | { type: 'error'; instanceId: string; attempt: number; code: string; message: string; retryable: boolean };
