/**
 * Scaling benchmark: the same DAG with a deadline, run twice on real `dagctl worker` processes that
 * a model of KEDA + the HPA (bench/lib/keda-hpa.ts) starts and stops from the real
 * `dagctl autoscale-metrics` figures (in-process service, private redis-server):
 *   queue   — the trigger reads workJobs (ready + running jobs: queue-depth scaling);
 *   demand  — the trigger reads demandSlots (the chart's default: the slots the cost model says the
 *             run needs to meet its deadline).
 * Reported per mode: whether the run met its deadline, its makespan, worker-seconds (each worker
 * process from spawn to exit, until the model has scaled back to zero) and the peak pod count; and
 * the ratio demand / queue worker-seconds. Times are compressed (polling 1 s, stabilisation and
 * cooldown 10 s, scale-up period 3 s) so that a run takes a minute, not an hour.
 * Workload: root → fan of N noop instances sleeping S ms → sink, bundling off; the plan's
 * predictions are set to the true durations (what a fitted cost model converges to).
 * Precondition: redis-server on PATH, a built dist/. Env: DAGCTL_BENCH_AUTOSCALE_N (48),
 * _SLEEP_MS (1500), _DEADLINE_S (24), _CONCURRENCY (2), _MAX_PODS (12).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { initialState } from '../scheduler/engine/state.js';
import { connectRedis } from '../scheduler/redis/connection.js';
import { RedisRunStore } from '../scheduler/redis/redis-run-store.js';
import { startAutoscaleService, type AutoscaleService } from '../workers/bullmq/autoscale-metrics.js';
import { submitRun } from '../workers/bullmq/submit.js';
import { dagOf, noopTask, recordOf } from '../test/helpers/dags.js';
import { CHART_DEFAULTS, KedaHpa } from './lib/keda-hpa.js';
import { startRedis } from './scheduler.js';
import type { BenchResult } from './types.js';

const BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));
const N = Number(process.env.DAGCTL_BENCH_AUTOSCALE_N ?? 48);
const SLEEP_MS = Number(process.env.DAGCTL_BENCH_AUTOSCALE_SLEEP_MS ?? 1500);
const DEADLINE_MS = Number(process.env.DAGCTL_BENCH_AUTOSCALE_DEADLINE_S ?? 24) * 1000;
const CONCURRENCY = Number(process.env.DAGCTL_BENCH_AUTOSCALE_CONCURRENCY ?? 2);
const MAX_PODS = Number(process.env.DAGCTL_BENCH_AUTOSCALE_MAX_PODS ?? 12);
const POLL_MS = 1000;

interface ModeResult {
  met: boolean;
  makespanMs: number;
  workerSeconds: number;
  peakPods: number;
}

interface Pod {
  proc: ChildProcess;
  startedAt: number;
  exited: Promise<number>;
}

export async function benchAutoscale(): Promise<BenchResult> {
  const redis = await startRedis();
  const conn = await connectRedis(redis.url, 'worker');
  const store = new RedisRunStore(conn);
  const svc = await startAutoscaleService({ redisUrl: redis.url, queues: ['default'], maxSlots: MAX_PODS * CONCURRENCY, port: 0, host: '127.0.0.1' });
  const metrics: Record<string, number> = {};
  const lines: string[] = [];
  try {
    const results: Record<string, ModeResult> = {};
    for (const mode of ['queue', 'demand'] as const) {
      const r = await runMode(mode, redis.url, store, svc.demand);
      results[mode] = r;
      metrics[`${mode}_met_deadline`] = r.met ? 1 : 0;
      metrics[`${mode}_makespan_ms`] = r.makespanMs;
      metrics[`${mode}_worker_seconds`] = r.workerSeconds;
      metrics[`${mode}_peak_pods`] = r.peakPods;
      lines.push(`${mode === 'queue' ? 'queue-depth scaling (workJobs) ' : 'deadline scaling (demandSlots)  '}: deadline ${r.met ? 'met' : 'MISSED'}, makespan ${(r.makespanMs / 1000).toFixed(1)} s of ${DEADLINE_MS / 1000} s, ${r.workerSeconds.toFixed(0)} worker-s, peak ${r.peakPods} pods`);
    }
    metrics.demand_vs_queue_worker_seconds = (results.demand?.workerSeconds ?? NaN) / (results.queue?.workerSeconds ?? NaN);
    lines.unshift(`${N} instances × ${SLEEP_MS} ms, concurrency ${CONCURRENCY}/pod, max ${MAX_PODS} pods, deadline ${DEADLINE_MS / 1000} s after submit; KEDA/HPA model polling ${POLL_MS} ms`);
    lines.push(`deadline scaling uses ${metrics.demand_vs_queue_worker_seconds.toFixed(2)}× the worker-seconds of queue-depth scaling`);
  } finally {
    await svc.close();
    conn.disconnect();
    await redis.stop();
  }
  return { name: 'autoscale (KEDA/HPA model, real workers)', lines, metrics };
}

async function runMode(mode: 'queue' | 'demand', url: string, store: RedisRunStore, demand: AutoscaleService['demand']): Promise<ModeResult> {
  const hpa = new KedaHpa({ ...CHART_DEFAULTS, target: CONCURRENCY, minReplicas: 0, maxReplicas: MAX_PODS, cooldownMs: 10_000, scaleDownWindowMs: 10_000, scaleDownPeriodMs: 10_000, scaleUpPeriodMs: 3000 });
  const env = { ...process.env, DAGCTL_BUNDLE_MAX_MEMBERS: '1', DAGCTL_LOG_LEVEL: 'error' };
  const dag = dagOf(`autoscale-${mode}`, [noopTask('root'), noopTask('fan', { dependsOn: ['root'], params: { buckets: N, sleepMs: SLEEP_MS } }), noopTask('sink', { dependsOn: ['fan'] })]);
  const now = Date.now();
  const record = recordOf(dag, `autoscale-${mode}-${now.toString(36)}`, now);
  record.plan = record.plan.map((p) => (p.task === 'fan' ? { ...p, predictedMs: SLEEP_MS, overheadMs: SLEEP_MS, workMs: 0 } : { ...p, predictedMs: 5, overheadMs: 5, workMs: 0 }));
  record.options = { ...record.options, executor: 'bullmq', deadlineAt: now + DEADLINE_MS };
  await store.createRun(record, initialState(record.runId, dag.name, record.plan, now));
  await submitRun(store, record, url, env);

  const pods: Pod[] = [];
  let workerMs = 0;
  let peak = 0;
  let finishedAt: number | undefined;
  const stopping: Array<Promise<void>> = [];
  const t0 = Date.now();
  for (;;) {
    const at = Date.now();
    if (at - t0 > DEADLINE_MS * 6) throw new Error(`autoscale bench (${mode}): run not finished after ${(at - t0) / 1000}s`);
    const meta = await store.meta(record.runId);
    if (finishedAt === undefined && meta !== null && meta.phase !== 'running' && meta.phase !== 'pending') {
      if (meta.phase !== 'succeeded') throw new Error(`autoscale bench (${mode}): run ended ${meta.phase}`);
      finishedAt = (await store.getState(record.runId))?.finishedAt ?? at;
    }
    const d = await demand();
    const want = hpa.step(at, mode === 'queue' ? d.workJobs : d.demandSlots, pods.length);
    while (pods.length < want) {
      const proc = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--concurrency', String(CONCURRENCY), '--grace', '10s', '--sweep', '1s'], { stdio: ['ignore', 'ignore', 'ignore'], env });
      const startedAt = Date.now();
      pods.push({ proc, startedAt, exited: once(proc, 'exit').then(() => Date.now()) });
    }
    while (pods.length > want) {
      const pod = pods.pop() as Pod;
      pod.proc.kill('SIGTERM');
      stopping.push(pod.exited.then((end) => void (workerMs += end - pod.startedAt)));
    }
    peak = Math.max(peak, pods.length);
    if (finishedAt !== undefined && pods.length === 0) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await Promise.all(stopping);
  const makespanMs = (finishedAt ?? Date.now()) - now;
  return { met: makespanMs <= DEADLINE_MS, makespanMs, workerSeconds: workerMs / 1000, peakPods: peak };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchAutoscale();
  for (const l of r.lines) process.stdout.write(l + '\n');
  process.stdout.write(JSON.stringify(r.metrics) + '\n');
}
