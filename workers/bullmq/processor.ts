/**
 * The BullMQ processor of `dagctl worker`: runs one attempt of one task instance from its job and
 * reports it to the run through RedisRunStore, then enqueues what became ready.
 *
 *   1. apply `started` and read back the run phase, cancel flag and the instance status in the
 *      same atomic step (batched with the worker's other jobs' events: event-batcher.ts). The job
 *      is stale — done, its work skipped — when the run finished or the status is not running
 *      with this attempt (a duplicate job, an attempt superseded by a retry or a reset). A
 *      redelivered job (its worker was killed) finds the attempt already running and runs it
 *      again: the staged commit makes the rerun safe, and the reducer accepts its report because
 *      the attempt number is the same;
 *   2. a run with a cancel requested: report the attempt cancelled without running it;
 *   3. run it on the thread pool; the worker's CancelWatch aborts it if the run is cancelled;
 *   4. report `succeeded`/`failed` (batched too); the batcher dispatches the effects (dispatch →
 *      jobs, wake → tick timer) before the report resolves.
 * At shutdown past the grace period an in-flight attempt is handed back: its job goes back to the
 * wait list (moveToWait + WaitingError) without a report, and another worker reruns the attempt.
 */
import { WaitingError, type Job } from 'bullmq';
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { CostSample } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { CancelWatch } from './cancel-watch.js';
import type { Dispatcher } from './dispatcher.js';
import type { EventBatcher } from './event-batcher.js';
import type { Logger } from './log.js';
import type { WorkerMetrics } from './metrics.js';
import type { Outcome, ThreadPool } from './thread-pool.js';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { isRetryable, runInstance, runsInline } from '../task-runner.js';

export interface InFlight {
  job: Job<InstanceJob>;
  token: string | undefined;
  ac: AbortController;
  handBack: boolean;
}

export interface ProcessorDeps {
  batcher: EventBatcher;
  dispatcher: Dispatcher;
  pool: ThreadPool;
  cancelWatch: CancelWatch;
  metrics: WorkerMetrics;
  log: Logger;
  worker: string;
  inFlight: Map<string, InFlight>;
  /** Cost samples, flushed to the run history in batches by the worker (not one write per instance). */
  samples: CostSample[];
  now?: () => number;
}

export type JobOutcome = 'stale' | 'cancelled' | 'succeeded' | 'failed';

export function makeProcessor(d: ProcessorDeps): (job: Job<InstanceJob>, token?: string) => Promise<JobOutcome> {
  const now = d.now ?? Date.now;
  return async (job, token) => {
    const data = job.data;
    const { runId, instanceId: id, attempt } = data;
    const key = job.id ?? `${runId}.${id}.a${attempt}`;
    const entry: InFlight = { job, token, ac: new AbortController(), handBack: false };
    d.inFlight.set(key, entry);
    let unwatch: (() => void) | null = null;
    try {
      // `started` (ignored unless the attempt is queued) and the checks, in one atomic round trip.
      const view = await d.batcher.submit(runId, { type: 'started', id, attempt, at: now(), worker: d.worker }, id);
      const s = view.status;
      const finished = view.phase === 'succeeded' || view.phase === 'failed' || view.phase === 'cancelled';
      if (finished || s === null || s.attempts !== attempt || s.state !== 'running') {
        d.metrics.stale++;
        d.log.log('debug', 'stale job skipped', { runId, instance: id, attempt, state: s?.state, attempts: s?.attempts });
        return 'stale';
      }
      if (view.cancelRequested) {
        await report(runId, { type: 'failed', id, attempt, at: now(), error: 'run cancelled before the attempt started', code: 'TASK_CANCELLED', retryable: false });
        return 'cancelled';
      }
      if (s.worker !== d.worker) d.log.log('info', 'redelivered attempt: running it again', { runId, instance: id, attempt, previousWorker: s.worker });

      const ctx = await d.dispatcher.run(runId);
      unwatch = d.cancelWatch.add(runId, entry.ac);
      const t0 = performance.now();
      const outcome = runsInline(ctx.record, id) ? await runOnEventLoop(ctx.record, data, entry.ac.signal, d.worker) : await d.pool.run(ctx.recordJson, data, entry.ac.signal);
      const ms = performance.now() - t0;
      if (entry.handBack) {
        // Shutdown past the grace period: give the attempt back, unreported.
        d.metrics.handedBack++;
        d.log.log('info', 'attempt handed back', { runId, instance: id, attempt });
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (outcome.ok) {
        const result = { ...outcome.result, worker: d.worker };
        await report(runId, { type: 'succeeded', id, attempt, at: now(), result });
        d.metrics.observe(ms, true);
        if (!result.memoized) {
          const p = ctx.resolver.instance(id);
          d.samples.push({ operator: p.operator, stage: p.stage, inputBytes: result.inputBytes, inputRows: result.inputRows, durationMs: result.durationMs, setupMs: result.setupMs, at: now() });
        }
        d.log.log('info', 'instance succeeded', { runId, instance: id, attempt, ms: Math.round(ms), memoized: result.memoized });
        return 'succeeded';
      }
      await report(runId, { type: 'failed', id, attempt, at: now(), error: outcome.message, code: outcome.code, retryable: outcome.retryable });
      d.metrics.observe(ms, false);
      d.log.log('warn', 'instance failed', { runId, instance: id, attempt, code: outcome.code, error: outcome.message });
      return outcome.code === 'TASK_CANCELLED' ? 'cancelled' : 'failed';
    } finally {
      unwatch?.();
      d.inFlight.delete(key);
    }
  };

  async function report(runId: string, e: RunEvent): Promise<void> {
    await d.batcher.submit(runId, e);
  }
}

/** A trivial instance (operators/types.ts `inline`) runs here, without the worker-thread hop. */
async function runOnEventLoop(record: RunRecord, job: InstanceJob, signal: AbortSignal, worker: string): Promise<Outcome> {
  // Inline operators honour their signal (they are declared trivial), so a timeout is an abort.
  const timeout = job.timeoutMs > 0 && Number.isFinite(job.timeoutMs) ? AbortSignal.timeout(job.timeoutMs) : null;
  const combined = timeout === null ? signal : AbortSignal.any([signal, timeout]);
  try {
    return { ok: true, result: await runInstance(record, job, { signal: combined, worker }) };
  } catch (e) {
    if (timeout?.aborted === true) return { ok: false, code: 'TASK_TIMEOUT', message: `timed out after ${job.timeoutMs} ms`, retryable: true };
    return { ok: false, code: combined.aborted && errorCode(e) === 'INTERNAL' ? 'TASK_CANCELLED' : errorCode(e), message: errorMessage(e), retryable: isRetryable(e) };
  }
}
