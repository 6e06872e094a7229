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
 */
import { DagctlError } from '../../core/errors.js';
import { jobId } from '../../scheduler/redis/keys.js';
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
    const pipe = store.redis.pipeline();
    for (const [id, s] of due) pipe.hmget(queues.jobKey(this.dispatcher.queueOf(ctx, id), jobId(runId, id, s.attempts)), 'timestamp', 'finishedOn', 'processedOn');
    const replies = (await pipe.exec()) ?? [];
    const lost: string[] = [];
    const cancelNow: Array<{ id: string; attempt: number; queue: string }> = [];
    due.forEach(([id, s], i) => {
      stats.checked++;
      const [ts, finishedOn, processedOn] = (replies[i]?.[1] ?? [null, null, null]) as Array<string | null>;
      const queue = this.dispatcher.queueOf(ctx, id);
      if (ts === null || finishedOn !== null) lost.push(id);
      else if (meta.cancelRequested && s.state === 'queued' && processedOn === null) cancelNow.push({ id, attempt: s.attempts, queue });
    });
    if (meta.cancelRequested) {
      // Lost attempts of a cancelled run are not re-run: they are reported cancelled.
      for (const id of lost) {
        const s = active.get(id);
        if (s !== undefined) cancelNow.push({ id, attempt: s.attempts, queue: this.dispatcher.queueOf(ctx, id) });
      }
      for (const c of cancelNow) {
        const removed = await queues
          .get(c.queue)
          .remove(jobId(runId, c.id, c.attempt))
          .catch(() => 0);
        // remove() refuses a locked (active) job: a worker holds it and will report.
        if (removed === 1 || lost.includes(c.id)) {
          await store.apply(runId, [{ type: 'failed', id: c.id, attempt: c.attempt, at: this.now(), error: 'cancelled before it ran', code: 'TASK_CANCELLED', retryable: false }]);
          stats.cancelled++;
        }
      }
      return stats;
    }
    if (lost.length > 0) {
      // A finished job of an attempt that is still active: remove it so the same id can be re-added.
      await Promise.all(
        lost.map((id) => {
          const s = active.get(id);
          return s === undefined
            ? Promise.resolve(0)
            : queues
                .get(this.dispatcher.queueOf(ctx, id))
                .remove(jobId(runId, id, s.attempts))
                .catch(() => 0);
        }),
      );
      stats.requeued = await this.dispatcher.enqueue(runId, lost);
    }
    return stats;
  }
}
