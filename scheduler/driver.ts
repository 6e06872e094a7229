/**
 * driveRun: the loop that drives one run to completion in this process — the embedded mode's
 * scheduler. It feeds events (executor reports, timer ticks, a cancel) to the RunStore in batches
 * (one durable write per batch), turns the effects into executor calls, records cost samples for
 * calibration, and reports progress.
 *
 * The driver keeps a mirror of the run state by applying the same batches to the same pure reducer
 * (deterministic, so mirror == store); it reads the mirror to build jobs instead of fetching the
 * whole state per batch, and acts on the mirror's effects at once: the durable write of a batch
 * (RunStore.apply, one at a time, in order, batches queued meanwhile going out together) is not
 * waited for before dependents are dispatched, so a dependent hop never waits for an fsync. The
 * store holds a prefix of the event sequence at every moment; a crash loses at most its tail,
 * whose attempts a resume re-runs (commit markers make that safe, docs/architecture.md). The run
 * is reported finished only once every batch is durable.
 */
import { DagctlError } from '../core/errors.js';
import type { CostSample } from './model.js';
import { costSampleOf } from './cost-sample.js';
import type { Effect, RunEvent } from './engine/events.js';
import { applyEvents } from './engine/reducer.js';
import { indexPlan, type PlanIndex, type RunState } from './engine/state.js';
import type { TaskExecutor } from './executor.js';
import { JobResolver } from './jobs.js';
import type { RunRecord, RunStore } from './ports.js';
import { policiesOf } from './stores/policies.js';

export interface DriveOptions {
  store: RunStore;
  record: RunRecord;
  makeExecutor(onEvent: (e: RunEvent) => void): TaskExecutor;
  /** Continue a run whose driving process died (queued/running attempts are re-dispatched). */
  resume?: boolean;
  /** Aborting it requests cancellation of the run. */
  cancel?: AbortSignal;
  /** Called after every applied batch with the live (read-only) state. */
  onProgress?(state: RunState, index: PlanIndex): void;
  now?(): number;
}

export async function driveRun(opts: DriveOptions): Promise<RunState> {
  const { store, record } = opts;
  const now = opts.now ?? Date.now;
  const runId = record.runId;
  const loaded = await store.getState(runId);
  if (loaded === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
  const mirror: RunState = loaded;
  const index = indexPlan(record.plan, policiesOf(record.dag));
  const resolver = new JobResolver(record);
  if (mirror.phase === 'succeeded' || mirror.phase === 'failed' || mirror.phase === 'cancelled') return mirror;

  let queue: RunEvent[] = [];
  let flushing = false;
  // Batches applied to the mirror but not yet written to the store, and the writer's state.
  let unwritten: RunEvent[] = [];
  let writing = false;
  let onDurable: Array<() => void> = [];
  let wakeTimer: NodeJS.Timeout | null = null;
  let wakeAt = Infinity;
  let finished: ((s: RunState) => void) | null = null;
  let failedHard: ((e: unknown) => void) | null = null;
  const done = new Promise<RunState>((resolve, reject) => {
    finished = resolve;
    failedHard = reject;
  });

  const push = (e: RunEvent): void => {
    queue.push(e);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };
  const executor = opts.makeExecutor(push);

  const onCancel = (): void => push({ type: 'cancel', at: now() });
  if (opts.cancel !== undefined) {
    if (opts.cancel.aborted) onCancel();
    else opts.cancel.addEventListener('abort', onCancel, { once: true });
  }

  const handle = (effects: Effect[]): void => {
    for (const fx of effects) {
      if (fx.type === 'dispatch') {
        const lookup = (id: string) => mirror.instances[id];
        executor.dispatch(fx.ids.map((id) => resolver.build(id, mirror.instances[id]?.attempts ?? 1, lookup)));
      } else if (fx.type === 'abort') {
        executor.abort(fx.ids);
      } else if (fx.type === 'wake') {
        if (fx.at < wakeAt) {
          wakeAt = fx.at;
          if (wakeTimer !== null) clearTimeout(wakeTimer);
          wakeTimer = setTimeout(() => {
            wakeTimer = null;
            wakeAt = Infinity;
            push({ type: 'tick', at: now() });
          }, Math.max(0, fx.at - now()));
        }
      } else if (fx.type === 'finished') {
        whenDurable(() => finished?.(mirror));
      }
    }
  };

  function whenDurable(f: () => void): void {
    if (!writing && unwritten.length === 0) f();
    else onDurable.push(f);
  }

  /** Writes what the mirror applied to the store, in order, one apply call at a time. */
  async function write(): Promise<void> {
    if (writing) return;
    writing = true;
    try {
      while (unwritten.length > 0) {
        const batch = unwritten;
        unwritten = [];
        await store.apply(runId, batch);
        const samples = costSamples(record.dag.name, index, batch);
        if (samples.length > 0) await store.appendSamples(samples);
      }
      writing = false;
      const waiting = onDurable;
      onDurable = [];
      for (const f of waiting) f();
    } catch (e) {
      writing = false;
      failedHard?.(e);
    }
  }

  function flush(): void {
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        // The same reducer the store runs: its effects are the store's (conformance-tested).
        const effects = applyEvents(index, mirror, batch);
        for (const e of batch) unwritten.push(e);
        void write();
        opts.onProgress?.(mirror, index);
        handle(effects);
      }
    } catch (e) {
      failedHard?.(e);
    } finally {
      flushing = false;
      if (queue.length > 0) {
        flushing = true;
        setImmediate(flush);
      }
    }
  }

  push(opts.resume === true || mirror.phase === 'running' ? { type: 'recover', at: now() } : { type: 'start', at: now() });
  try {
    return await done;
  } finally {
    if (wakeTimer !== null) clearTimeout(wakeTimer);
    opts.cancel?.removeEventListener('abort', onCancel);
    await executor.close();
  }
}

function costSamples(dag: string, index: PlanIndex, events: RunEvent[]): CostSample[] {
  const out: CostSample[] = [];
  for (const e of events) {
    if (e.type !== 'succeeded' || e.result.memoized) continue;
    const inst = index.byId.get(e.id);
    if (inst === undefined || inst.kind !== 'work') continue;
    out.push(costSampleOf(dag, inst, e.result, e.at));
  }
  return out;
}
