/**
 * Orchestration overhead against orchestrator peers, in one run: the same no-op DAGs — one task,
 * a chain of 100, 1,000 independent tasks (wide) and a diamond — on
 *   - dagctl embedded (driveRun, durable local state, 2 threads; no-ops run inline),
 *   - dagctl on BullMQ (2 `dagctl worker` processes on a private redis-server; skipped without
 *     redis-server on PATH: scripts/provision/redis.sh installs it),
 *   - Dagster (execute_in_process) and Prefect 3 (a flow calling its tasks; wide submits them),
 *     from PyPI in venvs of the per-machine tool cache (scripts/provision/orchestrators.sh; a peer
 *     that cannot be installed is skipped, saying why).
 * Per system: wall time of the run (median of REPS), per-task overhead = (chain of 100 − one
 * task) / 99, the dependent hop inside the run (a task's end → its successor's start; dagctl from
 * the run state, peers from the task bodies' clocks) and wide throughput; then dagctl's ratios.
 * ORCH_SYSTEMS=embedded,bullmq,dagster,prefect picks systems (default all; embedded always runs).
 * ORCH_REPS sets REPS for dagctl (default 3), ORCH_PEER_REPS for the peers (default 1: Dagster's
 * wide run alone takes minutes on a loaded 2-core machine).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { driveRun } from '../../scheduler/driver.js';
import { initialState, type RunState } from '../../scheduler/engine/state.js';
import { connectRedis } from '../../scheduler/redis/connection.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import type { DagSpec } from '../../definitions/types.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { chain, dagOf, diamond, noopTask, recordOf } from '../../test/helpers/dags.js';
import { runToEnd, startRedis, startWorker, stop } from '../scheduler.js';
import { median, type BenchResult } from '../types.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const HARNESS = join(REPO, 'bench/peers/orchestrators.py');

type Shape = 'one' | 'chain100' | 'wide1000' | 'diamond';

interface SystemResult {
  system: string;
  /** Median wall seconds per shape. */
  shapes: Record<Shape, number>;
  /** Dependent hops of the chain of 100, seconds. */
  hops: number[];
}

function dags(): Record<Shape, DagSpec> {
  return {
    one: dagOf('one', [noopTask('t0')]),
    chain100: chain(100),
    wide1000: dagOf('wide1000', Array.from({ length: 1000 }, (_, i) => noopTask(`w${i}`))),
    diamond: diamond(),
  };
}

function chainHops(st: RunState, n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < n; i++) {
    const prev = st.instances[`t${i - 1}.main`];
    const cur = st.instances[`t${i}.main`];
    if (prev?.finishedAt !== undefined && cur?.startedAt !== undefined) out.push((cur.startedAt - prev.finishedAt) / 1000);
  }
  return out;
}

const preciseNow = (): number => performance.timeOrigin + performance.now();

async function embedded(reps: number): Promise<SystemResult> {
  const home = await mkdtemp(join(tmpdir(), 'dagctl-orch-'));
  const store = new LocalRunStore(home);
  const res: SystemResult = { system: 'dagctl embedded', shapes: { one: 0, chain100: 0, wide1000: 0, diamond: 0 }, hops: [] };
  try {
    for (const [shape, dag] of Object.entries(dags()) as Array<[Shape, DagSpec]>) {
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const record = recordOf(dag, `orch-${shape}-${r}-${Math.random().toString(36).slice(2, 8)}`);
        await store.createRun(record, initialState(record.runId, dag.name, record.plan, Date.now()));
        const t0 = performance.now();
        const st = await driveRun({ store, record, now: preciseNow, makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, { concurrency: 2, now: preciseNow }) });
        times.push((performance.now() - t0) / 1000);
        if (st.phase !== 'succeeded') throw new Error(`embedded ${shape} ended ${st.phase}`);
        if (shape === 'chain100') res.hops.push(...chainHops(st, 100));
      }
      res.shapes[shape] = median(times);
    }
  } finally {
    await store.close();
    await rm(home, { recursive: true, force: true });
  }
  return res;
}

async function bullmq(reps: number): Promise<SystemResult | string> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return 'dagctl on BullMQ skipped: no redis-server on PATH (eval "$(scripts/provision/redis.sh start)" installs one)';
  const redis = await startRedis();
  const procs: ChildProcess[] = [];
  const conn = await connectRedis(redis.url, 'worker');
  const store = new RedisRunStore(conn);
  const res: SystemResult = { system: 'dagctl on BullMQ (2 workers)', shapes: { one: 0, chain100: 0, wide1000: 0, diamond: 0 }, hops: [] };
  try {
    await startWorker(redis.url, 8, procs);
    await startWorker(redis.url, 8, procs);
    await runToEnd(store, redis.url, dags().one); // warm: workers' first job
    for (const [shape, dag] of Object.entries(dags()) as Array<[Shape, DagSpec]>) {
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        const st = await runToEnd(store, redis.url, dag);
        times.push((performance.now() - t0) / 1000);
        if (st.phase !== 'succeeded') throw new Error(`bullmq ${shape} ended ${st.phase}`);
        if (shape === 'chain100') res.hops.push(...chainHops(st, 100));
      }
      res.shapes[shape] = median(times);
    }
  } finally {
    for (const p of procs) await stop(p);
    conn.disconnect();
    await redis.stop();
  }
  return res;
}

/** The peers' pythons from the provisioning script, or why there are none. */
function provision(): { pythons: Record<string, string>; notes: string[] } {
  const r = spawnSync('bash', [join(REPO, 'scripts/provision/orchestrators.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const pythons: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/export DAGCTL_(DAGSTER|PREFECT)_PYTHON=(\S+)/g)) pythons[(m[1] ?? '').toLowerCase()] = m[2] ?? '';
  const notes = ['dagster', 'prefect'].filter((p) => pythons[p] === undefined).map((p) => `${p} skipped: not installable here (${r.stderr.trim().split('\n').filter((l) => l.includes(p)).pop() ?? `orchestrators.sh exited ${r.status}`})`);
  return { pythons, notes };
}

function peer(system: string, python: string, reps: number): SystemResult | string {
  // Prefect's ephemeral API server needs more than its default 20 s to start on a loaded machine.
  const env = { ...process.env, PREFECT_HOME: join(tmpdir(), 'dagctl-bench-prefect'), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: '600', DAGSTER_HOME: '' };
  const r = spawnSync(python, [HARNESS, system, String(reps)], { encoding: 'utf8', env, timeout: 900_000 });
  if (r.status !== 0) return `${system} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as SystemResult & { firstRunS: number };
  return { system: system === 'dagster' ? 'Dagster execute_in_process' : 'Prefect 3 (flow of tasks)', shapes: out.shapes, hops: out.hops };
}

export async function benchOrchestrators(): Promise<BenchResult> {
  const reps = Number(process.env.ORCH_REPS ?? 3);
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const only = new Set((process.env.ORCH_SYSTEMS ?? 'embedded,bullmq,dagster,prefect').split(','));
  const results: SystemResult[] = [await embedded(reps)];
  const b = only.has('bullmq') ? await bullmq(reps) : 'dagctl on BullMQ not selected (ORCH_SYSTEMS)';
  if (typeof b === 'string') lines.push(b);
  else results.push(b);
  const { pythons, notes } = provision();
  lines.push(...notes);
  for (const [system, python] of Object.entries(pythons).filter(([s]) => only.has(s))) {
    const r = peer(system, python, Number(process.env.ORCH_PEER_REPS ?? 1));
    if (typeof r === 'string') lines.push(r);
    else results.push(r);
  }
  const fmtMs = (s: number): string => `${(s * 1000).toFixed(2)} ms`;
  lines.push(`orchestration overhead, no-op DAGs, median of ${reps} runs for dagctl, ${process.env.ORCH_PEER_REPS ?? 1} for the peers (2 cores, shared):`);
  lines.push(`  ${'system'.padEnd(30)} ${'1 task'.padStart(10)} ${'per task (chain)'.padStart(17)} ${'hop median'.padStart(11)} ${'wide 1,000/s'.padStart(13)} ${'diamond'.padStart(10)}`);
  const stats = results.map((r) => ({
    r,
    perTask: (r.shapes.chain100 - r.shapes.one) / 99,
    hop: median(r.hops),
    wide: 1000 / r.shapes.wide1000,
  }));
  for (const s of stats) {
    lines.push(`  ${s.r.system.padEnd(30)} ${fmtMs(s.r.shapes.one).padStart(10)} ${fmtMs(s.perTask).padStart(17)} ${fmtMs(s.hop).padStart(11)} ${String(Math.round(s.wide)).padStart(13)} ${fmtMs(s.r.shapes.diamond).padStart(10)}`);
    metrics[`${s.r.system} perTaskMs`] = s.perTask * 1000;
    metrics[`${s.r.system} hopMs`] = s.hop * 1000;
    metrics[`${s.r.system} widePerSec`] = s.wide;
  }
  const [emb, ...others] = stats;
  for (const o of others) {
    if (emb === undefined) break;
    lines.push(`  dagctl embedded vs ${o.r.system}: hop ${(o.hop / emb.hop).toFixed(1)}× shorter, per-task ${(o.perTask / emb.perTask).toFixed(1)}× cheaper, wide ${(emb.wide / o.wide).toFixed(1)}× the throughput`);
  }
  const bull = stats.find((s) => s.r.system.startsWith('dagctl on BullMQ'));
  if (bull !== undefined) for (const o of others.filter((x) => !x.r.system.startsWith('dagctl'))) lines.push(`  dagctl on BullMQ vs ${o.r.system}: hop ${(o.hop / bull.hop).toFixed(1)}× shorter, wide ${(bull.wide / o.wide).toFixed(1)}× the throughput`);
  return { name: 'orchestrators', lines, metrics };
}
