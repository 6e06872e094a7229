/**
 * Worker-thread entry of the thread pool (pool.ts): runs its queue of instance attempts one at a
 * time with the task runner and reports started/done/error. A run's record arrives once (as JSON
 * text, parsed here, off the sender's event loop) and the latest RECORDS_KEPT are cached. An
 * `abort` aborts the running attempt's signal (a CPU-bound operator that ignores it is terminated
 * by the pool after a grace period) or drops a queued one. Posts `ready` once its modules are
 * loaded. A `load` (pool.preload) delivers a run's record ahead of its jobs and imports the run's
 * operator modules from its code bundle at once, then posts `loaded`. Between two instances it
 * may run a full collection (collect.ts, `collectMb` in its worker data).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { loadRunBundle } from '../../operators/modules/bundle-store.js';
import { attemptLogOf, isRetryable, runInstance } from '../task-runner.js';
import { RECORDS_KEPT, type FromThread, type ThreadData, type ToThread } from './protocol.js';
import { betweenInstances } from './collect.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts must run in a worker thread');
const workerName = `${(workerData as ThreadData).workerPrefix}${threadId}`;
const collector = betweenInstances((workerData as ThreadData).collectMb ?? 0);
const records = new Map<string, RunRecord>();
const queue: InstanceJob[] = [];
let current: { id: string; attempt: number; ac: AbortController } | null = null;
const post = (m: FromThread): void => port.postMessage(m);

port.on('message', (msg: ToThread) => {
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
  if (msg.type === 'load') {
    const record = remember(msg.recordJson);
    // A failure is not lost: the first job needing the module gets it from loadRunBundle again.
    void loadRunBundle(record)
      .catch(() => undefined)
      .then(() => post({ type: 'loaded', runId: record.runId }));
    return;
  }
  if (msg.recordJson !== undefined) remember(msg.recordJson);
  queue.push(msg.job);
  if (current === null) void next();
});

/** Caches a run's record (the latest RECORDS_KEPT, as the pool mirrors). */
function remember(json: string): RunRecord {
  const record = JSON.parse(json) as RunRecord;
  records.delete(record.runId);
  records.set(record.runId, record);
  if (records.size > RECORDS_KEPT) records.delete(records.keys().next().value as string);
  return record;
}

async function next(): Promise<void> {
  while (queue.length > 0) {
    const job = queue.shift() as InstanceJob;
    const ac = new AbortController();
    current = { id: job.instanceId, attempt: job.attempt, ac };
    post({ type: 'started', instanceId: job.instanceId, attempt: job.attempt });
    const record = records.get(job.runId);
    try {
      if (record === undefined) throw new Error('run record not sent to thread');
      const result = await runInstance(record, job, { signal: ac.signal, worker: workerName });
      post({ type: 'done', instanceId: job.instanceId, attempt: job.attempt, result });
    } catch (e) {
      const code = ac.signal.aborted && errorCode(e) === 'INTERNAL' ? 'TASK_CANCELLED' : errorCode(e);
      const log = attemptLogOf(e);
      post({ type: 'error', instanceId: job.instanceId, attempt: job.attempt, code, message: errorMessage(e), retryable: isRetryable(e), ...(log === undefined ? {} : { log }) });
    }
    current = null;
    // Nothing of the ended instance is live now: free its promoted buffers before the next one (collect.ts).
    collector.after();
  }
}

// Static imports above are loaded: this thread can take attempts without a cold start.
post({ type: 'ready' });
