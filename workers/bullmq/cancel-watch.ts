/**
 * CancelWatch: aborts a worker's running attempts when their run is cancelled or over. One timer
 * per worker polls the meta of the runs that have attempts in flight (one HMGET per run per
 * interval, not one timer and one read per attempt), and every apply reply the worker gets says
 * the same at no cost (observe), so a cancel usually lands with the next completion.
 */
import type { RunState } from '../../scheduler/engine/state.js';
import type { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';

export class CancelWatch {
  private readonly runs = new Map<string, Set<AbortController>>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly store: RedisRunStore,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  /** Watches one attempt's controller until the returned function is called. */
  add(runId: string, ac: AbortController): () => void {
    let set = this.runs.get(runId);
    if (set === undefined) {
      set = new Set();
      this.runs.set(runId, set);
    }
    set.add(ac);
    this.ensureTimer();
    return () => {
      const s = this.runs.get(runId);
      s?.delete(ac);
      if (s !== undefined && s.size === 0) this.runs.delete(runId);
    };
  }

  /** What Redis just said about a run (an apply reply, a poll). */
  observe(runId: string, phase: RunState['phase'] | null, cancelRequested: boolean): void {
    if (phase !== null && phase === 'running' && !cancelRequested) return;
    for (const ac of this.runs.get(runId) ?? []) ac.abort();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private ensureTimer(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.runs.size === 0) {
        this.stop();
        return;
      }
      if (this.polling) return;
      this.polling = true;
      this.poll()
        .catch(this.onError)
        .finally(() => (this.polling = false));
    }, this.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    for (const runId of [...this.runs.keys()]) {
      const m = await this.store.meta(runId);
      this.observe(runId, m?.phase ?? null, m?.cancelRequested ?? false);
    }
  }
}
