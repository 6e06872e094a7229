/**
 * Worker-thread entry of the embedded executor: runs its queue of instance attempts one at a time
 * with the task runner and reports started/done/error to the pool. The run record arrives once per
 * run and is cached; a run with operator modules sends it at the thread's start (`load`) so the
 * thread imports the run's code bundle before its first job, as it imported the built-ins. An `abort` aborts the running attempt's signal (a CPU-bound operator that
 * ignores it is terminated by the pool after a grace period) or drops a queued one.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { ensureBundle } from '../../operators/modules/load.js';
import { isRetryable, runInstance } from '../task-runner.js';
import type { FromThread, ToThread } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts must run in a worker thread');
const records = new Map<string, RunRecord>();
const queue: InstanceJob[] = [];
let current: { id: string; attempt: number; ac: AbortController } | null = null;
const post = (m: FromThread): void => port.postMessage(m);

port.on('message', (msg: ToThread) => {
  if (msg.type === 'load') {
    records.set(msg.record.runId, msg.record);
    const bundle = msg.record.bundle;
    const loading = bundle === undefined ? Promise.resolve() : ensureBundle(bundle, msg.record.dag.modules ?? {});
    // A failure is not lost: the first job needing the module gets it from ensureBundle again.
    void loading.catch(() => undefined).then(() => post({ type: 'loaded' }));
    return;
  }
  if (msg.type === 'abort') {
    if (current !== null && current.id === msg.instanceId && current.attempt === msg.attempt) {
      current.ac.abort();
      return;
    }
    const i = queue.findIndex((j) => j.instanceId === msg.instanceId && j.attempt === msg.attempt);
    if (i >= 0) {
      queue.splice(i, 1);
      post({ type: 'error', instanceId: msg.instanceId, attempt: msg.attempt, code: 'TASK_CANCELLED', message: 'cancelled before it started', retryable: false });
    }
    return;
  }
  if (msg.record !== undefined) records.set(msg.record.runId, msg.record);
  queue.push(msg.job);
  if (current === null) void next();
});

async function next(): Promise<void> {
  while (queue.length > 0) {
    const job = queue.shift() as InstanceJob;
    const ac = new AbortController();
    current = { id: job.instanceId, attempt: job.attempt, ac };
    post({ type: 'started', instanceId: job.instanceId, attempt: job.attempt });
    const record = records.get(job.runId);
    try {
      if (record === undefined) throw new Error('run record not sent to thread');
      const result = await runInstance(record, job, { signal: ac.signal, worker: `embedded-${threadId}` });
      post({ type: 'done', instanceId: job.instanceId, attempt: job.attempt, result });
    } catch (e) {
      const code = ac.signal.aborted && errorCode(e) === 'INTERNAL' ? 'TASK_CANCELLED' : errorCode(e);
      post({ type: 'error', instanceId: job.instanceId, attempt: job.attempt, code, message: errorMessage(e), retryable: isRetryable(e) });
    }
    current = null;
  }
}

post({ type: 'ready' });
