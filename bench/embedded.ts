/**
 * Embedded executor benchmarks:
 *  - overhead: no-op instances per second on a 5,000-instance DAG with durable state (the local
 *    run store's journal, fsync per batch), against the floor of the same number of raw
 *    worker_threads round trips on the same pool size, measured in the same run — in two shapes:
 *    one wide task of 5,000 instances, and 5,000 tasks as 100 chains of 50 (goal ≥ 5,000/s each),
 *    with the process CPU per instance (steadier than wall time on a loaded machine). No-ops are
 *    trivial (operators' `inline`): they run on the driver's event loop, not on the threads;
 *  - dependent hop: a chain of 1,000 tasks; the hop is measured inside the run, from each task's
 *    end to its successor's start (the run state's timestamps, sub-millisecond clock), median and
 *    p90 (goal ≤ 0.5 ms);
 *  - CPU-bound speedup: 2 threads vs 1 on 16 instances of 150 ms of CPU each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { driveRun } from '../scheduler/driver.js';
import { initialState, type RunState } from '../scheduler/engine/state.js';
import { expandDag } from '../scheduler/plan/expand.js';
import type { RunRecord } from '../scheduler/ports.js';
import { LocalRunStore } from '../scheduler/stores/local-run-store.js';
import type { DagSpec, TaskSpec } from '../definitions/types.js';
import { EmbeddedExecutor } from '../workers/embedded/pool.js';
import { median, percentile, type BenchResult } from './types.js';

const cost = { estimate: () => ({ overheadMs: 1, workMs: 0, predictedMs: 1, source: 'default' as const }) };

function task(name: string, params: Record<string, unknown>, dependsOn: string[] = []): TaskSpec {
  return { name, operator: 'noop', inputs: [], outputs: [], dependsOn, params, retries: 0, timeoutMs: 600_000, retryBackoffMs: 1000, retryBackoffMaxMs: 1000 };
}

let lastWarmupMs = 0;
let lastState: RunState | null = null;
let lastCpuMs = 0;
const preciseNow = (): number => performance.timeOrigin + performance.now();

async function runOnce(dag: DagSpec, concurrency: number): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), 'dagctl-bench-'));
  const store = new LocalRunStore(home);
  const plan = expandDag(dag, {}, cost);
  const runId = `bench-${Math.random().toString(36).slice(2, 10)}`;
  const record: RunRecord = { runId, dag, dagText: '', dagHash: 'bench', plan, sources: {}, createdAt: Date.now(), options: { force: false, params: {}, executor: 'embedded' } };
  await store.createRun(record, initialState(runId, dag.name, plan, Date.now()));
  // Warm the pool first: thread start-up (loading the runtime) is paid once per `dagctl run`,
  // not per instance, and is reported separately.
  let forward: (e: Parameters<ConstructorParameters<typeof EmbeddedExecutor>[1]>[0]) => void = () => undefined;
  const executor = new EmbeddedExecutor(record, (e) => forward(e), { concurrency, now: preciseNow });
  const w0 = performance.now();
  await executor.ready();
  lastWarmupMs = performance.now() - w0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const state = await driveRun({
    store,
    record,
    now: preciseNow,
    makeExecutor: (onEvent) => {
      forward = onEvent;
      return executor;
    },
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  lastCpuMs = (cpu.user + cpu.system) / 1000;
  await store.close();
  await rm(home, { recursive: true, force: true });
  if (state.phase !== 'succeeded') throw new Error(`bench run ${state.phase}`);
  lastState = state;
  return ms;
}

const RAW_THREAD = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, ok: true }));
`;

/** The floor: n round trips through `concurrency` bare worker threads, each one in flight at a time. */
async function rawThreads(n: number, concurrency: number): Promise<number> {
  const workers = Array.from({ length: concurrency }, () => new Worker(RAW_THREAD, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          const send = (): void => {
            if (next >= n) return resolve();
            w.postMessage({ id: next++, job: { runId: 'x', instanceId: `t.main.b${next}`, attempt: 1, inputs: [], prior: [] } });
          };
          w.on('message', send);
          send();
        }),
    ),
  );
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return ms;
}

export async function benchEmbedded(): Promise<BenchResult> {
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const N = 5000;
  const reps = Number(process.env.EMBEDDED_REPS ?? 5);
  const wide: DagSpec = { name: 'bench-wide', params: {}, datasets: {}, tasks: [task('fan', { buckets: N })], sourceHash: 'b', sourceFile: 'b' };
  const chainTasks: TaskSpec[] = [];
  for (let i = 0; i < 1000; i++) chainTasks.push(task(`c${i}`, {}, i === 0 ? [] : [`c${i - 1}`]));
  const chainDag: DagSpec = { name: 'bench-chain', params: {}, datasets: {}, tasks: chainTasks, sourceHash: 'b', sourceFile: 'b' };

  const chainsTasks: TaskSpec[] = [];
  for (let c = 0; c < 100; c++) for (let i = 0; i < 50; i++) chainsTasks.push(task(`k${c}x${i}`, {}, i === 0 ? [] : [`k${c}x${i - 1}`]));
  const chainsDag: DagSpec = { name: 'bench-chains', params: {}, datasets: {}, tasks: chainsTasks, sourceHash: 'b', sourceFile: 'b' };

  const dagctlWide: number[] = [];
  const raw: number[] = [];
  const chainsMs: number[] = [];
  const chainMs: number[] = [];
  const hops: number[] = [];
  const wideCpu: number[] = [];
  const chainsCpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    dagctlWide.push(await runOnce(wide, 2));
    wideCpu.push(lastCpuMs);
    raw.push(await rawThreads(N, 2));
    chainsMs.push(await runOnce(chainsDag, 2));
    chainsCpu.push(lastCpuMs);
    chainMs.push(await runOnce(chainDag, 2));
    const st = lastState;
    for (let t = 1; t < 1000 && st !== null; t++) {
      const prev = st.instances[`c${t - 1}.main`];
      const cur = st.instances[`c${t}.main`];
      if (prev?.finishedAt !== undefined && cur?.startedAt !== undefined) hops.push(cur.startedAt - prev.finishedAt);
    }
  }
  const wideRate = N / (median(dagctlWide) / 1000);
  const rawRate = N / (median(raw) / 1000);
  const chainsRate = N / (median(chainsMs) / 1000);
  const chainRate = 1000 / (median(chainMs) / 1000);
  metrics.noopPerSecWide = wideRate;
  metrics.rawThreadRoundTripsPerSec = rawRate;
  metrics.noopTasksPerSecChains = chainsRate;
  metrics.noopPerSecChain = chainRate;
  metrics.cpuUsPerInstanceWide = (median(wideCpu) * 1000) / N;
  metrics.cpuUsPerTaskChains = (median(chainsCpu) * 1000) / N;
  metrics.hopMedianMs = median(hops);
  metrics.hopP90Ms = percentile(hops, 90);
  lines.push(`embedded overhead, ${N} no-ops, 2 threads, durable local state, median of ${reps}; peer: raw worker_threads round trips ${Math.round(rawRate)}/s:`);
  lines.push(`  wide (1 task × ${N} instances)    ${String(Math.round(wideRate)).padStart(6)} instances/s  → ${(wideRate / rawRate).toFixed(2)}× raw (goal ≥ 5,000/s); process CPU ${((median(wideCpu) * 1000) / N).toFixed(0)} µs per instance (${Math.round(N / (median(wideCpu) / 1000))}/s of CPU)`);
  lines.push(`  chains (100 chains × 50 tasks)   ${String(Math.round(chainsRate)).padStart(6)} tasks/s      → ${(chainsRate / rawRate).toFixed(2)}× raw (goal ≥ 5,000/s); process CPU ${((median(chainsCpu) * 1000) / N).toFixed(0)} µs per task (${Math.round(N / (median(chainsCpu) / 1000))}/s of CPU)`);
  lines.push(`  pool start-up (threads loading the runtime, once per run, excluded above): ${Math.round(lastWarmupMs)} ms`);
  lines.push(`  1,000-task chain: ${Math.round(chainRate)} tasks/s; dependent hop inside the run (end → successor start) median ${median(hops).toFixed(3)} ms, p90 ${percentile(hops, 90).toFixed(3)} ms (goal ≤ 0.5 ms)`);

  const cpu: DagSpec = { name: 'bench-cpu', params: {}, datasets: {}, tasks: [task('burn', { buckets: 16, cpuMs: 150 })], sourceHash: 'b', sourceFile: 'b' };
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < 3; i++) {
    one.push(await runOnce(cpu, 1));
    two.push(await runOnce(cpu, 2));
  }
  const speedup = median(one) / median(two);
  metrics.cpuSpeedup2v1 = speedup;
  lines.push(`CPU-bound (16 × 150 ms of CPU), median of 3: 1 thread ${(median(one) / 1000).toFixed(2)} s, 2 threads ${(median(two) / 1000).toFixed(2)} s → speedup ${speedup.toFixed(2)}× (goal ≥ 1.8×)`);
  return { name: 'embedded', lines, metrics };
}
