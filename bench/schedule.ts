/**
 * Schedule tick lateness (issue: goal p50 < 50 ms; Airflow's loop is ~1 s, Dagster's sensors poll
 * every 30 s): the embedded scheduler (SchedulerService + Loop + EmbeddedLauncher over a
 * LocalRunStore, as `dagctl scheduler` runs it) on an `every: 1s` no-op DAG for N ticks (longer than a no-op embedded run, so no backlog),
 * measuring tick → run created and tick → run started (the run's startedAt). Peer in the same run:
 * a bare setTimeout aimed at the same tick instants (the floor of any timer-driven loop here).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DagCatalog } from '../scheduler/schedule/catalog.js';
import { EmbeddedLauncher } from '../scheduler/schedule/embedded-launcher.js';
import { Loop, SchedulerService } from '../scheduler/schedule/service.js';
import { LocalScheduleState } from '../scheduler/schedule/state.js';
import { LocalRunStore } from '../scheduler/stores/local-run-store.js';
import { percentile, type BenchResult } from './types.js';

const PERIOD = 1000;
const N = Number(process.env.DAGCTL_BENCH_TICKS ?? 20);

export async function benchSchedule(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-sched-'));
  try {
    const timer = await rawTimerLateness(N);
    const file = join(dir, 'tick.yaml');
    await writeFile(file, `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: tick\nschedule: { every: ${PERIOD}ms, catchup: all, overlap: queue }\ntasks:\n  - { name: a, operator: noop }\n`);
    const catalog = new DagCatalog([file]);
    await catalog.refresh();
    const store = new LocalRunStore(join(dir, 'home'));
    let loop: Loop | null = null;
    const launcher = new EmbeddedLauncher({ store, concurrency: 1, onFinished: () => loop?.wake() });
    const service = new SchedulerService({ dags: () => catalog.dags(), launcher, state: new LocalScheduleState(join(dir, 'home')) });
    loop = new Loop(service, { pollMs: 1000 });
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    while ((await store.listRuns({ dag: 'tick' })).filter((r) => r.phase === 'succeeded').length < N) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await running;
    await launcher.drain(30_000);
    const runs = (await store.listRuns({ dag: 'tick' })).filter((r) => r.trigger.kind === 'schedule' && r.startedAt !== undefined);
    const created = runs.map((r) => r.createdAt - Date.parse((r.trigger as { at: string }).at));
    const started = runs.map((r) => (r.startedAt as number) - Date.parse((r.trigger as { at: string }).at));
    await store.close();
    const m = {
      ticks: runs.length,
      createdP50Ms: percentile(created, 50),
      createdP99Ms: percentile(created, 99),
      startedP50Ms: percentile(started, 50),
      startedP99Ms: percentile(started, 99),
      timerP50Ms: percentile(timer, 50),
      timerP99Ms: percentile(timer, 99),
    };
    return {
      name: 'schedule',
      metrics: m,
      lines: [
        `schedule: ${m.ticks} ticks every ${PERIOD} ms (embedded, no-op run each)`,
        `  tick → run created  p50 ${m.createdP50Ms.toFixed(1)} ms  p99 ${m.createdP99Ms.toFixed(1)} ms`,
        `  tick → run started  p50 ${m.startedP50Ms.toFixed(1)} ms  p99 ${m.startedP99Ms.toFixed(1)} ms  (goal p50 < 50 ms)`,
        `  bare setTimeout     p50 ${m.timerP50Ms.toFixed(1)} ms  p99 ${m.timerP99Ms.toFixed(1)} ms  (started p50 = ${(m.startedP50Ms / Math.max(0.1, m.timerP50Ms)).toFixed(1)}× the timer's)`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rawTimerLateness(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const tick = (Math.floor(Date.now() / PERIOD) + 1) * PERIOD;
    await new Promise((r) => setTimeout(r, tick - Date.now()));
    out.push(Date.now() - tick);
  }
  return out;
}
