/**
 * The TaskExecutor port: runs dispatched instance attempts and reports what happened as run
 * events. Implementations: workers/embedded (worker_threads pool, the default) and the BullMQ
 * queue in distributed runs (where `dagctl worker` processes report to Redis directly).
 */
import type { RunEvent } from './engine/events.js';
import type { InstanceJob } from './jobs.js';

export interface TaskExecutor {
  /** Starts the attempts; each reports `started`, then `succeeded` or `failed`, via onEvent. */
  dispatch(jobs: InstanceJob[]): void;
  /** Asks running attempts to stop; they report `failed` with code TASK_CANCELLED. */
  abort(instanceIds: string[]): void;
  close(): Promise<void>;
}

export type EventSink = (event: RunEvent) => void;
