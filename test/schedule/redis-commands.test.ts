/**
 * The scheduling commands against real Redis (`eval "$(scripts/provision/redis.sh start)"`), with
 * a real `dagctl worker`:
 *   - `dagctl backfill --redis`: one run per interval submitted to the worker, ids the scheduler
 *     would give those ticks; a repeat finds them all done;
 *   - `dagctl schedules --redis` / `pause --redis` / `unpause --redis`: the shared state;
 *   - data triggers in the distributed scheduler (`dagctl scheduler --redis` processes): a new
 *     commit to the master dataset makes exactly one run, reading only the changed partition; the
 *     scheduler SIGKILLed, a commit landing while none runs, a new scheduler: exactly one more run
 *     for just that commit, none repeated; `schedules --redis` then says nothing is pending; with
 *     `--trigger-settle 10ms` the seen markers fold into the dataset's floor (no key left listed),
 *     and a second SIGKILLed scheduler's successor, from that floor, runs the next commit once and
 *     repeats none;
 *   - the trigger state is fenced: a process whose lease value is not sched:leader's cannot write it.
 * Waits are conditions on Redis (liveness bounds), never sleeps.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../gen/generate.js';
import { tickRunId } from '../../scheduler/create-run.js';
import type { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { SCHED_LEADER } from '../../scheduler/redis/keys.js';
import { RedisScheduleState } from '../../scheduler/schedule/redis-state.js';
import { listSourceCommits } from '../../storage/dataset/source.js';
import { openObjectStore } from '../../storage/open.js';
import { openRunStore } from '../../workers/bullmq/submit.js';
import { BIN, Cluster } from '../distributed/cluster.js';
import { redisUrl, requireRedis, testRedis } from '../distributed/redis-env.js';
import { runCli } from '../definitions/support/cli-io.js';
import { until } from '../helpers/until.js';

describe('scheduling commands on Redis (backfill, schedules, pause, data triggers)', function () {
  requireRedis(this);
  this.timeout(180_000);
  let dir: string;
  let cluster: Cluster;
  let store: RedisRunStore;
  const scheds: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-sched-redis-'));
    cluster = new Cluster();
    store = await openRunStore(redisUrl());
    await cluster.startWorker(['--concurrency', '2']);
  });
  after(async () => {
    for (const s of scheds) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
    await cluster.stopAll();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('backfill --redis: one run per interval through the worker; a repeat finds them done', async () => {
    const name = `bf-${Date.now().toString(36)}`;
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\nschedule: { cron: "0 0 * * *", timezone: Europe/Berlin }\ntasks:\n  - { name: a, operator: noop }\n`);
    const ticks = ['2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'].map((t) => Date.parse(t));
    const r = await runCli(['backfill', file, '--from', '2026-03-27', '--to', '2026-03-30', '--parallel', '2', '--redis', redisUrl(), '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { intervals: number; created: number; found: number; succeeded: number; runs: Array<{ runId: string }> };
    assert.deepEqual([rep.intervals, rep.created, rep.found, rep.succeeded], [3, 3, 0, 3]);
    assert.deepEqual(rep.runs.map((x) => x.runId), ticks.map((t) => tickRunId(name, t)));
    const runs = await store.listRuns({ dag: name });
    assert.deepEqual(runs.map((x) => [x.runId, x.phase, x.trigger.kind]).sort(), ticks.map((t) => [tickRunId(name, t), 'succeeded', 'backfill']).sort());
    const again = JSON.parse((await runCli(['backfill', file, '--from', '2026-03-27', '--to', '2026-03-30', '--redis', redisUrl(), '--json'], dir)).stdout) as typeof rep;
    assert.deepEqual([again.intervals, again.created, again.found], [3, 0, 3]);
    assert.equal((await store.listRuns({ dag: name })).length, 3);
  });

  it('schedules --redis, pause --redis, unpause --redis: the shared state', async () => {
    const name = `sc-${Date.now().toString(36)}`;
    const sub = join(dir, 'sc');
    await rm(sub, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(sub);
    await writeFile(join(sub, `${name}.yaml`), `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\nschedule: { every: 1h }\ntasks:\n  - { name: a, operator: noop }\n`);
    const list = async () => {
      const r = await runCli(['schedules', sub, '--redis', redisUrl(), '--json'], dir);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { schedules: Array<{ dag: string; paused: boolean; nextTick: string | null }> }).schedules;
    };
    const before = await list();
    assert.deepEqual(before.map((s) => [s.dag, s.paused]), [[name, false]]);
    assert.equal(Date.parse(before[0]?.nextTick ?? '') % 3_600_000, 0);
    assert.equal((await runCli(['pause', name, '--redis', redisUrl()], dir)).code, 0);
    assert.equal((await list())[0]?.paused, true);
    assert.equal((await runCli(['unpause', name, '--redis', redisUrl()], dir)).code, 0);
    assert.equal((await list())[0]?.paused, false);
  });

  it('data triggers in the distributed scheduler: one run per new commit, across a SIGKILLed scheduler', async () => {
    const name = `dt-${Date.now().toString(36)}`;
    const sub = join(dir, 'dt');
    await (await import('node:fs/promises')).mkdir(sub, { recursive: true });
    const file = join(sub, `${name}.yaml`);
    await writeFile(
      file,
      `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\ntriggers:\n  - { dataset: pv }\ndatasets:\n  pv: { uri: ../data/pv, partitionBy: date }\n  changed: { uri: ../data/pv, partitionBy: date, partitions: "\${run.changedPartitions}" }\ntasks:\n  - { name: a, operator: noop, inputs: [pv, changed] }\n`,
    );
    const master = await openObjectStore(pathToFileURL(join(dir, 'data', 'pv')).href);
    const addDay = (date: string, seed: number) => generate('pageviews', { store: master, rows: 50, seed, start: date, days: 1, persons: 20 });
    const start = async (): Promise<{ child: ChildProcess; err: () => string }> => {
      const child = spawn(process.execPath, [BIN, 'scheduler', file, '--redis', redisUrl(), '--lease', '2s', '--trigger-poll', '100ms', '--trigger-settle', '10ms'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      scheds.push(child);
      let out = '';
      let err = '';
      child.stdout?.on('data', (b: Buffer) => (out += String(b)));
      child.stderr?.on('data', (b: Buffer) => (err += String(b)));
      await until('scheduler started', 20_000, () => out.includes('\n'));
      return { child, err: () => err };
    };
    const runs = async () => (await store.listRuns({ dag: name })).sort((a, b) => a.createdAt - b.createdAt);
    const done = (n: number) => async () => {
      const rs = await runs();
      return rs.length === n && rs.every((r) => r.phase === 'succeeded');
    };

    await addDay('2024-05-01', 1);
    const a = await start();
    await until('the first run succeeded', 60_000, done(1)).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${a.err()}`);
    });
    let rs = await runs();
    assert.equal(rs[0]?.trigger.kind, 'data');
    assert.deepEqual(rs[0]?.trigger.kind === 'data' ? rs[0].trigger.partitions : null, ['2024-05-01']);

    await addDay('2024-05-02', 2);
    await until('the second run succeeded', 60_000, done(2));
    const second = await store.getRecord((await runs())[1]?.runId ?? '');
    assert.deepEqual([...new Set((second?.sources.changed ?? []).map((f) => f.partition))], ['2024-05-02']);
    assert.deepEqual([...new Set((second?.sources.pv ?? []).map((f) => f.partition))], ['2024-05-01', '2024-05-02']);

    // The scheduler dies; a commit lands while none runs; a new one takes the lease.
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    await addDay('2024-05-03', 3);
    const b = await start();
    await until('the third run succeeded', 60_000, done(3)).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${b.err()}`);
    });
    rs = await runs();
    assert.deepEqual(rs.map((r) => (r.trigger.kind === 'data' ? r.trigger.partitions : null)), [['2024-05-01'], ['2024-05-02'], ['2024-05-03']]);
    assert.equal(rs.reduce((n, r) => n + (r.trigger.kind === 'data' ? (r.trigger.commits ?? 0) : 0), 0), (await listSourceCommits(master, { format: 'parquet', partitionBy: 'date' })).commits.length);

    const sc = await runCli(['schedules', file, '--redis', redisUrl(), '--json'], dir);
    assert.equal(sc.code, 0, sc.stderr);
    const t = (JSON.parse(sc.stdout) as { schedules: Array<{ triggers: { seen: number; pending: number } | null }> }).schedules[0]?.triggers;
    assert.deepEqual([t?.seen, t?.pending], [3, 0]);

    // Compaction: the three gen markers, given runs, fold into pv's floor — the state lists no key.
    const redis = await testRedis();
    try {
      const state = new RedisScheduleState(redis, () => '');
      await until('the seen markers folded into the floor', 30_000, async () => {
        const st = await state.getTriggers(name);
        return st.seen.length === 0 && st.floors?.pv?.count === 3;
      });
      // The successor of a SIGKILLed scheduler starts from the floor: the next commit runs once, none again.
      b.child.kill('SIGKILL');
      await new Promise((r) => b.child.once('exit', r));
      await addDay('2024-05-04', 4);
      const c = await start();
      await until('the fourth run succeeded', 60_000, done(4)).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${c.err()}`);
      });
      await until('the fourth marker folded too', 30_000, async () => (await state.getTriggers(name)).floors?.pv?.count === 4);
      rs = await runs();
      assert.deepEqual(rs.map((r) => (r.trigger.kind === 'data' ? r.trigger.partitions : null)), [['2024-05-01'], ['2024-05-02'], ['2024-05-03'], ['2024-05-04']]);
      assert.deepEqual((await state.getTriggers(name)).seen, []);
      c.child.kill('SIGTERM');
      await new Promise((r) => c.child.once('exit', r));
    } finally {
      redis.disconnect();
    }
    assert.equal((await runs()).length, 4, 'no run repeated');
  });

  it('the trigger state is fenced by the leader lease', async () => {
    const redis = await testRedis();
    const value = `999999:fence-test-${process.pid}`;
    try {
      await until('no leader (the last scheduler stopped or its lease expired)', 30_000, async () => (await redis.get(SCHED_LEADER)) === null);
      assert.equal(await redis.set(SCHED_LEADER, value, 'PX', 30_000, 'NX'), 'OK');
      const dag = `fence-${Date.now().toString(36)}`;
      const deposed = new RedisScheduleState(redis, () => '1:someone-else');
      const leader = new RedisScheduleState(redis, () => value);
      assert.equal(await deposed.putTriggers(dag, { seen: ['x:1'] }), false);
      assert.deepEqual(await leader.getTriggers(dag), { seen: [] });
      assert.equal(await leader.putTriggers(dag, { seen: ['x:1'], lastFireAt: 5 }), true);
      assert.equal(await deposed.putTriggers(dag, { seen: [] }), false);
      assert.deepEqual(await leader.getTriggers(dag), { seen: ['x:1'], lastFireAt: 5 });
    } finally {
      if ((await redis.get(SCHED_LEADER)) === value) await redis.del(SCHED_LEADER);
      redis.disconnect();
    }
  });
});
