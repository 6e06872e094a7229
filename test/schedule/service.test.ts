/**
 * The scheduler service with an injected clock, over the real run path of the embedded default
 * (LocalRunStore, createRunRecord, driveRun, EmbeddedExecutor): each tick makes exactly one run
 * with a deterministic id (a restarted scheduler that re-plans ticks creates nothing), catchup all,
 * each overlap policy with a run held running by the test (a noop task that waits until the test
 * cancels it — the barrier), pause, the interval in the run record, and DAG file reloads that
 * keep the last good version on an invalid edit. Waits are on store conditions, never on time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isDagctlError } from '../../core/errors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../../scheduler/ports.js';
import { tickRunId } from '../../scheduler/create-run.js';
import { DagCatalog } from '../../scheduler/schedule/catalog.js';
import { EmbeddedLauncher } from '../../scheduler/schedule/embedded-launcher.js';
import { intervalOf } from '../../scheduler/schedule/planner.js';
import { SchedulerService } from '../../scheduler/schedule/service.js';
import { LocalScheduleState } from '../../scheduler/schedule/state.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { until } from '../helpers/until.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');

function dagYaml(name: string, schedule: string, params = '{}'): string {
  return `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\nschedule: ${schedule}\ntasks:\n  - { name: a, operator: noop, params: ${params} }\n`;
}

describe('scheduler service (injected clock, embedded runs)', function () {
  this.timeout(60_000);
  let dir: string;
  let home: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-sched-'));
    home = join(dir, 'home');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(name: string, schedule: string, params = '{}') {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, dagYaml(name, schedule, params));
    const catalog = new DagCatalog([file]);
    await catalog.refresh();
    assert.equal(catalog.dags().length, 1);
    const store = new LocalRunStore(home);
    const launcher = new EmbeddedLauncher({ store, concurrency: 1 });
    const state = new LocalScheduleState(home);
    const clock = { now: T0 };
    const service = new SchedulerService({ dags: () => catalog.dags(), launcher, state, now: () => clock.now });
    const runs = async (): Promise<RunSummary[]> => (await store.listRuns({ dag: name })).sort((a, b) => (a.runId < b.runId ? -1 : 1));
    const phaseOf = async (runId: string) => (await runs()).find((r) => r.runId === runId)?.phase;
    return { file, catalog, store, launcher, state, clock, service, runs, phaseOf };
  }

  it('catchup all: one run per missed tick, deterministic ids, triggers and intervals; a restart re-planning the same ticks creates nothing', async () => {
    const s = await setup('hourly', '{ every: 1h, catchup: all, overlap: queue }');
    await s.service.step(); // first sight: cursor = now
    assert.equal((await s.runs()).length, 0);
    s.clock.now = T0 + 3 * HOUR + 5;
    await s.service.step();
    const ticks = [1, 2, 3].map((i) => T0 + i * HOUR);
    assert.deepEqual((await s.runs()).map((r) => r.runId), ticks.map((t) => tickRunId('hourly', t)));
    // queue: runs go one after another until all are done
    await until('all runs succeeded', 20_000, async () => {
      await s.service.step();
      return (await s.runs()).every((r) => r.phase === 'succeeded');
    });
    const runs = await s.runs();
    assert.deepEqual(runs.map((r) => r.trigger), ticks.map((t) => ({ kind: 'schedule', at: new Date(t).toISOString(), intervalStart: new Date(t - HOUR).toISOString(), intervalEnd: new Date(t).toISOString() })));
    const rec = await s.store.getRecord(tickRunId('hourly', ticks[1] as number));
    assert.deepEqual(rec?.dag.interval, intervalOf({ everyMs: HOUR, timezone: 'UTC', catchup: 'all', overlap: 'queue' }, ticks[1] as number));
    assert.equal(s.service.metrics.runsStarted, 3);

    // A second scheduler whose cursor is behind (it died before advancing): same ticks, no new runs.
    await s.state.advance('hourly', T0);
    const again = new SchedulerService({ dags: () => s.catalog.dags(), launcher: s.launcher, state: s.state, now: () => s.clock.now });
    await again.step();
    assert.equal((await s.runs()).length, 3);
    assert.equal(again.metrics.runsStarted, 0);
    assert.equal(again.metrics.runsExisting, 3);
    await s.store.close();
  });

  it('catchup latest: only the newest missed tick runs', async () => {
    const s = await setup('latest', '{ every: 1h, catchup: latest }');
    await s.service.step();
    s.clock.now = T0 + 5 * HOUR;
    await s.service.step();
    assert.deepEqual((await s.runs()).map((r) => r.runId), [tickRunId('latest', T0 + 5 * HOUR)]);
    assert.equal(s.service.metrics.ticksSkipped.catchup, 4);
    await s.launcher.drain(20_000);
    await s.store.close();
  });

  it('overlap skip: a tick while the previous run is unfinished makes no run', async () => {
    const s = await setup('skipper', '{ every: 1h, overlap: skip }', '{ sleepMs: 600000 }');
    await s.service.step();
    s.clock.now = T0 + HOUR;
    await s.service.step();
    const first = tickRunId('skipper', T0 + HOUR);
    await until('first run running', 20_000, async () => (await s.phaseOf(first)) === 'running');
    s.clock.now = T0 + 2 * HOUR;
    await s.service.step();
    assert.deepEqual((await s.runs()).map((r) => r.runId), [first]);
    assert.equal(s.service.metrics.ticksSkipped.overlap, 1);
    await s.launcher.cancel(first); // release the barrier
    await until('first run cancelled', 20_000, async () => (await s.phaseOf(first)) === 'cancelled');
    s.clock.now = T0 + 3 * HOUR;
    await s.service.step();
    assert.deepEqual((await s.runs()).map((r) => r.runId), [first, tickRunId('skipper', T0 + 3 * HOUR)]);
    await s.launcher.cancel(tickRunId('skipper', T0 + 3 * HOUR));
    await s.launcher.drain(20_000);
    await s.store.close();
  });

  it('overlap queue: the tick’s run is created at once and starts when the previous one ends', async () => {
    const s = await setup('queuer', '{ every: 1h, overlap: queue }', '{ sleepMs: 600000 }');
    await s.service.step();
    s.clock.now = T0 + HOUR;
    await s.service.step();
    const [a, b] = [tickRunId('queuer', T0 + HOUR), tickRunId('queuer', T0 + 2 * HOUR)];
    await until('a running', 20_000, async () => (await s.phaseOf(a)) === 'running');
    s.clock.now = T0 + 2 * HOUR;
    await s.service.step();
    assert.equal(await s.phaseOf(b), 'pending');
    await s.launcher.cancel(a);
    await until('a cancelled', 20_000, async () => (await s.phaseOf(a)) === 'cancelled');
    await s.service.step();
    await until('b running', 20_000, async () => (await s.phaseOf(b)) === 'running');
    await s.launcher.cancel(b);
    await s.launcher.drain(20_000);
    await s.store.close();
  });

  it('overlap cancel-previous: the new tick cancels the unfinished run and runs', async () => {
    const s = await setup('canceller', '{ every: 1h, overlap: cancel-previous }', '{ sleepMs: 600000 }');
    await s.service.step();
    s.clock.now = T0 + HOUR;
    await s.service.step();
    const [a, b] = [tickRunId('canceller', T0 + HOUR), tickRunId('canceller', T0 + 2 * HOUR)];
    await until('a running', 20_000, async () => (await s.phaseOf(a)) === 'running');
    s.clock.now = T0 + 2 * HOUR;
    await s.service.step();
    await until('a cancelled, b running', 20_000, async () => {
      await s.service.step();
      return (await s.phaseOf(a)) === 'cancelled' && (await s.phaseOf(b)) === 'running';
    });
    assert.equal(s.service.metrics.cancelled, 1);
    await s.launcher.cancel(b);
    await s.launcher.drain(20_000);
    await s.store.close();
  });

  it('paused: ticks are dropped while paused; unpaused, the next tick runs', async () => {
    const s = await setup('pausy', '{ every: 1h, catchup: all }');
    await s.service.step();
    await s.state.setPaused('pausy', true);
    s.clock.now = T0 + 2 * HOUR;
    await s.service.step();
    assert.equal((await s.runs()).length, 0);
    assert.equal(s.service.metrics.ticksSkipped.paused, 2);
    await s.state.setPaused('pausy', false);
    s.clock.now = T0 + 3 * HOUR;
    await s.service.step();
    assert.deepEqual((await s.runs()).map((r) => r.runId), [tickRunId('pausy', T0 + 3 * HOUR)]);
    await s.launcher.drain(20_000);
    await s.store.close();
  });

  it('one embedded scheduler per home: a live holder’s lock refuses (SCHEDULER_LOCKED), a dead one’s is taken over', async () => {
    const st = new LocalScheduleState(home);
    await mkdir(join(home, 'schedules'), { recursive: true });
    await writeFile(join(home, 'schedules', 'scheduler.lock'), String(process.ppid));
    await assert.rejects(st.lock(), (e) => isDagctlError(e, 'SCHEDULER_LOCKED'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await writeFile(join(home, 'schedules', 'scheduler.lock'), String(dead.stdout));
    const release = await st.lock();
    assert.equal(await readFile(join(home, 'schedules', 'scheduler.lock'), 'utf8'), String(process.pid));
    await release();
  });

  it('reload: an invalid edit keeps the last good version (and says why, with file:line); a valid edit replaces it', async () => {
    const file = join(dir, 'r.yaml');
    await writeFile(file, dagYaml('reloaded', '{ every: 1h }'));
    const logs: string[] = [];
    const catalog = new DagCatalog([dir], (l) => logs.push(l));
    assert.equal(await catalog.refresh(), true);
    assert.equal(catalog.dags()[0]?.schedule?.everyMs, HOUR);
    await writeFile(file, dagYaml('reloaded', '{ cron: "99 * * * *" }'));
    assert.equal(await catalog.refresh(), false);
    assert.equal(catalog.dags()[0]?.schedule?.everyMs, HOUR);
    assert.equal(catalog.errors, 1);
    assert.match(logs.join('\n'), /r\.yaml:5:\d+: error BAD_CRON/);
    await writeFile(file, dagYaml('reloaded', '{ cron: "*/5 * * * *", timezone: Europe/Berlin }'));
    assert.equal(await catalog.refresh(), true);
    assert.deepEqual(catalog.dags()[0]?.schedule, { cron: '*/5 * * * *', timezone: 'Europe/Berlin', catchup: 'latest', overlap: 'skip' });
    await rm(file);
    assert.equal(await catalog.refresh(), true);
    assert.deepEqual(catalog.dags(), []);
  });
});
