/**
 * Worker-thread entry of the `dagctl worker` thread pool (thread-pool.ts): runs one attempt at a
 * time with the task runner and answers `done` or `error`. Records arrive once per run (as JSON
 * text, parsed here, off the worker's event loop) and are cached (a few runs at most). Posts
 * `ready` once its modules are loaded: the pool waits for that before the worker takes jobs. `abort` aborts the current attempt's signal; an operator that
 * ignores it is terminated by the pool.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { isRetryable, runInstance } from '../task-runner.js';
import type { FromPoolThread, ToPoolThread } from './thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts must run in a worker thread');
const records = new Map<string, RunRecord>();
let current: { id: string; attempt: number; ac: AbortController } | null = null;
const post = (m: FromPoolThread): void => port.postMessage(m);

port.on('message', (msg: ToPoolThread) => {
  if (msg.type === 'abort') {
    if (current !== null && current.id === msg.instanceId && current.attempt === msg.attempt) current.ac.abort();
    return;
  }
  if (msg.recordJson !== undefined) {
    const record = JSON.parse(msg.recordJson) as RunRecord;
    records.set(record.runId, record);
    if (records.size > 8) records.delete(records.keys().next().value as string);
  }
  const { job, worker } = msg;
  const record = records.get(job.runId);
  if (record === undefined) {
    post({ type: 'error', instanceId: job.instanceId, attempt: job.attempt, code: 'INTERNAL', message: 'run record not sent to thread', retryable: true });
    return;
  }
  const ac = new AbortController();
  current = { id: job.instanceId, attempt: job.attempt, ac };
  runInstance(record, job, { signal: ac.signal, worker: `${worker}/t${threadId}` }).then(
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

// Static imports above are loaded: this thread can take attempts without a cold start.
post({ type: 'ready' });
