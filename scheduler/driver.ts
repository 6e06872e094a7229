/**
 * driveRun: the loop that drives one run to completion in this process — the embedded mode's
 * scheduler. It feeds events (executor reports, timer ticks, a cancel) to the RunStore in batches
 * (one durable write per batch), turns the effects into executor calls, records cost samples for
 * calibration, and reports progress.
 *
 * The driver keeps a mirror of the run state by applying the same batches to the same pure reducer
 * (deterministic, so mirror == store); it reads the mirror to build jobs instead of fetching the
 * whole state per batch.
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
      setImmediate(() => void flush());
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
        finished?.(mirror);
      }
    }
  };

  async function flush(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        const effects = await store.apply(runId, batch);
        applyEvents(index, mirror, batch);
        const samples = costSamples(record.dag.name, index, batch);
        if (samples.length > 0) await store.appendSamples(samples);
        opts.onProgress?.(mirror, index);
        handle(effects);
      }
    } catch (e) {
      failedHard?.(e);
    } finally {
      flushing = false;
      if (queue.length > 0) {
        flushing = true;
        setImmediate(() => void flush());
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
