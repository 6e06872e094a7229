/**
 * EventBatcher: group commit of one worker's run events. Every job of a worker applies two events
 * (`started`, then `succeeded`/`failed`); with concurrency N many of them arrive at nearly the same
 * time, and one apply-script call per event made the script's fixed cost (and a round trip) the
 * per-instance cost of a distributed run. Here events of the same run queue up while that run's
 * previous batch is in Redis, and go together in the next EVALSHA (RedisRunStore.applyBatch).
 *
 * Latency is unchanged for a lone event: with nothing in flight it is sent at once (after the
 * current microtask, so events submitted in the same tick share the call). A batch is still one
 * atomic step with the reducer's merged effects; each caller gets the phase, cancel flag and
 * (optionally) the status of one instance as they are after the batch, and its promise settles
 * only once the batch's effects are dispatched (jobs added), so a BullMQ job completes after its
 * successors are enqueued, as before. The next batch does not wait for that dispatch.
 *
 * Failure: if the call fails, every event of the batch fails (their jobs fail; the sweeper re-adds
 * the attempts still queued/running). Exactly-once in effect still comes from the reducer's
 * attempt checks and the runner's create-only commits.
 */
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { RunState } from '../../scheduler/engine/state.js';
import type { BatchResult, RedisRunStore, Status } from '../../scheduler/redis/redis-run-store.js';
import type { Dispatcher } from './dispatcher.js';

export interface Applied {
  phase: RunState['phase'];
  cancelRequested: boolean;
  /** The status of the requested instance after the batch, or null (none asked, or unknown). */
  status: Status | null;
}

interface Pending {
  event: RunEvent;
  viewId: string;
  resolve: (a: Applied) => void;
  reject: (e: unknown) => void;
}

interface RunQueue {
  pending: Pending[];
  busy: boolean;
}

export interface EventBatcherOptions {
  /** Most events per call (bounds the script's run time, during which Redis serves no one else). */
  maxBatch?: number;
  /** Sees every applied batch's reply (the worker aborts attempts of cancelled runs from it). */
  onApplied?: (runId: string, r: BatchResult) => void;
}

export class EventBatcher {
  private readonly runs = new Map<string, RunQueue>();
  private readonly maxBatch: number;
  /** Events applied and calls made, for the worker's metrics (events / calls = mean batch size). */
  events = 0;
  calls = 0;

  constructor(
    private readonly store: RedisRunStore,
    private readonly dispatcher: Dispatcher,
    private readonly opts: EventBatcherOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 256);
  }

  /** Applies `event` to its run together with whatever else is waiting; see the banner. */
  submit(runId: string, event: RunEvent, viewId = ''): Promise<Applied> {
    return new Promise<Applied>((resolve, reject) => {
      let q = this.runs.get(runId);
      if (q === undefined) {
        q = { pending: [], busy: false };
        this.runs.set(runId, q);
      }
      q.pending.push({ event, viewId, resolve, reject });
      if (!q.busy) {
        q.busy = true;
        const run = q;
        queueMicrotask(() => void this.drain(runId, run));
      }
    });
  }

  private async drain(runId: string, q: RunQueue): Promise<void> {
    while (q.pending.length > 0) {
      const batch = q.pending.splice(0, this.maxBatch);
      const views = [...new Set(batch.map((p) => p.viewId).filter((v) => v !== ''))];
      let r: BatchResult;
      try {
        r = await this.store.applyBatch(
          runId,
          batch.map((p) => p.event),
          views,
          true,
        );
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      this.events += batch.length;
      this.calls++;
      this.opts.onApplied?.(runId, r);
      this.dispatcher.handle(runId, r.effects, r.known).then(
        () => {
          for (const p of batch) p.resolve({ phase: r.phase, cancelRequested: r.cancelRequested, status: r.statuses.get(p.viewId) ?? null });
        },
        (e: unknown) => {
          for (const p of batch) p.reject(e);
        },
      );
    }
    q.busy = false;
    if (this.runs.get(runId) === q) this.runs.delete(runId);
  }
}
