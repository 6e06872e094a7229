/**
 * Distributed runs end to end: real Redis, several real `dagctl worker` processes, runs submitted
 * like `dagctl run --redis`. Shapes (diamond, wide ≥ 1,000 instances, deep) must end exactly like
 * the embedded executor's run of the same DAG; faults (kill -9 workers repeatedly, SIGTERM hand-off,
 * a Redis restart, the submitting CLI killed, a task that always fails) must not change that.
 * Every fault lands while attempts are held at a barrier the test controls (test/helpers/barrier.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RunState } from '../../scheduler/engine/state.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import type { DagSpec } from '../../definitions/types.js';
import { chain, dagOf, diamond, noopTask, recordOf } from '../helpers/dags.js';
import { type Arrival, Barrier } from '../helpers/barrier.js';
import { BIN, Cluster, embedded, nothingActive, outcome, submit, waitFinished, type WorkerProc } from './cluster.js';
import { redisUrl, requireRedis, testRedis, uniqueRunId } from './redis-env.js';
import { PrivateRedis } from './redis-server.js';

describe('distributed runs (Redis + BullMQ + worker processes)', function () {
  requireRedis(this);
  this.timeout(600_000); // a hang guard: waits inside bound progress, not speed
  let redis: Redis;
  let store: RedisRunStore;
  let cluster: Cluster;

  before(async () => {
    redis = await testRedis();
    store = new RedisRunStore(redis);
  });
  after(() => redis?.disconnect());
  const barriers: Barrier[] = [];
  afterEach(async () => {
    await cluster?.stopAll();
    for (const b of barriers.splice(0)) b.remove();
  });

  async function run(dag: DagSpec, timeoutMs = 120_000): Promise<RunState> {
    const record = recordOf(dag, uniqueRunId(dag.name));
    await submit(store, record);
    return waitFinished(store, record.runId, timeoutMs);
  }

  it('diamond, wide (1,002 instances) and deep (30) DAGs complete on 3 workers, like the embedded executor', async () => {
    cluster = new Cluster();
    await Promise.all([cluster.startWorker(['--concurrency', '2']), cluster.startWorker(['--concurrency', '2']), cluster.startWorker(['--concurrency', '2'])]);
    const shapes: DagSpec[] = [
      diamond({ params: { sleepMs: 20 } }),
      dagOf('wide', [noopTask('root'), noopTask('fan', { dependsOn: ['root'], params: { buckets: 1000 } }), noopTask('sink', { dependsOn: ['fan'] })]),
      chain(30),
    ];
    for (const dag of shapes) {
      const dist = await run(dag);
      assert.equal(dist.phase, 'succeeded', dag.name);
      assert.deepEqual(outcome(dist), outcome(await embedded(dag)), dag.name);
      await nothingActive(redis, dist.runId);
    }
    // Work was spread: more than one worker ran instances of the wide DAG.
    assert.ok(cluster.workers.filter((w) => w.logs.some((l) => l.includes('"instance succeeded"'))).length >= 2);
  });

  it('a task that always fails is retried, then its downstream is upstream_failed, and `status` says why', async () => {
    cluster = new Cluster();
    await cluster.startWorker(['--concurrency', '2']);
    await cluster.startWorker();
    const dag = dagOf('failing', [noopTask('bad', { retries: 2, retryBackoffMs: 50, params: { failTimes: 99 } }), noopTask('after', { dependsOn: ['bad'] }), noopTask('ok')]);
    const dist = await run(dag);
    assert.deepEqual(outcome(dist), outcome(await embedded(dag)));
    assert.equal(dist.phase, 'failed');
    assert.equal(dist.instances['bad.main']?.attempts, 3);
    assert.equal(dist.instances['bad.main']?.errorCode, 'TASK_FAILED');
    assert.equal(dist.instances['after.main']?.state, 'upstream_failed');
    const st = spawn(process.execPath, [BIN, 'status', dist.runId, '--redis', redisUrl(), '--json', '--all'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    st.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = await once(st, 'exit');
    assert.equal(code, 0, out);
    const view = JSON.parse(out) as { tasks: Array<{ instance: string; state: string; why: string | null; log?: string; earlierAttempts?: Array<{ attempt: number; code: string; log?: string }> }> };
    const bad = view.tasks.find((t) => t.instance === 'bad.main');
    const after = view.tasks.find((t) => t.instance === 'after.main');
    assert.equal(bad?.state, 'failed');
    // Each attempt's log tail, reported by the workers through Redis: the earlier two, and the last.
    assert.deepEqual(bad?.earlierAttempts?.map((a) => [a.attempt, a.code, (JSON.parse(a.log ?? '{}') as { message?: string }).message]), [1, 2].map((n) => [n, 'TASK_FAILED', `noop: attempt ${n} fails on purpose (failTimes 99)`]));
    assert.equal((JSON.parse(bad?.log ?? '{}') as { message?: string }).message, 'noop: attempt 3 fails on purpose (failTimes 99)');
    assert.ok(bad?.why !== null && bad?.why !== undefined && bad.why.length > 0, 'no reason for the failure');
    assert.equal(after?.state, 'upstream_failed');
    assert.match(after?.why ?? '', /bad/);
  });

  it('kill -9 of workers at several points of a run: the run completes, same outcome, nothing left active', async () => {
    cluster = new Cluster();
    for (let i = 0; i < 3; i++) await cluster.startWorker(['--concurrency', '2']);
    const c = cluster;
    // Three barriers: the first task, the fan-out (odd buckets) and the middle of a chain of 24.
    const [atA, atFan, atChain] = [new Barrier(), new Barrier(), new Barrier()];
    barriers.push(atA, atFan, atChain);
    const links = chain(24).tasks.map((t) => ({ ...t, dependsOn: t.dependsOn.length === 0 ? ['fan'] : t.dependsOn }));
    const dag = dagOf('killed', [
      noopTask('a', { params: { barrier: atA.dir } }),
      noopTask('fan', { dependsOn: ['a'], params: { buckets: 24, barrier: atFan.dir, barrierEvery: 2 } }),
      ...links.map((t) => (t.name === 't12' ? { ...t, params: { barrier: atChain.dir } } : t)),
    ]);
    const record = recordOf(dag, uniqueRunId('killed'));
    await submit(store, record);
    /** Kills a live worker holding an attempt at `b` and starts a replacement. */
    const killHolder = async (b: Barrier, what: string): Promise<void> => {
      const holder = (a: Arrival[]): WorkerProc | undefined => c.alive().find((w) => a.some((x) => x.pid === w.child.pid));
      const victim = holder(await b.waitFor(what, (a) => holder(a) !== undefined)) as WorkerProc;
      victim.child.kill('SIGKILL');
      await victim.exited;
      await c.startWorker(['--concurrency', '2']);
    };
    await killHolder(atA, 'first task held');
    await killHolder(atA, 'first task redelivered and held again');
    atA.open();
    await killHolder(atFan, 'a fan-out instance held');
    await killHolder(atFan, 'another fan-out instance held');
    atFan.open();
    await killHolder(atChain, 'the middle of the chain held');
    assert.equal((await store.getState(record.runId))?.phase, 'running', 'every kill landed mid-run');
    atChain.open();
    const final = await waitFinished(store, record.runId, 120_000);
    assert.deepEqual(outcome(final), outcome(await embedded(dag)));
    await nothingActive(redis, record.runId);
  });

  it('SIGTERM: in-flight attempts past the grace period are handed back and finished elsewhere', async () => {
    // A 60 s lock: the job can only come back this soon by being handed back.
    cluster = new Cluster(redisUrl(), ['--lock', '60s', '--sweep', '1s', '--grace', '500ms']);
    const first = await cluster.startWorker();
    const b = new Barrier();
    barriers.push(b);
    const dag = dagOf('handoff', [noopTask('long', { params: { barrier: b.dir } }), noopTask('next', { dependsOn: ['long'] })]);
    const record = recordOf(dag, uniqueRunId('handoff'));
    await submit(store, record);
    await b.waitFor('the attempt held on the first worker', (a) => a.some((x) => x.pid === first.child.pid));
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.ok(first.logs.some((l) => l.includes('attempt handed back')), first.logs.join('\n'));
    const second = await cluster.startWorker();
    await b.waitFor('the handed-back attempt held on the second worker', (a) => a.some((x) => x.pid === second.child.pid), 30_000);
    b.open();
    const final = await waitFinished(store, record.runId, 120_000);
    assert.equal(final.phase, 'succeeded');
    assert.equal(final.instances['long.main']?.attempts, 1, 'a hand-back is not a retry');
    assert.equal(final.instances['long.main']?.worker, second.name);
  });

  it('a graceful SIGTERM lets an in-flight attempt finish', async () => {
    cluster = new Cluster(redisUrl(), ['--lock', '10s', '--sweep', '1s', '--grace', '60s']);
    const w = await cluster.startWorker();
    const b = new Barrier();
    barriers.push(b);
    const dag = dagOf('graceful', [noopTask('short', { params: { barrier: b.dir } })]);
    const record = recordOf(dag, uniqueRunId('graceful'));
    await submit(store, record);
    await b.waitFor('the attempt held', (a) => a.length > 0);
    w.child.kill('SIGTERM');
    // The worker is draining (it took no new work and is waiting on the held attempt): let it finish.
    await cluster.waitLog(w, 'shutting down');
    b.open();
    assert.equal(await w.exited, 0);
    const s = await store.getState(record.runId);
    assert.equal(s?.phase, 'succeeded');
    assert.equal(s?.instances['short.main']?.worker, w.name);
  });

  it('a Redis restart mid-run (AOF): the run completes', async () => {
    const pr = new PrivateRedis();
    await pr.start();
    const conn = await (await import('../../scheduler/redis/connection.js')).connectRedis(pr.url, 'worker');
    const pstore = new RedisRunStore(conn);
    cluster = new Cluster(pr.url);
    try {
      await cluster.startWorker(['--concurrency', '2']);
      await cluster.startWorker(['--concurrency', '2']);
      const b = new Barrier();
      barriers.push(b);
      const dag = dagOf('restart', [noopTask('fan', { params: { buckets: 12, barrier: b.dir, barrierEvery: 2 } }), ...chain(8).tasks.map((t) => ({ ...t, dependsOn: t.dependsOn.length === 0 ? ['fan'] : t.dependsOn }))]);
      const record = recordOf(dag, uniqueRunId('restart'));
      await submit(pstore, record, pr.url);
      await b.waitFor('fan-out instances held', (a) => a.length > 0);
      await pr.restart();
      assert.equal((await pstore.getState(record.runId))?.phase, 'running', 'the restart landed mid-run');
      b.open();
      const final = await waitFinished(pstore, record.runId, 120_000);
      assert.deepEqual(outcome(final), outcome(await embedded(dag)));
    } finally {
      await cluster.stopAll();
      conn.disconnect();
      await pr.destroy();
    }
  });

  it('the submitting `dagctl run --redis` killed: the run completes', async () => {
    cluster = new Cluster();
    await cluster.startWorker(['--concurrency', '2']);
    const dir = mkdtempSync(join(tmpdir(), 'dagctl-cli-'));
    const name = `clikill${Date.now().toString(36)}`;
    const file = join(dir, 'dag.yaml');
    writeFileSync(
      file,
      `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\ntasks:\n  - name: a\n    operator: noop\n    params: { sleepMs: 400 }\n  - name: b\n    operator: noop\n    dependsOn: [a]\n    params: { sleepMs: 400 }\n  - name: c\n    operator: noop\n    dependsOn: [b]\n`,
    );
    const cli = spawn(process.execPath, [BIN, 'run', file, '--redis', redisUrl()], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, env: { ...process.env, DAGCTL_HOME: join(dir, '.dagctl') } });
    let out = '';
    let err = '';
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const runId = await new Promise<string>((resolve, reject) => {
      cli.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /run (\S+) submitted/.exec(out);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      cli.once('exit', (code) => reject(new Error(`dagctl run exited ${code} before submitting: ${out} ${err}`)));
    });
    cli.kill('SIGKILL');
    const final = await waitFinished(store, runId, 120_000);
    assert.equal(final.phase, 'succeeded');
  });

  it('`dagctl cancel` stops a run; `dagctl retry` re-runs its cancelled part to success', async () => {
    cluster = new Cluster();
    await cluster.startWorker(['--concurrency', '2']);
    const b = new Barrier();
    barriers.push(b);
    const dag = dagOf('cancelme', [noopTask('slow', { params: { barrier: b.dir } }), noopTask('later', { dependsOn: ['slow'] }), noopTask('wide', { params: { buckets: 4, barrier: b.dir } })]);
    const record = recordOf(dag, uniqueRunId('cancel'));
    await submit(store, record);
    // Both slots hold an attempt: the cancel lands while the run is provably going.
    await b.waitFor('two attempts held', (a) => a.length >= 2);
    const cli = async (args: string[]): Promise<{ code: number; out: string }> => {
      const p = spawn(process.execPath, [BIN, ...args, '--redis', redisUrl(), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const [code] = await once(p, 'exit');
      return { code: code as number, out };
    };
    const c = await cli(['cancel', record.runId, '--wait']);
    assert.equal(c.code, 0, c.out);
    assert.equal((JSON.parse(c.out) as { phase: string }).phase, 'cancelled');
    const st = await store.getState(record.runId);
    assert.equal(st?.instances['later.main']?.state, 'cancelled');
    await nothingActive(redis, record.runId);
    b.open();
    const r = await cli(['retry', record.runId]);
    assert.equal(r.code, 0, r.out);
    const final = await store.getState(record.runId);
    assert.equal(final?.phase, 'succeeded');
    assert.deepEqual(outcome(final), outcome(await embedded(dag)));
  });
});
