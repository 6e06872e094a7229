/**
 * Highly available scheduling on real Redis: two `dagctl scheduler --redis` processes and a
 * `dagctl worker`, a DAG every 100 ms (catchup: all, overlap: queue). The leader is SIGKILLed
 * mid-way; the other takes the lease over and catches up. Over ≥ 100 ticks in all: every tick
 * between the first and the last has exactly one run (deterministic id), no tick was lost, and
 * every run that ran ran its task once (one attempt). Waits are conditions on Redis and on /metrics.
 * A leader killed between storing a tick's run and listing it (two Redis writes): the next leader,
 * re-planning the tick, lists the run and starts it (held at that point by the test: the state the
 * kill leaves, written by hand, and the new leader's step under a fixed clock).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tickRunId } from '../../scheduler/create-run.js';
import { ACTIVE_RUNS, RUNS_INDEX, SCHED_CURSOR, runsOfDagKey } from '../../scheduler/redis/keys.js';
import type { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { DagCatalog } from '../../scheduler/schedule/catalog.js';
import { distributedRuntime } from '../../scheduler/schedule/distributed.js';
import { createIntervalRun } from '../../scheduler/schedule/launch.js';
import { SchedulerService } from '../../scheduler/schedule/service.js';
import { openRunStore } from '../../workers/bullmq/submit.js';
import { BIN, Cluster } from '../distributed/cluster.js';
import { redisUrl, requireRedis } from '../distributed/redis-env.js';
import { PrivateRedis } from '../distributed/redis-server.js';
import { until } from '../helpers/until.js';

interface Sched {
  child: ChildProcess;
  port: number;
  err: () => string;
  exited: Promise<number | null>;
}

async function startScheduler(dir: string, file: string, url = redisUrl()): Promise<Sched> {
  const child = spawn(process.execPath, [BIN, 'scheduler', file, '--redis', url, '--port', '0', '--lease', '2s'], { cwd: dir, env: { ...process.env, DAGCTL_HOME: join(dir, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += String(b)));
  child.stderr?.on('data', (b: Buffer) => (err += String(b)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await until('scheduler started', 20_000, () => out.includes('\n'));
  const port = (JSON.parse(out.split('\n')[0] ?? '') as { scheduler: { port: number } }).scheduler.port;
  return { child, port, err: () => err, exited };
}

async function isLeader(s: Sched): Promise<boolean> {
  const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  return /^dagctl_scheduler_leader 1$/m.test(text);
}

describe('scheduler HA on Redis (two replicas, leader SIGKILLed)', function () {
  requireRedis(this);
  this.timeout(300_000);
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  let store: RedisRunStore | undefined;
  const procs: Sched[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-ha-'));
    cluster = new Cluster();
    store = await openRunStore(redisUrl());
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await cluster?.stopAll();
    await store?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('≥ 100 ticks, each with exactly one run, none lost across the failover', async () => {
    if (dir === undefined || cluster === undefined || store === undefined) throw new Error('setup failed');
    const st = store;
    const name = `ha-${Date.now().toString(36)}`;
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\nschedule: { every: 100ms, catchup: all, overlap: queue }\ntasks:\n  - { name: a, operator: noop }\n`);
    await cluster.startWorker(['--concurrency', '2']);
    const a = await startScheduler(dir, file);
    procs.push(a);
    await until('a leader', 60_000, () => isLeader(a));
    const b = await startScheduler(dir, file);
    procs.push(b);
    const count = async () => (await st.listRuns({ dag: name })).length;
    await until('50 runs', 60_000, async () => (await count()) >= 50);
    // Kill whichever leads now (under heavy load a lease can move on its own: that is allowed).
    let leader: Sched | undefined;
    await until('one leader', 60_000, async () => {
      const flags = await Promise.all([isLeader(a), isLeader(b)]);
      leader = flags[0] === true && flags[1] === false ? a : flags[1] === true && flags[0] === false ? b : undefined;
      return leader !== undefined;
    });
    const dead = leader as Sched;
    const survivor = dead === a ? b : a;
    dead.child.kill('SIGKILL');
    await dead.exited;
    const atKill = await count();
    await until('the other takes over', 60_000, () => isLeader(survivor));
    await until('110 runs in all, 30 after the failover', 60_000, async () => (await count()) >= Math.max(110, atKill + 30));
    // Runs queue behind each other (overlap: queue), so how many a loaded machine has finished by now
    // varies: wait for 10 (a liveness bound), rather than assert a count that depends on its speed.
    const finishedCount = async (): Promise<number> => {
      let n = 0;
      for (const r of await st.listRuns({ dag: name })) if (r.phase === 'succeeded') n++;
      return n;
    };
    await until('10 runs finished', 120_000, async () => (await finishedCount()) >= 10);
    survivor.child.kill('SIGTERM');
    assert.equal(await survivor.exited, 0, survivor.err());

    const runs = await st.listRuns({ dag: name });
    const ticks = runs.map((r) => Date.parse((r.trigger as { at: string }).at)).sort((x, y) => x - y);
    assert.ok(runs.length >= 100, `${runs.length} runs`);
    assert.equal(new Set(ticks).size, runs.length, 'a tick has two runs');
    for (const r of runs) {
      assert.equal(r.trigger.kind, 'schedule');
      assert.equal(r.runId, tickRunId(name, Date.parse((r.trigger as { at: string }).at)));
    }
    const first = ticks[0] as number;
    const last = ticks[ticks.length - 1] as number;
    if (runs.length !== (last - first) / 100 + 1) {
      // Name each tick without a listed run, and whether its run exists unlisted (stored, its
      // creator killed before listing it) or was never made.
      const listed = new Set(ticks);
      const gaps: string[] = [];
      for (let t = first; t <= last; t += 100) {
        if (!listed.has(t)) gaps.push(`${new Date(t).toISOString()} (${(await st.getRecord(tickRunId(name, t))) === null ? 'no run' : 'run stored but not listed'})`);
      }
      assert.fail(`a tick between the first and the last has no listed run: ${gaps.join(', ')}\n${dead.err()}\n${survivor.err()}`);
    }
    // overlap: queue runs them one after another, so a backlog of pending runs is left when the
    // last scheduler stops; every run that did run ran its task once.
    let finished = 0;
    for (const r of runs) {
      const state = await st.getState(r.runId);
      if (state?.phase !== 'succeeded') continue;
      finished++;
      assert.equal(state.instances['a.main']?.attempts, 1, `${r.runId} ran its task more than once`);
    }
    assert.ok(finished >= 10, `${finished} runs finished`);
  });

  it('a scheduler that loses Redis retries, keeps its cursor, and resumes: no tick twice, none lost', async () => {
    if (dir === undefined) throw new Error('setup failed');
    const redis = new PrivateRedis();
    await redis.start();
    try {
      const name = `lost-${Date.now().toString(36)}`;
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\nschedule: { every: 100ms, catchup: all, overlap: queue }\ntasks:\n  - { name: a, operator: noop }\n`);
      const s = await startScheduler(dir, file, redis.url);
      procs.push(s);
      const runsNow = async () => {
        const st = await openRunStore(redis.url);
        try {
          return await st.listRuns({ dag: name });
        } finally {
          await st.close();
        }
      };
      await until('20 runs', 60_000, async () => (await runsNow()).length >= 20);
      await redis.stop();
      await until('not ready without Redis', 60_000, async () => (await fetch(`http://127.0.0.1:${s.port}/readyz`)).status === 503);
      await redis.start();
      const before = (await runsNow()).length;
      await until('20 more runs after Redis is back', 60_000, async () => (await runsNow()).length >= before + 20);
      s.child.kill('SIGTERM');
      assert.equal(await s.exited, 0, s.err());
      const runs = await runsNow();
      const ticks = runs.map((r) => Date.parse((r.trigger as { at: string }).at)).sort((x, y) => x - y);
      assert.equal(new Set(ticks).size, runs.length, 'a tick has two runs');
      for (const r of runs) assert.equal(r.runId, tickRunId(name, Date.parse((r.trigger as { at: string }).at)));
      assert.equal(runs.length, ((ticks[ticks.length - 1] as number) - (ticks[0] as number)) / 100 + 1, 'a tick has no run');
    } finally {
      await redis.destroy();
    }
  });

  it('a leader killed between storing a tick\'s run and listing it: the next leader lists the run and starts it', async () => {
    if (dir === undefined) throw new Error('setup failed');
    const redis = new PrivateRedis();
    await redis.start();
    const st = await openRunStore(redis.url);
    const logs: string[] = [];
    const runtime = await distributedRuntime({ paths: [], home: join(dir, 'home-half'), redisUrl: redis.url, leaseMs: 2000, log: (l) => logs.push(l) });
    try {
      const name = `half-${Date.now().toString(36)}`;
      const file = join(dir, `${name}.yaml`);
      const text = `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\nschedule: { every: 100ms, catchup: all, overlap: queue }\ntasks:\n  - { name: a, operator: noop }\n`;
      await writeFile(file, text);
      const catalog = new DagCatalog([file]);
      await catalog.refresh();
      const d = catalog.dags()[0];
      assert.ok(d?.schedule !== undefined);
      const schedule = d.schedule;
      const tick = Math.floor(Date.now() / 100) * 100;

      // What the dead leader left: the tick's run stored by the create script, but not the global
      // indexes written after it (it was killed in between), and the cursor still before the tick.
      const { record } = await createIntervalRun({ store: st, historyStore: st, file, text, schedule, tick, kind: 'schedule', executor: 'bullmq', now: Date.now() });
      assert.equal(record.runId, tickRunId(name, tick));
      await st.redis.multi().zrem(RUNS_INDEX, record.runId).zrem(runsOfDagKey(name), record.runId).srem(ACTIVE_RUNS, record.runId).exec();
      await st.redis.hset(SCHED_CURSOR, name, JSON.stringify({ cursor: tick - 100 }));
      assert.deepEqual(await st.listRuns({ dag: name }), []);

      // The next leader's step, its clock held just after the tick: it re-plans exactly that tick.
      const leader = runtime.leader as NonNullable<typeof runtime.leader>;
      await until('the new leader holds the lease', 20_000, () => leader.isLeader());
      const service = new SchedulerService({ dags: () => [d], launcher: runtime.launcher, state: runtime.state, leader, now: () => tick + 50, log: (l) => logs.push(l) });
      await service.step();
      assert.equal(service.metrics.stepErrors, 0, logs.join('\n'));
      assert.equal(service.metrics.runsExisting, 1, 'the tick\'s run was found, not made again');
      const listed = await st.listRuns({ dag: name });
      assert.deepEqual(listed.map((r) => r.runId), [record.runId], 'the tick\'s run is listed');
      assert.equal(listed[0]?.phase, 'running', 'and started (overlap: queue, nothing else running)');
      assert.equal(await st.redis.sismember(ACTIVE_RUNS, record.runId), 1);
      assert.equal((await runtime.state.get(name)).cursor, tick);
    } finally {
      await runtime.close();
      await st.close();
      await redis.destroy();
    }
  });
});
