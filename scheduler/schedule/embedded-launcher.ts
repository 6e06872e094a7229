/**
 * The embedded scheduler's RunLauncher: runs live in the local RunStore and are driven in this
 * process by driveRun with an EmbeddedExecutor — exactly what `dagctl run` does — one driver per
 * run. start() drives a pending run; adopt() resumes (`recover`) a running run that no driver in
 * this process owns (its scheduler died); cancel() aborts a driven run, or applies `cancel` to one
 * nobody drives. onFinished is called when a driven run ends (the loop wakes to start the next),
 * after this process let go of the run and kept a big finished run's UI page (keepPage).
 *
 * Precondition: one embedded scheduler per run store (LocalRunStore's one-driver rule).
 */
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { RunState } from '../engine/state.js';
import { driveRun } from '../driver.js';
import type { RunRecord, RunStore } from '../ports.js';
import type { LocalRunStore } from '../stores/local-run-store.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { reclaimAndRecord, reclaimDue } from '../../workers/reclaim.js';
import type { ScheduleSpec } from '../../definitions/types.js';
import { createIntervalRun, createTriggerRun } from './launch.js';
import { keepPage, localPages, VIEW_CACHE_MIN_INSTANCES } from '../../ui/server/view-cache.js';
import type { TriggerFire } from './triggers.js';
import type { RunLauncher, ScheduledDag, UnfinishedRun } from './service.js';

export interface EmbeddedLauncherOptions {
  store: LocalRunStore;
  historyStore?: RunStore;
  /** Worker threads per run (default: the executor's default, one per core). */
  concurrency?: number;
  now?(): number;
  onFinished?(runId: string, state: RunState | null): void;
  log?(line: string): void;
}

export class EmbeddedLauncher implements RunLauncher {
  /** Runs seen finished: never read again (a finished run stays finished). */
  private readonly finished = new Set<string>();
  private readonly driving = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly now: () => number;

  constructor(private readonly opts: EmbeddedLauncherOptions) {
    this.now = opts.now ?? Date.now;
  }

  async createTriggered(d: ScheduledDag, fire: TriggerFire): Promise<{ runId: string; created: boolean }> {
    const r = await createTriggerRun({ store: this.opts.store, historyStore: this.opts.historyStore ?? this.opts.store, file: d.file, text: d.text, fire, executor: 'embedded', now: this.now() });
    return { runId: r.record.runId, created: r.created };
  }

  async create(d: ScheduledDag & { schedule: ScheduleSpec }, tick: number): Promise<{ runId: string; created: boolean }> {
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

  /**
   * The DAG's unfinished runs. Run ids are `<dag>-<timestamp>-<hex>` (create-run.ts), so the run
   * folder names select the DAG's runs without reading records; finished runs are remembered, so a
   * step reads only the states of runs it has not seen finish.
   */
  async unfinished(dag: string): Promise<UnfinishedRun[]> {
    let ids: string[] = [];
    try {
      ids = await readdir(join(this.opts.store.home, 'runs'));
    } catch {
      return [];
    }
    const mine = new RegExp(`^${dag}-\\d{8}T\\d{9}Z-[0-9a-f]{6}$`);
    const out: UnfinishedRun[] = [];
    for (const runId of ids.sort()) {
      if (!mine.test(runId) || this.finished.has(runId)) continue;
      const st = await this.opts.store.getState(runId).catch(() => null);
      if (st === null) continue; // a create still in progress (no record yet)
      if (st.phase === 'pending' || st.phase === 'running') out.push({ runId, phase: st.phase });
      else this.finished.add(runId);
    }
    return out;
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

  /**
   * A finished run: this process lets go of it (its final snapshot is on disk) and, for a big run,
   * keeps its UI page as `dagctl run` does (ui/server/view-cache.ts keepPage) under the run's
   * driver lock, from the state on disk (token first): a run another process drives again meanwhile
   * (a `dagctl ui` retry holds the lock, then its `--resume` does) gets no page. Only a cache:
   * a failure is logged.
   */
  private async keepPage(record: RunRecord, final: RunState): Promise<void> {
    const { store } = this.opts;
    const runId = record.runId;
    if (final.phase === 'pending' || final.phase === 'running') return;
    try {
      await store.release(runId);
      if (record.plan.length < VIEW_CACHE_MIN_INSTANCES) return;
      const unlock = await store.lockDriver(runId, { command: 'scheduler (keeps the run page)', pid: process.pid });
      try {
        await keepPage(localPages(store.home), record, () => store.getState(runId), availableParallelism());
      } finally {
        await unlock();
      }
    } catch (e) {
      this.opts.log?.(`scheduler: run ${runId}: UI page not kept: ${errorCode(e)}: ${errorMessage(e)}`);
    }
  }

  private async drive(runId: string, resume: boolean): Promise<void> {
    if (this.driving.has(runId) || this.finished.has(runId)) return;
    // Reserved before any await: two callers (a start and a sweep's adopt) never both drive it.
    const abort = new AbortController();
    let release = (): void => undefined;
    this.driving.set(runId, { done: new Promise<void>((r) => (release = r)), abort });
    const skip = (): void => {
      this.driving.delete(runId);
      release();
    };
    const record = await this.opts.store.getRecord(runId).catch(() => null);
    if (record === null) return skip();
    // unfinished() may have read a run's state just before its driver here finished it: never
    // drive a finished run again (a resumed driver would reopen it and publish a second time).
    const phase = (await this.opts.store.getState(runId).catch(() => null))?.phase;
    if (phase !== 'pending' && phase !== 'running') {
      if (phase !== undefined) this.finished.add(runId);
      return skip();
    }
    const threads = this.opts.concurrency;
    void driveRun({
      store: this.opts.store,
      record,
      resume,
      cancel: abort.signal,
      makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, threads === undefined ? {} : { concurrency: threads }),
    })
      // `work: reclaim` (workers/reclaim.ts): a succeeded run's work areas go; a failure to is logged.
      .then(async (final) => {
        if (reclaimDue(record, final.phase)) {
          const r = await reclaimAndRecord(this.opts.store, record).catch((e: unknown) => void this.opts.log?.(`scheduler: run ${runId}: work not reclaimed: ${errorMessage(e)}`));
          if (r?.skipped !== undefined) this.opts.log?.(`scheduler: run ${runId}: work kept: run ${r.skipped} of the DAG is active`);
        }
        await this.keepPage(record, final);
        return final;
      })
      .then(
        (final) => {
          if (final.phase !== 'pending' && final.phase !== 'running') this.finished.add(runId);
          this.driving.delete(runId);
          this.opts.log?.(`scheduler: run ${runId} ${final.phase}`);
          this.opts.onFinished?.(runId, final);
        },
        (e: unknown) => {
          this.driving.delete(runId);
          this.opts.log?.(`scheduler: run ${runId} could not be driven: ${errorMessage(e)}`);
          this.opts.onFinished?.(runId, null);
        },
      )
      .finally(release);
  }
}
