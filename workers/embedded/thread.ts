/**
 * Worker-thread entry of the embedded executor: runs one instance attempt at a time with the task
 * runner and reports started/done/error to the pool. The run record arrives once per run and is
 * cached. An `abort` message aborts the attempt's signal; a CPU-bound operator that ignores it is
 * terminated by the pool after a grace period.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { isRetryable, runInstance } from '../task-runner.js';
import type { FromThread, ToThread } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts must run in a worker thread');
const records = new Map<string, RunRecord>();
let current: { id: string; attempt: number; ac: AbortController } | null = null;
const post = (m: FromThread): void => port.postMessage(m);

port.on('message', (msg: ToThread) => {
  if (msg.type === 'abort') {
    if (current !== null && current.id === msg.instanceId && current.attempt === msg.attempt) current.ac.abort();
    return;
  }
  if (msg.record !== undefined) records.set(msg.record.runId, msg.record);
  const job = msg.job;
  const record = records.get(job.runId);
  const ac = new AbortController();
  current = { id: job.instanceId, attempt: job.attempt, ac };
  post({ type: 'started', instanceId: job.instanceId, attempt: job.attempt });
  if (record === undefined) {
    post({ type: 'error', instanceId: job.instanceId, attempt: job.attempt, code: 'INTERNAL', message: 'run record not sent to thread', retryable: true });
    current = null;
    return;
  }
  runInstance(record, job, { signal: ac.signal, worker: `embedded-${threadId}` }).then(
    (result) => {
      current = null;
      post({ type: 'done', instanceId: job.instanceId, attempt: job.attempt, result });
    },
    (e: unknown) => {
      current = null;
      const code = ac.signal.aborted && errorCode(e) === 'INTERNAL' ? 'TASK_CANCELLED' : errorCode(e);
      post({ type: 'error', instanceId: job.instanceId, attempt: job.attempt, code, message: errorMessage(e), retryable: isRetryable(e) });
    },
  );
});
