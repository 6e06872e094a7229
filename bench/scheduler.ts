/**
 * Distributed scheduler benchmarks (Redis + BullMQ + `dagctl worker` processes), all against a
 * private redis-server started here (AOF on, free loopback port):
 *   1. throughput on 10,000-instance no-op DAGs (wide: root → 9,998 buckets → sink; chain:
 *      10,000 tasks in a row) with 2 workers, against raw BullMQ — the same number of independent
 *      no-op jobs through 2 plain BullMQ workers on the same Redis, measured in the same run;
 *   2. dependent-task latency on a 40-task chain: a task's finishedAt → its successor's startedAt;
 *   3. CPU-bound throughput (noop cpuMs) with 1 vs 2 workers (concurrency 1 each).
 * Precondition: redis-server on PATH (scripts/provision/redis.sh installs it), a built dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { initialState, type RunState } from '../scheduler/engine/state.js';
import { connectRedis } from '../scheduler/redis/connection.js';
import { RedisRunStore } from '../scheduler/redis/redis-run-store.js';
import { submitRun } from '../workers/bullmq/submit.js';
import { chain, dagOf, noopTask, recordOf } from '../test/helpers/dags.js';
import type { DagSpec } from '../definitions/types.js';
import { median, percentile, type BenchResult } from './types.js';

const BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));
const RAW = fileURLToPath(new URL('./scheduler-raw-worker.js', import.meta.url));
const N = Number(process.env.DAGCTL_BENCH_SCHED_N ?? 10_000);
const WORKER_CONCURRENCY = Number(process.env.DAGCTL_BENCH_SCHED_CONCURRENCY ?? 8);

export async function benchScheduler(): Promise<BenchResult> {
  const redis = await startRedis();
  const procs: ChildProcess[] = [];
  const conn = await connectRedis(redis.url, 'worker');
  const store = new RedisRunStore(conn);
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  try {
    // 1. Raw BullMQ baseline, then dagctl, on the same Redis.
    const rawMs = await rawBullmq(redis.url, N, procs);
    metrics.raw_jobs_per_s = (N / rawMs) * 1000;
    const workers = [await startWorker(redis.url, WORKER_CONCURRENCY, procs), await startWorker(redis.url, WORKER_CONCURRENCY, procs)];
    const wide = dagOf('bench-wide', [noopTask('root'), noopTask('fan', { dependsOn: ['root'], params: { buckets: N - 2 } }), noopTask('sink', { dependsOn: ['fan'] })]);
    const wideMs = await timeRun(store, redis.url, wide);
    metrics.wide_instances_per_s = (N / wideMs) * 1000;
    metrics.wide_vs_raw = metrics.wide_instances_per_s / metrics.raw_jobs_per_s;
    const chainN = Number(process.env.DAGCTL_BENCH_SCHED_CHAIN ?? N);
    const chainMs = await timeRun(store, redis.url, { ...chain(chainN), name: 'bench-chain' });
    metrics.chain_instances_per_s = (chainN / chainMs) * 1000;
    metrics.chain_vs_raw = metrics.chain_instances_per_s / metrics.raw_jobs_per_s;
    lines.push(`raw BullMQ: ${N} no-op jobs, 2 workers × ${WORKER_CONCURRENCY}: ${fmt(metrics.raw_jobs_per_s)} jobs/s`);
    lines.push(`dagctl wide (${N} instances), 2 workers: ${fmt(metrics.wide_instances_per_s)} instances/s = ${metrics.wide_vs_raw.toFixed(2)}× raw (goal ≥ 0.5×)`);
    lines.push(`dagctl chain (${chainN} tasks in a row), 2 workers: ${fmt(metrics.chain_instances_per_s)} instances/s = ${metrics.chain_vs_raw.toFixed(2)}× raw (a chain is serial: this is 1/latency)`);

    // 2. Dependent-task latency.
    const lat: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const st = await runToEnd(store, redis.url, { ...chain(40), name: 'bench-latency' });
      for (let i = 1; i < 40; i++) {
        const prev = st.instances[`t${i - 1}.main`];
        const cur = st.instances[`t${i}.main`];
        if (prev?.finishedAt !== undefined && cur?.startedAt !== undefined) lat.push(cur.startedAt - prev.finishedAt);
      }
    }
    metrics.latency_p50_ms = median(lat);
    metrics.latency_p99_ms = percentile(lat, 99);
    lines.push(`dependent-task latency (40-task chain ×3): p50 ${metrics.latency_p50_ms} ms, p99 ${metrics.latency_p99_ms} ms (goal p50 < 5 ms)`);
    for (const w of workers) await stop(w);

    // 3. CPU-bound scaling, 1 vs 2 workers of concurrency 1.
    const cpuDag = dagOf('bench-cpu', [noopTask('burn', { params: { buckets: 16, cpuMs: 250 } })]);
    const one = await startWorker(redis.url, 1, procs);
    const t1 = await timeRun(store, redis.url, cpuDag);
    const two = await startWorker(redis.url, 1, procs);
    const t2 = await timeRun(store, redis.url, cpuDag);
    await stop(one);
    await stop(two);
    metrics.cpu_1_worker_ms = t1;
    metrics.cpu_2_workers_ms = t2;
    metrics.cpu_speedup = t1 / t2;
    lines.push(`CPU-bound (16 × 250 ms): 1 worker ${fmt(t1)} ms, 2 workers ${fmt(t2)} ms = ${metrics.cpu_speedup.toFixed(2)}× (goal ≥ 1.8×)`);
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    conn.disconnect();
    await redis.stop();
  }
  return { name: 'scheduler (distributed)', lines, metrics };
}

async function timeRun(store: RedisRunStore, url: string, dag: DagSpec): Promise<number> {
  const t0 = performance.now();
  const st = await runToEnd(store, url, dag);
  if (st.phase !== 'succeeded') throw new Error(`bench run ${dag.name} ended ${st.phase}`);
  return performance.now() - t0;
}

export async function runToEnd(store: RedisRunStore, url: string, dag: DagSpec): Promise<RunState> {
  const record = recordOf(dag, `${dag.name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`, Date.now());
  await store.createRun(record, initialState(record.runId, dag.name, record.plan, record.createdAt));
  await submitRun(store, record, url);
  for (;;) {
    const meta = await store.meta(record.runId);
    if (meta !== null && meta.phase !== 'running' && meta.phase !== 'pending') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await store.getState(record.runId)) as RunState;
}

async function rawBullmq(url: string, n: number, procs: ChildProcess[]): Promise<number> {
  const u = new URL(url);
  const q = new Queue('bench-raw', { connection: { host: u.hostname, port: Number(u.port) } });
  const ws = [await startRaw(url, procs), await startRaw(url, procs)];
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { jobId: `raw.${i + j}`, removeOnComplete: true } })));
  }
  for (;;) {
    const c = await q.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
    if ((c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - t0;
  for (const w of ws) await stop(w);
  await q.close();
  return ms;
}

async function startRaw(url: string, procs: ChildProcess[]): Promise<ChildProcess> {
  const p = spawn(process.execPath, [RAW, url, 'bench-raw', String(WORKER_CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  await new Promise<void>((resolve) => p.stdout?.on('data', () => resolve()));
  return p;
}

export async function startWorker(url: string, concurrency: number, procs: ChildProcess[]): Promise<ChildProcess> {
  const p = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--concurrency', String(concurrency), '--port', '0', '--host', '127.0.0.1', '--sweep', '5s'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, DAGCTL_LOG_LEVEL: 'warn' },
  });
  procs.push(p);
  await new Promise<void>((resolve) => p.stdout?.on('data', () => resolve()));
  return p;
}

export async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  p.kill('SIGTERM');
  await once(p, 'exit');
}

export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'dagctl-bench-redis-'));
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await connectRedis(url, 'client');
      r.disconnect();
      break;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchScheduler();
  for (const l of r.lines) process.stdout.write(l + '\n');
  process.stdout.write(JSON.stringify(r.metrics) + '\n');
}
