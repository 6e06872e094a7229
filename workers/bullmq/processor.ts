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
 *   3. run it on the thread pool (a run with operator modules is preloaded on every thread first:
 *      ThreadPool.preload); the worker's CancelWatch aborts it if the run is cancelled;
 *   4. report `succeeded`/`failed` (batched too); the batcher dispatches the effects (dispatch →
 *      jobs, wake → tick timer) before the report resolves.
 * At shutdown past the grace period an in-flight attempt is handed back: its job goes back to the
 * wait list (moveToWait + WaitingError) without a report, and another worker reruns the attempt.
 *
 * A bundle job (queues.ts BundleJob) holds one concurrency slot and runs its members in order,
 * each with its own attempt, timeout, events and retry: their `started` events go in one apply
 * call, each member is reported as soon as it ends (reports of a bundle batch together), and one
 * member failing affects only that member. A redelivered bundle (kill -9, hand-back) finds the
 * members already reported stale and runs only what is left; after a hand-back nothing more of
 * the bundle starts. The job completes once every member's report is applied.
 */
import { WaitingError, type Job } from 'bullmq';
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { CostSample } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import { isBundle, membersOf, type WorkJob } from './queues.js';
import type { RunContext } from './dispatcher.js';
import type { CancelWatch } from './cancel-watch.js';
import type { Dispatcher } from './dispatcher.js';
import type { EventBatcher } from './event-batcher.js';
import type { Logger } from './log.js';
import type { WorkerMetrics } from './metrics.js';
import type { Outcome, ThreadPool } from '../threads/pool.js';
import { runsInline } from '../task-runner.js';
import { runOnEventLoop } from '../threads/inline.js';
import { costSampleOf } from '../../scheduler/cost-sample.js';
import { jobKeyFromEnv, macOk } from './job-auth.js';

export interface InFlight {
  job: Job<WorkJob>;
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
  /** Verifies job payloads and run records (job-auth.ts); default DAGCTL_JOB_KEY. */
  jobKey?: Buffer | null;
}

export type JobOutcome = 'stale' | 'cancelled' | 'succeeded' | 'failed';

/** Returns one outcome per member (a single job: one). */
export function makeProcessor(d: ProcessorDeps): (job: Job<WorkJob>, token?: string) => Promise<JobOutcome[]> {
  const now = d.now ?? Date.now;
  const key = d.jobKey === undefined ? jobKeyFromEnv() : d.jobKey;
  return async (job, token) => {
    const data = job.data;
    const members = membersOf(data);
    const runId = data.runId;
    const first = members[0];
    const jobKey = job.id ?? `${runId}.${first?.instanceId ?? ''}.a${first?.attempt ?? 0}`;
    const entry: InFlight = { job, token, ac: new AbortController(), handBack: false };
    d.inFlight.set(jobKey, entry);
    d.metrics.jobs++;
    if (isBundle(data)) d.metrics.bundles++;
    let unwatch: (() => void) | null = null;
    const outcomes: JobOutcome[] = members.map(() => 'stale');
    const reports: Array<Promise<void>> = [];
    try {
      // `started` of every member (ignored unless the attempt is queued) and the checks: one batch.
      const views = await Promise.all(members.map((m) => d.batcher.submit(runId, { type: 'started', id: m.instanceId, attempt: m.attempt, at: now(), worker: d.worker }, m.instanceId)));
      const runnable: number[] = [];
      members.forEach((m, i) => {
        const view = views[i];
        const s = view?.status ?? null;
        const finished = view === undefined || view.phase === 'succeeded' || view.phase === 'failed' || view.phase === 'cancelled';
        if (finished || s === null || s.attempts !== m.attempt || s.state !== 'running') {
          d.metrics.stale++;
          d.log.log('debug', 'stale job skipped', { runId, instance: m.instanceId, attempt: m.attempt, state: s?.state, attempts: s?.attempts });
        } else if (view.cancelRequested) {
          outcomes[i] = 'cancelled';
          reports.push(cancelled(runId, m, 'run cancelled before the attempt started'));
        } else {
          if (s.worker !== d.worker) d.log.log('info', 'redelivered attempt: running it again', { runId, instance: m.instanceId, attempt: m.attempt, previousWorker: s.worker });
          runnable.push(i);
        }
      });
      if (runnable.length > 0) {
        const ctx = await d.dispatcher.run(runId);
        // A payload or run record that does not carry its MAC was not written by a key holder:
        // refuse it (never retried), saying why, rather than read or write where it says.
        const forged = !macOk(key, data) ? 'job payload' : !macOk(key, ctx.record) ? 'run record' : null;
        if (forged !== null) {
          d.log.log('error', `refused: the ${forged} does not match its MAC (edited in Redis?)`, { runId, job: jobKey, members: members.length });
          for (const i of runnable) {
            const m = members[i] as InstanceJob;
            outcomes[i] = finish(ctx, m, { ok: false, code: 'JOB_TAMPERED', message: `the ${forged} does not match its MAC (DAGCTL_JOB_KEY): refused`, retryable: false }, 0, reports);
          }
          runnable.length = 0;
        }
        // Every thread imports the run's operator modules now, not on its first job of the run.
        if (runnable.length > 0 && Object.keys(ctx.record.dag.modules ?? {}).length > 0) d.pool.preload(runId, ctx.recordJson);
        unwatch = d.cancelWatch.add(runId, entry.ac);
        for (const i of runnable) {
          const m = members[i] as InstanceJob;
          if (entry.handBack) break;
          if (entry.ac.signal.aborted) {
            // The run was cancelled while earlier members ran: do not start this one.
            outcomes[i] = 'cancelled';
            reports.push(cancelled(runId, m, 'run cancelled before the attempt started'));
            continue;
          }
          const t0 = performance.now();
          const outcome = runsInline(ctx.record, m.instanceId) ? await runOnEventLoop(ctx.record, m, entry.ac.signal, d.worker) : await d.pool.run(ctx.recordJson, m, entry.ac.signal);
          if (entry.handBack) break;
          outcomes[i] = finish(ctx, m, outcome, performance.now() - t0, reports);
        }
      }
      if (entry.handBack) {
        // Shutdown past the grace period: give the job back; members reported so far are stale on redelivery.
        await settleAll(reports);
        d.metrics.handedBack++;
        d.log.log('info', 'attempt handed back', { runId, job: jobKey, members: members.length });
        await job.moveToWait(token);
        throw new WaitingError();
      }
      await settleAll(reports);
      return outcomes;
    } finally {
      unwatch?.();
      d.inFlight.delete(jobKey);
    }
  };

  /** Reports one member's outcome (not awaited here: a bundle's reports batch together). */
  function finish(ctx: RunContext, m: InstanceJob, outcome: Outcome, ms: number, reports: Array<Promise<void>>): JobOutcome {
    const { runId, instanceId: id, attempt } = m;
    if (outcome.ok) {
      const result = { ...outcome.result, worker: d.worker };
      reports.push(report(runId, { type: 'succeeded', id, attempt, at: now(), result }));
      d.metrics.observe(ms, true);
      if (!result.memoized) {
        const p = ctx.resolver.instance(id);
        d.samples.push(costSampleOf(ctx.record.dag.name, p, result, now()));
      }
      d.log.log('info', 'instance succeeded', { runId, instance: id, attempt, ms: Math.round(ms), memoized: result.memoized });
      return 'succeeded';
    }
    reports.push(report(runId, { type: 'failed', id, attempt, at: now(), error: outcome.message, code: outcome.code, retryable: outcome.retryable, ...(outcome.log === undefined ? {} : { log: outcome.log }) }));
    d.metrics.observe(ms, false);
    d.log.log('warn', 'instance failed', { runId, instance: id, attempt, code: outcome.code, error: outcome.message });
    return outcome.code === 'TASK_CANCELLED' ? 'cancelled' : 'failed';
  }

  function cancelled(runId: string, m: InstanceJob, error: string): Promise<void> {
    return report(runId, { type: 'failed', id: m.instanceId, attempt: m.attempt, at: now(), error, code: 'TASK_CANCELLED', retryable: false });
  }

  function report(runId: string, e: RunEvent): Promise<void> {
    const p = d.batcher.submit(runId, e).then(() => undefined);
    // Handled now (a bundle awaits its reports only after its last member): settleAll rethrows.
    p.catch(() => {});
    return p;
  }
}

/** Waits for every report; rethrows the first failure (the job then fails and the sweeper re-adds its members). */
async function settleAll(reports: ReadonlyArray<Promise<void>>): Promise<void> {
  const r = await Promise.allSettled(reports);
  const bad = r.find((x) => x.status === 'rejected');
  if (bad !== undefined) throw bad.reason;
}
