/**
 * Sweeper: the safety net that makes "apply, then enqueue" crash-safe. Runs in every worker and in
 * a following `dagctl run`, every few seconds; per run, one process per interval does the work (a
 * short lease in Redis). For each unfinished run it:
 *   - fires `tick` when instances wait out a retry backoff (the process that scheduled the wake
 *     may have died) and enqueues what it releases;
 *   - checks every queued/running instance that was queued more than `graceMs` ago against
 *     BullMQ: when its attempt's job is missing (a crash between apply and enqueue) or finished
 *     without reporting (its report was lost), the job is (re)added. Deterministic job ids make
 *     this idempotent; a duplicate that slips through finds its attempt finished and does nothing.
 *   - for a run with a cancel requested, finishes queued instances whose job is still waiting:
 *     the job is removed and the attempt reported cancelled, so a cancel completes even with no
 *     worker running.
 * Bundles: an instance whose current dispatch rides in a bundle job (the run's `bundles` hash,
 * written before the bundle is added; the entry must name the same attempt and queuedAt) is
 * checked against that bundle job, not its own id — a live bundle keeps all its members, and a
 * missing or finished one (a crash between recording and adding, a worker that failed it) has
 * its still-active members re-added as single jobs (their entries dropped first).
 */
import { DagctlError } from '../../core/errors.js';
import { jobId } from '../../scheduler/redis/keys.js';
import type { Status } from '../../scheduler/redis/redis-run-store.js';
import type { Dispatcher } from './dispatcher.js';

export interface SweeperOptions {
  intervalMs?: number;
  /** Leave instances queued less than this long alone: their enqueue may be in flight. */
  graceMs?: number;
  owner: string;
  now?: () => number;
  onError?: (e: unknown) => void;
  onSweep?: (runId: string, stats: SweepStats) => void;
}

export interface SweepStats {
  ticked: boolean;
  checked: number;
  requeued: number;
  cancelled: number;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly graceMs: number;
  private readonly now: () => number;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly opts: SweeperOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? 3000;
    this.graceMs = opts.graceMs ?? 2000;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.running !== null) return;
      this.running = this.sweepAll()
        .catch((e: unknown) => this.opts.onError?.(e))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async sweepAll(only?: readonly string[]): Promise<void> {
    const store = this.dispatcher.store;
    const runs = only ?? (await store.activeRuns());
    for (const runId of runs) {
      if (!(await store.takeSweepLease(runId, this.opts.owner, Math.max(500, this.intervalMs - 200)))) continue;
      try {
        const stats = await this.sweepRun(runId);
        this.opts.onSweep?.(runId, stats);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
  }

  /** One sweep of one run (no lease: callers take it). */
  async sweepRun(runId: string): Promise<SweepStats> {
    const store = this.dispatcher.store;
    const stats: SweepStats = { ticked: false, checked: 0, requeued: 0, cancelled: 0 };
    const meta = await store.meta(runId);
    if (meta === null || meta.phase === 'succeeded' || meta.phase === 'failed' || meta.phase === 'cancelled') {
      await store.forgetActive(runId);
      await store.forgetBundles(runId);
      return stats;
    }
    if (meta.phase === 'pending') return stats;
    if (await store.hasBackoff(runId)) {
      stats.ticked = true;
      await this.dispatcher.handle(runId, await store.apply(runId, [{ type: 'tick', at: this.now() }]));
    }
    const active = await store.activeInstances(runId);
    const cutoff = this.now() - this.graceMs;
    const due = [...active].filter(([, s]) => (s.queuedAt ?? 0) <= cutoff);
    if (due.length === 0) return stats;
    let ctx;
    try {
      ctx = await this.dispatcher.run(runId);
    } catch (e) {
      if (e instanceof DagctlError && e.code === 'RUN_NOT_FOUND') return stats;
      throw e;
    }
    const queues = this.dispatcher.queues;
    const entries = await store.bundleEntries(runId, due.map(([id]) => id));
    const jobs = due.map(([id, s], i) => this.jobOf(runId, id, s, entries[i] ?? null, this.dispatcher.queueOf(ctx, id)));
    // Each distinct job (a bundle is shared by its members) is checked once.
    const keyOf = (j: JobRef): string => `${j.queue}\u0000${j.jobId}`;
    const distinct = [...new Map(jobs.map((j) => [keyOf(j), j])).values()];
    const pipe = store.redis.pipeline();
    for (const j of distinct) pipe.hmget(queues.jobKey(j.queue, j.jobId), 'timestamp', 'finishedOn', 'processedOn');
    const replies = (await pipe.exec()) ?? [];
    const seen = new Map<string, { gone: boolean; processed: boolean }>();
    distinct.forEach((j, i) => {
      const [ts, finishedOn, processedOn] = (replies[i]?.[1] ?? [null, null, null]) as Array<string | null>;
      seen.set(keyOf(j), { gone: ts === null || finishedOn !== null, processed: processedOn !== null });
    });
    const lost: string[] = [];
    const cancelNow: Array<{ id: string; attempt: number; job: JobRef }> = [];
    due.forEach(([id, s], i) => {
      stats.checked++;
      const job = jobs[i] as JobRef;
      const st = seen.get(keyOf(job)) ?? { gone: true, processed: false };
      if (st.gone) lost.push(id);
      else if (meta.cancelRequested && s.state === 'queued' && !st.processed) cancelNow.push({ id, attempt: s.attempts, job });
    });
    const jobById = new Map(due.map(([id], i) => [id, jobs[i] as JobRef]));
    if (meta.cancelRequested) {
      // Lost attempts of a cancelled run are not re-run: they are reported cancelled.
      for (const id of lost) {
        const s = active.get(id);
        const job = jobById.get(id);
        if (s !== undefined && job !== undefined) cancelNow.push({ id, attempt: s.attempts, job });
      }
      const removedJobs = new Map<string, number>();
      for (const c of cancelNow) {
        let removed = removedJobs.get(keyOf(c.job));
        if (removed === undefined) {
          // remove() refuses a locked (active) job: a worker holds it and will report.
          removed = await queues
            .get(c.job.queue)
            .remove(c.job.jobId)
            .catch(() => 0);
          removedJobs.set(keyOf(c.job), removed);
        }
        if (removed === 1 || lost.includes(c.id)) {
          await store.apply(runId, [{ type: 'failed', id: c.id, attempt: c.attempt, at: this.now(), error: 'cancelled before it ran', code: 'TASK_CANCELLED', retryable: false }]);
          stats.cancelled++;
        }
      }
      return stats;
    }
    if (lost.length > 0) {
      // A finished job of an attempt that is still active: remove it so the same id can be re-added.
      const gone = [...new Map(lost.map((id) => jobById.get(id)).filter((j) => j !== undefined).map((j) => [keyOf(j), j])).values()];
      await Promise.all(
        gone.map((j) =>
          queues
            .get(j.queue)
            .remove(j.jobId)
            .catch(() => 0),
        ),
      );
      // Lost bundle members come back as single jobs: drop their entries first, so the next sweep checks those.
      await store.forgetBundles(
        runId,
        lost.filter((id) => jobById.get(id)?.bundled === true),
      );
      stats.requeued = await this.dispatcher.enqueue(runId, lost, { bundle: false });
    }
    return stats;
  }

  /** The job that carries this dispatch of the instance: its bundle (entry matching) or its own. */
  private jobOf(runId: string, id: string, s: Status, entry: string | null, queue: string): JobRef {
    if (entry !== null) {
      const [attempt, queuedAt, bundle] = entry.split('|');
      if (bundle !== undefined && Number(attempt) === s.attempts && Number(queuedAt) === (s.queuedAt ?? 0)) return { queue, jobId: bundle, bundled: true };
    }
    return { queue, jobId: jobId(runId, id, s.attempts), bundled: false };
  }
}

interface JobRef {
  queue: string;
  jobId: string;
  bundled: boolean;
}
