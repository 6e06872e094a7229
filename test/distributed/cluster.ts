/**
 * Test harness for multi-process distributed runs: spawns real `dagctl worker` processes (the
 * built CLI) against the test Redis, submits runs through the same client code as `dagctl run
 * --redis`, and waits for them. Every process it spawns is tracked from the spawn on and killed in
 * stopAll(); a stopped cluster starts no more workers (a test that outlived its mocha timeout keeps
 * running in the background, and a worker it started then would take later tests' jobs).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { driveRun } from '../../scheduler/driver.js';
import { initialState, type RunState } from '../../scheduler/engine/state.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { runKeys } from '../../scheduler/redis/keys.js';
import type { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { MemoryRunStore } from '../../scheduler/stores/memory-run-store.js';
import type { DagSpec } from '../../definitions/types.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { Queues } from '../../workers/bullmq/queues.js';
import { submitRun } from '../../workers/bullmq/submit.js';
import { recordOf } from '../helpers/dags.js';
import { redisUrl, uniqueRunId } from './redis-env.js';

export const BIN = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));

export interface WorkerProc {
  name: string;
  child: ChildProcess;
  port: number;
  logs: string[];
  exited: Promise<number | null>;
}

export class Cluster {
  readonly workers: WorkerProc[] = [];
  private n = 0;
  private stopped = false;
  private readonly spawned = new Set<ChildProcess>();

  constructor(
    private readonly url: string = redisUrl(),
    private readonly extraArgs: string[] = ['--lock', '2s', '--sweep', '1s', '--grace', '5s'],
  ) {}

  async startWorker(args: string[] = []): Promise<WorkerProc> {
    if (this.stopped) throw new Error('this cluster was stopped: it starts no more workers');
    const name = `tw${this.n++}-${process.pid}`;
    const child = spawn(process.execPath, [BIN, 'worker', '--redis', this.url, '--port', '0', '--host', '127.0.0.1', '--name', name, ...this.extraArgs, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DAGCTL_LOG_LEVEL: 'info' },
    });
    const logs: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (d: string) => logs.push(...d.split('\n').filter((l) => l !== '')));
    this.spawned.add(child);
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      // A liveness bound (a loaded machine takes seconds to start a worker); a worker that did not
      // start is killed, so it cannot take a later test's jobs.
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`worker ${name} did not start within 180 s: ${logs.join('\n')}`));
      }, 180_000);
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const m = /"port":(\d+)/.exec(buf);
        if (m !== null) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`worker ${name} exited (${code}) before starting: ${logs.join('\n')}`)));
    });
    const w: WorkerProc = { name, child, port, logs, exited };
    this.workers.push(w);
    return w;
  }

  /** Polls until the worker logged a line containing `text` (liveness bound: 120 s). */
  async waitLog(w: WorkerProc, text: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!w.logs.some((l) => l.includes(text))) {
      if (Date.now() > deadline) throw new Error(`worker ${w.name} did not log "${text}" within ${timeoutMs} ms:\n${w.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  alive(): WorkerProc[] {
    return this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    const live = [...this.spawned].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of live) c.kill('SIGKILL');
    await Promise.all([...live.map((c) => once(c, 'exit')), ...this.workers.map((w) => w.exited)]);
  }

}

/** Stores and starts a run the way `dagctl run --redis` does. */
export async function submit(store: RedisRunStore, record: RunRecord, url = redisUrl()): Promise<void> {
  await store.createRun(record, initialState(record.runId, record.dag.name, record.plan, record.createdAt));
  await submitRun(store, record, url);
}

/**
 * Polls until the run finishes. `stallMs` bounds liveness, not speed: it fails (with the last
 * state) only when the run made no progress — the same phase, instance states and attempts — for
 * that long, so a loaded machine that runs slowly but steadily never fails it.
 */
export async function waitFinished(store: RedisRunStore, runId: string, stallMs: number, onTick?: (s: RunState) => void | Promise<void>): Promise<RunState> {
  let last: RunState | null = null;
  let seen = '';
  let changedAt = Date.now();
  for (;;) {
    last = await store.getState(runId);
    if (last !== null) {
      await onTick?.(last);
      if (last.phase === 'succeeded' || last.phase === 'failed' || last.phase === 'cancelled') return last;
      const now = progressOf(last);
      if (now !== seen) {
        seen = now;
        changedAt = Date.now();
      }
    }
    if (Date.now() - changedAt > stallMs) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} made no progress for ${stallMs} ms: ${progressOf(last)}`);
}

/** A run's progress as one comparable string: its phase, instance counts by state, and attempts. */
function progressOf(s: RunState | null): string {
  if (s === null) return 'no state';
  const counts: Record<string, number> = {};
  let attempts = 0;
  for (const x of Object.values(s.instances)) {
    counts[x.state] = (counts[x.state] ?? 0) + 1;
    attempts += x.attempts;
  }
  return `phase ${s.phase}, ${JSON.stringify(counts)}, ${attempts} attempts`;
}

/** What must be identical between two runs of the same DAG: phase, and per instance its state, attempts and outputs. */
export function outcome(s: RunState): unknown {
  return {
    phase: s.phase,
    instances: Object.fromEntries(Object.entries(s.instances).map(([id, x]) => [id, { state: x.state, attempts: x.attempts, errorCode: x.errorCode, outputs: x.result?.outputs ?? null }])),
  };
}

/** The same DAG run by the embedded executor (the reference outcome). */
export async function embedded(dag: DagSpec): Promise<RunState> {
  const store = new MemoryRunStore();
  const record = recordOf(dag, uniqueRunId('emb'));
  await store.createRun(record, initialState(record.runId, dag.name, record.plan, Date.now()));
  return driveRun({ store, record, makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, { concurrency: 2 }) });
}

/** Asserts nothing of the run is left queued/running, nor any of its jobs (single or bundle) in BullMQ. */
export async function nothingActive(redis: Redis, runId: string): Promise<void> {
  assert.equal(await redis.scard(runKeys(runId).active), 0, 'instances left queued/running');
  const q = new Queues(redis);
  try {
    // Jobs of this run still in BullMQ (finished ones are removed on completion).
    const counts = await q.get('default').getJobCounts('active', 'waiting', 'delayed', 'prioritized');
    const jobs = await q.get('default').getJobs(['active', 'waiting', 'delayed', 'prioritized']);
    assert.deepEqual(jobs.filter((j) => (j?.data as { runId?: string } | undefined)?.runId === runId).map((j) => j.id), [], `jobs left: ${JSON.stringify(counts)}`);
  } finally {
    await q.close();
  }
}

/** Sums one counter over the workers' /metrics endpoints. */
export async function metricSum(workers: readonly WorkerProc[], name: string): Promise<number> {
  let sum = 0;
  for (const w of workers) {
    const text = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text);
    sum += Number(m?.[1] ?? 0);
  }
  return sum;
}
