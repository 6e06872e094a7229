/**
 * The scheduling commands end to end: `dagctl backfill` (one run per interval, bounded
 * parallelism, idempotent repeat, resuming an interrupted run) in-process, and a real
 * `dagctl scheduler` process on an `every: 1s` DAG (catchup all, overlap queue): health endpoints,
 * metrics, an invalid edit kept out while ticks go on, graceful SIGTERM, and afterwards exactly
 * one run per tick with no tick missing between the first and the last. The test waits on
 * conditions (runs in the store, lines in the log), and asserts counts, never durations.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tickRunId } from '../../scheduler/create-run.js';
import { createIntervalRun } from '../../scheduler/schedule/launch.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import type { ScheduleSpec } from '../../definitions/types.js';
import { runCli } from '../definitions/support/cli-io.js';
import { until } from '../helpers/until.js';

const BIN = resolve('dist/cli/bin.js');

describe('dagctl backfill', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-backfill-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('one run per day in (from, to], in the schedule’s zone; a repeat finds them done; an interrupted run is resumed', async () => {
    const file = join(dir, 'daily.yaml');
    const text = 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: daily\nschedule: { cron: "0 0 * * *", timezone: Europe/Berlin }\ntasks:\n  - { name: a, operator: noop }\n';
    await writeFile(file, text);
    const store = new LocalRunStore(join(dir, '.dagctl'));
    const schedule: ScheduleSpec = { cron: '0 0 * * *', timezone: 'Europe/Berlin', catchup: 'latest', overlap: 'skip' };
    // Berlin midnights: 2026-03-28T23:00Z (CET) is the tick of 03-29; the next ones are CEST.
    const ticks = ['2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', '2026-03-30T22:00:00Z'].map((t) => Date.parse(t));
    // An "interrupted" backfill: the second interval's run exists, never driven.
    const pre = await createIntervalRun({ store, historyStore: store, file, text, schedule, tick: ticks[1] as number, kind: 'backfill', executor: 'embedded', now: Date.now() });
    assert.equal(pre.created, true);
    await store.close();

    const r = await runCli(['backfill', file, '--from', '2026-03-27', '--to', '2026-03-31', '--parallel', '2', '--concurrency', '1', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { intervals: number; created: number; found: number; resumed: number; succeeded: number; runs: Array<{ runId: string; tick: string }> };
    assert.deepEqual([rep.intervals, rep.created, rep.resumed, rep.found, rep.succeeded], [4, 3, 1, 0, 4]);
    assert.deepEqual(rep.runs.map((x) => x.runId), ticks.map((t) => tickRunId('daily', t)));

    const again = await runCli(['backfill', file, '--from', '2026-03-27', '--to', '2026-03-31', '--json'], dir);
    assert.equal(again.code, 0);
    const rep2 = JSON.parse(again.stdout) as typeof rep;
    assert.deepEqual([rep2.intervals, rep2.created, rep2.found], [4, 0, 4]);

    const runs = JSON.parse((await runCli(['runs', '--dag', 'daily', '--json'], dir)).stdout) as Array<{ runId: string; trigger: { kind: string; at: string; intervalStart: string } }>;
    assert.equal(runs.length, 4);
    const t2 = runs.find((x) => x.runId === tickRunId('daily', ticks[2] as number));
    assert.deepEqual(t2?.trigger, { kind: 'backfill', at: '2026-03-29T22:00:00.000Z', intervalStart: '2026-03-28T23:00:00.000Z', intervalEnd: '2026-03-29T22:00:00.000Z' });
  });

  it('a DAG with an operator module: each interval\'s run loads the module and runs its code', async () => {
    await mkdir(join(dir, 'ops'));
    await writeFile(join(dir, 'ops', 'tally.ts'), `import { defineOperator, z } from 'dagctl';
export default defineOperator({
  summary: 'reports n times the interval day',
  params: z.object({ n: z.number().int(), day: z.string() }).strict(),
  inputs: { min: 0, max: 0 },
  outputs: { min: 0, max: 0 },
  async run(ctx) {
    return { metrics: { tally: ctx.params.n * Number(ctx.params.day.slice(8, 10)) } };
  },
});
`);
    const file = join(dir, 'mod.yaml');
    await writeFile(file, 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: mod\nschedule: { cron: "0 0 * * *" }\noperators:\n  tally: ./ops/tally.ts\ntasks:\n  - { name: t, operator: tally, params: { n: 3, day: "${run.intervalStartDate}" } }\n');
    const r = await runCli(['backfill', file, '--from', '2026-03-01', '--to', '2026-03-03', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { succeeded: number; runs: Array<{ runId: string }> };
    assert.equal(rep.succeeded, 2);
    const store = new LocalRunStore(join(dir, '.dagctl'));
    try {
      const tallies = [];
      for (const run of rep.runs) {
        assert.notEqual((await store.getRecord(run.runId))?.bundle, undefined, 'the run carries no code bundle');
        tallies.push((await store.getState(run.runId))?.instances['t.main']?.result?.metrics?.tally);
      }
      // Ticks 03-02 and 03-03 (one per day in (from, to]): intervals start on the 1st and the 2nd.
      assert.deepEqual(tallies.sort(), [3 * 1, 3 * 2]);
    } finally {
      await store.close();
    }
  });

  it('dagctl run refuses a DAG that uses ${run.x} (no interval to give it), exit 2', async () => {
    const file = join(dir, 'uses.yaml');
    await writeFile(file, 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: uses\nschedule: { every: 1d }\ndatasets:\n  pv: { uri: "pv/date=${run.intervalStartDate}" }\n  out: { uri: out }\ntasks:\n  - { name: a, operator: dedupe, inputs: [pv], outputs: [out] }\n  - { name: b, operator: noop }\n');
    assert.equal((await runCli(['validate', file], dir)).code, 0);
    const r = await runCli(['run', file], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /backfill/);
  });

  it('refuses bad input: no schedule, bad bounds (USAGE, exit 2)', async () => {
    const file = join(dir, 'plain.yaml');
    await writeFile(file, 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: plain\ntasks:\n  - { name: a, operator: noop }\n');
    assert.equal((await runCli(['backfill', file, '--from', '2026-01-01', '--to', '2026-01-02'], dir)).code, 2);
    await writeFile(file, 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: plain\nschedule: { every: 1d }\ntasks:\n  - { name: a, operator: noop }\n');
    assert.equal((await runCli(['backfill', file, '--from', '2026-02-30', '--to', '2026-03-02'], dir)).code, 2);
    assert.equal((await runCli(['backfill', file, '--from', '2026-03-02', '--to', '2026-03-01'], dir)).code, 2);
  });
});

describe('dagctl schedules / pause / unpause', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-schedules-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists next tick, last run and paused; pause and unpause flip it; a bad file is reported (exit 1)', async () => {
    await writeFile(join(dir, 'n.yaml'), 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: nightly\nschedule: { cron: "0 3 * * *", timezone: America/New_York }\ntasks:\n  - { name: a, operator: noop }\n');
    const list = async () => JSON.parse((await runCli(['schedules', dir, '--json'], dir)).stdout) as { schedules: Array<{ dag: string; paused: boolean; nextTick: string; lastRun: unknown }>; problems: string[] };
    const before = await list();
    assert.equal(before.schedules.length, 1);
    assert.deepEqual([before.schedules[0]?.dag, before.schedules[0]?.paused, before.schedules[0]?.lastRun], ['nightly', false, null]);
    const next = Date.parse(before.schedules[0]?.nextTick ?? '');
    assert.ok(next > Date.now() && next - Date.now() <= 25 * 3_600_000);
    assert.match(new Date(next).toISOString(), /T0[78]:00:00\.000Z$/); // 03:00 New York is 07:00Z (EDT) or 08:00Z (EST)
    assert.equal((await runCli(['pause', 'nightly'], dir)).code, 0);
    assert.equal((await list()).schedules[0]?.paused, true);
    assert.equal((await runCli(['unpause', 'nightly'], dir)).code, 0);
    assert.equal((await list()).schedules[0]?.paused, false);
    assert.equal((await runCli(['pause', 'Not A Name'], dir)).code, 2);
    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: bad\nschedule: { cron: "0 3 * * *", timezone: Nowhere/Land }\ntasks:\n  - { name: a, operator: noop }\n');
    const r = await runCli(['schedules', dir, '--json'], dir);
    assert.equal(r.code, 1);
    assert.match((JSON.parse(r.stdout) as { problems: string[] }).problems.join('\n'), /bad\.yaml:5:\d+: error BAD_TIMEZONE/);
  });
});

describe('dagctl scheduler (process, every: 1s)', function () {
  this.timeout(90_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-scheduler-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every tick once, serves health and metrics, keeps the last good DAG on an invalid edit, stops on SIGTERM', async () => {
    const dags = join(dir, 'dags');
    await import('node:fs/promises').then((fs) => fs.mkdir(dags));
    const file = join(dags, 'tick.yaml');
    const good = 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: tick\nschedule: { every: 1s, catchup: all, overlap: queue }\ntasks:\n  - { name: a, operator: noop }\n';
    await writeFile(file, good);
    const child = spawn(process.execPath, [BIN, 'scheduler', dags, '--port', '0', '--concurrency', '1', '--reload', '100ms'], { cwd: dir, env: { ...process.env, DAGCTL_HOME: join(dir, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += String(b)));
    child.stderr.on('data', (b: Buffer) => (err += String(b)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until('the started line', 30_000, () => out.includes('\n'));
      const port = (JSON.parse(out.split('\n')[0] ?? '') as { scheduler: { port: number } }).scheduler.port;
      const get = async (p: string) => fetch(`http://127.0.0.1:${port}${p}`);
      assert.equal((await get('/healthz')).status, 200);
      assert.equal((await get('/readyz')).status, 200);
      const store = new LocalRunStore(join(dir, 'home'));
      const succeeded = async () => (await store.listRuns({ dag: 'tick' })).filter((r) => r.phase === 'succeeded').length;
      await until('3 runs succeeded', 30_000, async () => (await succeeded()) >= 3);
      const metrics = await (await get('/metrics')).text();
      assert.ok(Number(/dagctl_scheduler_runs_started_total (\d+)/.exec(metrics)?.[1]) >= 3, metrics);

      await writeFile(file, good.replace('every: 1s', 'cron: "61 * * * *"'));
      await until('the invalid edit logged', 30_000, () => /tick\.yaml:5:\d+: error BAD_CRON/.test(err));
      const before = await succeeded();
      await until('2 more runs with the last good version', 30_000, async () => (await succeeded()) >= before + 2);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
      const runs = (await store.listRuns({ dag: 'tick' })).filter((r) => r.trigger.kind === 'schedule');
      const ticks = runs.map((r) => Date.parse((r.trigger as { at: string }).at)).sort((a, b) => a - b);
      assert.equal(new Set(runs.map((r) => r.runId)).size, runs.length);
      for (const r of runs) assert.equal(r.runId, tickRunId('tick', Date.parse((r.trigger as { at: string }).at)));
      const first = ticks[0] as number;
      const last = ticks[ticks.length - 1] as number;
      assert.equal(ticks.length, (last - first) / 1000 + 1, 'a tick between the first and the last has no run');
      assert.ok(runs.filter((r) => r.phase === 'succeeded').length >= 5);
      await store.close();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
