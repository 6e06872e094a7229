/**
 * A trivial instance (its operator's `inline(params)` says so: operators/types.ts) runs on the
 * calling event loop, without the worker-thread hop: the embedded executor and `dagctl worker`
 * both use this. Inline operators honour their signal, so a timeout is an abort (TASK_TIMEOUT,
 * retryable); an aborted signal ends it TASK_CANCELLED. Never rejects: failures are Outcomes.
 */
import { errorCode, errorMessage } from '../../core/errors.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { attemptLogOf, isRetryable, runInstance } from '../task-runner.js';
import type { Outcome } from './pool.js';

/** Runs `job` inline; aborting `signal` cancels it. */
export async function runOnEventLoop(record: RunRecord, job: InstanceJob, signal: AbortSignal, worker: string): Promise<Outcome> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) ac.abort();
  try {
    return await runInlineWith(record, job, ac, worker);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Runs `job` inline under the caller's own controller (aborting it cancels; the timeout aborts it). */
export async function runInlineWith(record: RunRecord, job: InstanceJob, ac: AbortController, worker: string): Promise<Outcome> {
  // Inline operators honour their signal (they are declared trivial), so a timeout is an abort.
  // A plain controller and timer, not AbortSignal.timeout + any: those cost ~4× as much per
  // instance and leave a 'timeout' timer and weak references behind for the GC, which showed up
  // in worker profiles of 10,000 no-op instances.
  let timedOut = false;
  const timer =
    job.timeoutMs > 0 && Number.isFinite(job.timeoutMs)
      ? setTimeout(() => {
          timedOut = true;
          ac.abort();
        }, job.timeoutMs)
      : null;
  try {
    return { ok: true, result: await runInstance(record, job, { signal: ac.signal, worker }) };
  } catch (e) {
    if (timedOut) return { ok: false, code: 'TASK_TIMEOUT', message: `timed out after ${job.timeoutMs} ms`, retryable: true };
    const log = attemptLogOf(e);
    return { ok: false, code: ac.signal.aborted && errorCode(e) === 'INTERNAL' ? 'TASK_CANCELLED' : errorCode(e), message: errorMessage(e), retryable: isRetryable(e), ...(log === undefined ? {} : { log }) };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
