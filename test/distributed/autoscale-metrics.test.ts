/**
 * `dagctl autoscale-metrics` against real Redis and real BullMQ queues: the /scale figures KEDA
 * reads. Jobs are added with BullMQ itself (waiting, prioritized, delayed), a run is created and
 * driven through the apply script (root succeeds, one fan instance fails and waits out its retry
 * backoff), and the service's clock is the test's, so "due" is decided by the test, not by timing.
 * Oracle: the counts the test put there, and the closed form ceil(k / floor(D/T)) slots for k
 * independent instances of T ms before a deadline D.
 * Precondition: DAGCTL_TEST_REDIS_URL (else skipped, or failed under CI), a built dist/.
 */
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { initialState } from '../../scheduler/engine/state.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import { bullConnection } from '../../scheduler/redis/connection.js';
import { BULL_PREFIX, queueName } from '../../scheduler/redis/keys.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { startAutoscaleService, type AutoscaleService } from '../../workers/bullmq/autoscale-metrics.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';
import { BIN } from './cluster.js';
import { redisUrl, requireRedis, testRedis, uniqueRunId } from './redis-env.js';

const DB = 12;

const result = { memoized: false, fingerprint: 'f', outputs: [], metrics: {}, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: 1, setupMs: 0 };

describe('autoscale-metrics service (real Redis, BullMQ queues)', function () {
  requireRedis(this);
  this.timeout(600_000); // a hang guard: waits inside bound progress, not speed
  let redis: Redis;
  let svc: AutoscaleService | undefined;
  let queue: Queue | undefined;
  let url: string;

  before(async () => {
    redis = await testRedis(DB);
    await redis.flushdb();
    const u = new URL(redisUrl());
    u.pathname = `/${DB}`;
    url = u.toString();
  });
  after(async () => {
    await svc?.close();
    await queue?.close();
    await redis?.flushdb();
    redis?.disconnect();
  });

  it('counts waiting, prioritized, due delayed jobs and due retries, and the slots a deadline needs', async () => {
    const t0 = Date.now();
    let now = t0;
    svc = await startAutoscaleService({ redisUrl: url, queues: ['default', 'heavy'], maxSlots: 64, port: 0, host: '127.0.0.1', now: () => now });
    const scale = async (): Promise<Record<string, unknown> & { queues: Record<string, Record<string, number>>; runs: Array<Record<string, unknown>> }> => {
      const res = await fetch(`http://127.0.0.1:${svc?.port}/scale`);
      assert.equal(res.status, 200);
      return (await res.json()) as never;
    };
    const empty = await scale();
    assert.deepEqual([empty.workJobs, empty.deadlineSlots, empty.runs], [0, 0, []]);

    // BullMQ jobs: 3 waiting, 2 prioritized, 1 delayed by an hour (due only once the clock passes it).
    queue = new Queue(queueName('default'), { connection: bullConnection(url, 'client'), prefix: BULL_PREFIX });
    await queue.addBulk([1, 2, 3].map((i) => ({ name: `w${i}`, data: {}, opts: { jobId: `w${i}` } })));
    await queue.add('p1', {}, { jobId: 'p1', priority: 5 });
    await queue.add('p2', {}, { jobId: 'p2', priority: 9 });
    const delayed = await queue.add('d1', {}, { jobId: 'd1', delay: 3_600_000 });
    let s = await scale();
    assert.deepEqual(s.queues.default, { wait: 3, prioritized: 2, delayedDue: 0, active: 0 });
    assert.deepEqual(s.queues.heavy, { wait: 0, prioritized: 0, delayedDue: 0, active: 0 });
    assert.equal(s.workJobs, 5);

    // A run with a deadline: root → 12 fan instances of 1000 ms each; root succeeds, f0 fails once
    // and waits out a 1 s backoff.
    const store = new RedisRunStore(redis);
    const dag = dagOf('autoscale', [noopTask('root'), noopTask('fan', { dependsOn: ['root'], retries: 3, retryBackoffMs: 1000, retryBackoffMaxMs: 1000 })]);
    const runId = uniqueRunId('autoscale');
    const record = recordOf(dag, runId, t0);
    const root = record.plan.find((p) => p.task === 'root') as PlannedInstance;
    const fanIds: string[] = [];
    record.plan = [
      { ...root, predictedMs: 10 },
      ...Array.from({ length: 12 }, (_, i): PlannedInstance => {
        fanIds.push(`fan.f${i}`);
        return { ...root, id: `fan.f${i}`, task: 'fan', deps: [root.id], predictedMs: 1000 };
      }),
    ];
    const failAt = t0 + 100;
    const deadlineOffset = 3500; // each slot fits 3 instances of 1000 ms → ceil(12 / 3) = 4 slots
    record.options.deadlineAt = failAt + 2000 + deadlineOffset;
    await store.createRun(record, initialState(runId, dag.name, record.plan, t0));
    await store.apply(runId, [{ type: 'start', at: t0 }]);
    await store.apply(runId, [{ type: 'started', id: root.id, attempt: 1, at: t0 + 1 }, { type: 'succeeded', id: root.id, attempt: 1, at: t0 + 2, result }]);
    await store.apply(runId, [{ type: 'started', id: 'fan.f0', attempt: 1, at: failAt }, { type: 'failed', id: 'fan.f0', attempt: 1, at: failAt, error: 'boom', code: 'OPERATOR_FAILED', retryable: true }]);

    now = failAt + 500; // backoff not over
    s = await scale();
    assert.equal(s.dueRetries, 0);
    assert.equal(s.runs.length, 1);
    assert.equal(s.runs[0]?.remaining, 12);

    now = failAt + 2000; // backoff over; the delayed job is still an hour away
    s = await scale();
    assert.equal(s.dueRetries, 1);
    assert.equal(s.workJobs, 3 + 2 + 1);
    assert.equal(s.deadlineSlots, 4);
    assert.equal(s.runs[0]?.feasible, true);
    // The run's 11 queued + 1 due instances are its own: demand is its 4 slots, not 6 jobs.
    assert.deepEqual([s.runs[0]?.inFlight, s.runs[0]?.dueRetries, s.demandSlots], [11, 1, 4]);

    now = delayed.timestamp + 3_600_000; // the delayed job is due now; the deadline has long passed
    s = await scale();
    assert.equal((s.queues.default as Record<string, number>).delayedDue, 1);
    assert.equal(s.workJobs, 3 + 2 + 1 + 1);
    assert.deepEqual([s.runs[0]?.feasible, s.deadlineSlots, s.demandSlots], [false, 12, 12]);

    const metrics = await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text();
    assert.match(metrics, /^dagctl_autoscale_work_jobs 7$/m);
    assert.match(metrics, /^dagctl_autoscale_deadline_slots 12$/m);
    assert.match(metrics, /^dagctl_autoscale_demand_slots 12$/m);
    assert.equal((await fetch(`http://127.0.0.1:${svc.port}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${svc.port}/healthz`)).status, 200);

    // A finished run leaves the figures: f0's retry is released (tick), then every fan instance succeeds.
    await store.apply(runId, [{ type: 'tick', at: now }]);
    await store.apply(runId, fanIds.flatMap((id) => {
      const attempt = id === 'fan.f0' ? 2 : 1;
      return [{ type: 'started' as const, id, attempt, at: now }, { type: 'succeeded' as const, id, attempt, at: now, result }];
    }));
    assert.equal((await store.getState(runId))?.phase, 'succeeded');
    s = await scale();
    assert.deepEqual(s.runs, []);
    assert.deepEqual([s.deadlineSlots, s.demandSlots, s.workJobs], [0, 3 + 2 + 1, 3 + 2 + 1]);
  });

  it('end to end through the CLI: `dagctl run --deadline` records the deadline, `dagctl autoscale-metrics` serves the run', async () => {
    await redis.flushdb();
    const dir = mkdtempSync(join(tmpdir(), 'dagctl-autoscale-cli-'));
    const proc = spawn(process.execPath, [BIN, 'autoscale-metrics', '--redis', url, '--port', '0', '--host', '127.0.0.1', '--max-slots', '16'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const file = join(dir, 'fan.yaml');
      writeFileSync(file, 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: clifan\ntasks:\n  - { name: fan, operator: noop, params: { buckets: 6 } }\n');
      const before = Date.now();
      const run = spawn(process.execPath, [BIN, 'run', file, '--redis', url, '--detach', '--deadline', '1h', '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DAGCTL_HOME: join(dir, 'home') } });
      const [code] = (await once(run, 'exit')) as [number];
      assert.equal(code, 0);
      const after = Date.now();
      const line = (await once(createInterface({ input: proc.stdout }), 'line')) as [string];
      const port = (JSON.parse(line[0]) as { port: number }).port;
      const body = (await (await fetch(`http://127.0.0.1:${port}/scale`)).json()) as { runs: Array<{ deadlineAt: number; remaining: number; slots: number; feasible: boolean }>; workJobs: number };
      assert.equal(body.runs.length, 1);
      const r = body.runs[0];
      assert.ok(r !== undefined && r.deadlineAt >= before + 3_600_000 && r.deadlineAt <= after + 3_600_000);
      // Six instances predicted far below an hour: one slot meets the deadline.
      assert.deepEqual([r.remaining, r.slots, r.feasible], [6, 1, true]);
      assert.equal(body.workJobs, 6); // the submitted jobs wait in BullMQ (no workers here)
    } finally {
      proc.kill('SIGTERM');
      await once(proc, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
