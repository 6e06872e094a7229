/**
 * The embedded scheduler's RunLauncher: runs live in the local RunStore and are driven in this
 * process by driveRun with an EmbeddedExecutor — exactly what `dagctl run` does — one driver per
 * run. start() drives a pending run; adopt() resumes (`recover`) a running run that no driver in
 * this process owns (its scheduler died); cancel() aborts a driven run, or applies `cancel` to one
 * nobody drives. onFinished is called when a driven run ends (the loop wakes to start the next).
 *
 * Precondition: one embedded scheduler per run store (LocalRunStore's one-driver rule).
 */
import { errorMessage } from '../../core/errors.js';
import type { RunState } from '../engine/state.js';
import { driveRun } from '../driver.js';
import type { RunStore } from '../ports.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { createIntervalRun } from './launch.js';
import type { RunLauncher, ScheduledDag, UnfinishedRun } from './service.js';

export interface EmbeddedLauncherOptions {
  store: RunStore;
  historyStore?: RunStore;
  /** Worker threads per run (default: the executor's default, one per core). */
  concurrency?: number;
  now?(): number;
  onFinished?(runId: string, state: RunState | null): void;
  log?(line: string): void;
}

export class EmbeddedLauncher implements RunLauncher {
  private readonly driving = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly now: () => number;

  constructor(private readonly opts: EmbeddedLauncherOptions) {
    this.now = opts.now ?? Date.now;
  }

  async create(d: ScheduledDag, tick: number): Promise<{ runId: string; created: boolean }> {
    const r = await createIntervalRun({
      store: this.opts.store,
      historyStore: this.opts.historyStore ?? this.opts.store,
      file: d.file,
      text: d.text,
      schedule: d.schedule,
      tick,
      kind: 'schedule',
      executor: 'embedded',
      now: this.now(),
    });
    return { runId: r.record.runId, created: r.created };
  }

  async start(runId: string): Promise<void> {
    await this.drive(runId, false);
  }

  async adopt(runs: readonly UnfinishedRun[]): Promise<void> {
    for (const r of runs) if (!this.driving.has(r.runId)) await this.drive(r.runId, true);
  }

  async cancel(runId: string): Promise<void> {
    const d = this.driving.get(runId);
    if (d !== undefined) {
      d.abort.abort();
      return;
    }
    await this.opts.store.apply(runId, [{ type: 'cancel', at: this.now() }]);
  }

  async unfinished(dag: string): Promise<UnfinishedRun[]> {
    const runs = await this.opts.store.listRuns({ dag });
    return runs
      .filter((r) => r.phase === 'pending' || r.phase === 'running')
      .sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
      .map((r) => ({ runId: r.runId, phase: r.phase }));
  }

  /** Runs driven by this process now. */
  active(): string[] {
    return [...this.driving.keys()];
  }

  /** Waits for every driven run to end (graceful shutdown), at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([...this.driving.values()].map((d) => d.done)).then(() => true);
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drive(runId: string, resume: boolean): Promise<void> {
    if (this.driving.has(runId)) return;
    const record = await this.opts.store.getRecord(runId);
    if (record === null) return;
    const abort = new AbortController();
    const threads = this.opts.concurrency;
    const done = driveRun({
      store: this.opts.store,
      record,
      resume,
      cancel: abort.signal,
      makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, threads === undefined ? {} : { concurrency: threads }),
    }).then(
      (final) => {
        this.driving.delete(runId);
        this.opts.log?.(`scheduler: run ${runId} ${final.phase}`);
        this.opts.onFinished?.(runId, final);
      },
      (e: unknown) => {
        this.driving.delete(runId);
        this.opts.log?.(`scheduler: run ${runId} could not be driven: ${errorMessage(e)}`);
        this.opts.onFinished?.(runId, null);
      },
    );
    this.driving.set(runId, { done, abort });
  }
}
