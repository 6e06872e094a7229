/**
 * Outputs parity on real data: the same normalize → dedupe → rollup DAG over the same generated
 * pageviews (test/integration/support.ts), run by the embedded executor and by 3 `dagctl worker`
 * processes through `dagctl run --redis`, must publish the same view row for row — also when a
 * worker is killed with kill -9 while it runs an attempt (BullMQ redelivers it; the staged,
 * create-only commit makes the rerun land exactly once).
 */
import assert from 'node:assert/strict';
import type { StatusView } from '../../scheduler/status-view.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import type { Redis } from 'ioredis';
import { runCli, viewRows, workspace, type Workspace } from '../integration/support.js';
import { Cluster, waitFinished } from './cluster.js';
import { redisUrl, requireRedis, testRedis } from './redis-env.js';

const ROWS = 6000;
const DAYS = 6;
const VIEW = 'views/over-time';

describe('distributed runs publish the same view as embedded runs (real data)', function () {
  requireRedis(this);
  this.timeout(600_000); // a hang guard: waits inside bound progress, not speed
  let redis: Redis;
  let store: RedisRunStore;
  let cluster: Cluster;
  let reference: string[];

  const args = (ws: Workspace, extra: string[]): string[] => ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json', ...extra];

  before(async () => {
    redis = await testRedis();
    store = new RedisRunStore(redis);
    const ws = await workspace({ rows: ROWS, days: DAYS });
    const r = await runCli(ws, args(ws, ['--concurrency', '2']));
    assert.equal(r.code, 0, r.stderr);
    reference = await viewRows(`${ws.dataUri}/${VIEW}`);
    assert.ok(reference.length > 100, `reference view too small: ${reference.length} rows`);
  });
  after(() => redis?.disconnect());
  afterEach(async () => {
    await cluster?.stopAll();
  });

  it('3 workers via `dagctl run --redis`: identical rows, work spread over the workers', async () => {
    cluster = new Cluster();
    for (let i = 0; i < 3; i++) await cluster.startWorker(['--concurrency', '2']);
    const ws = await workspace({ rows: ROWS, days: DAYS });
    const r = await runCli(ws, args(ws, ['--redis', redisUrl()]));
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout) as StatusView;
    assert.equal(view.phase, 'succeeded');
    assert.deepEqual(await viewRows(`${ws.dataUri}/${VIEW}`), reference);
    const busy = cluster.workers.filter((w) => w.logs.some((l) => l.includes('"instance succeeded"')));
    assert.ok(busy.length >= 2, `only ${busy.length} worker(s) ran instances`);
  });

  it('kill -9 of the worker running an attempt mid-run: identical rows', async () => {
    cluster = new Cluster();
    for (let i = 0; i < 3; i++) await cluster.startWorker(['--concurrency', '2']);
    const ws = await workspace({ rows: ROWS, days: DAYS });
    const r = await runCli(ws, args(ws, ['--redis', redisUrl(), '--detach']));
    assert.equal(r.code, 0, r.stderr);
    const { runId } = JSON.parse(r.stdout) as { runId: string };
    let killed: string | null = null;
    let phaseAtKill: string | null = null;
    const final = await waitFinished(store, runId, 180_000, async (s) => {
      if (killed !== null) return;
      // The worker of a running attempt, once some work is committed: a kill in the middle.
      const done = Object.values(s.instances).some((x) => x.state === 'succeeded');
      const running = Object.values(s.instances).find((x) => x.state === 'running' && x.worker !== undefined);
      const victim = cluster.alive().find((w) => w.name === running?.worker);
      if (!done || victim === undefined) return;
      victim.child.kill('SIGKILL');
      killed = victim.name;
      phaseAtKill = (await store.meta(runId))?.phase ?? null;
      await cluster.startWorker(['--concurrency', '2']);
    });
    assert.ok(killed !== null, 'the run ended before a worker could be killed');
    assert.equal(phaseAtKill, 'running', 'the kill did not happen mid-run');
    assert.equal(final.phase, 'succeeded');
    assert.deepEqual(await viewRows(`${ws.dataUri}/${VIEW}`), reference);
  });
});
