/**
 * The distributed scheduler runtime (`dagctl scheduler --redis URL`): runs are created in Redis
 * (RedisRunStore) and submitted to `dagctl worker`s through the same calls `dagctl run --redis`
 * uses (runResumer — resumeRun on this process's connection — starts a pending run; cancelRun).
 * Only the holder of the leader lease acts; the schedule cursor is fenced by the lease, and tick
 * run ids are deterministic, so a tick makes one run however many replicas run and whichever
 * dies. Running runs need no adoption: workers and their sweepers carry them.
 */
import { hostname } from 'node:os';
import { RedisRunStore } from '../redis/redis-run-store.js';
import { connectRedis } from '../redis/connection.js';
import { cancelRun, runResumer } from '../../workers/bullmq/submit.js';
import { isDagctlError } from '../../core/errors.js';
import type { ScheduleSpec } from '../../definitions/types.js';
import { createIntervalRun, createTriggerRun } from './launch.js';
import type { TriggerFire } from './triggers.js';
import { LeaderLease } from './lease.js';
import type { SchedulerProcessOptions, SchedulerRuntime } from './process.js';
import { RedisScheduleState } from './redis-state.js';
import type { RunLauncher, ScheduledDag, UnfinishedRun } from './service.js';

/** How many of a DAG's newest runs are looked at for unfinished ones. */
const UNFINISHED_WINDOW = 200;

export async function distributedRuntime(o: SchedulerProcessOptions): Promise<SchedulerRuntime> {
  const url = o.redisUrl as string;
  const env = o.env ?? process.env;
  const redis = await connectRedis(url, 'worker', env);
  const store = new RedisRunStore(redis);
  // Starts a tick's run on this process's connection and queues (no connection opened per run).
  const resumer = runResumer(redis, env);
  const lease = new LeaderLease(redis, { ttlMs: o.leaseMs ?? 10_000, owner: `${hostname()}-${process.pid}`, log: o.log });
  const launcher: RunLauncher = {
    async create(d: ScheduledDag & { schedule: ScheduleSpec }, tick: number) {
      const r = await createIntervalRun({ store, historyStore: store, file: d.file, text: d.text, schedule: d.schedule, tick, kind: 'schedule', executor: 'bullmq', now: Date.now() });
      return { runId: r.record.runId, created: r.created };
    },
    async createTriggered(d: ScheduledDag, fire: TriggerFire) {
      const r = await createTriggerRun({ store, historyStore: store, file: d.file, text: d.text, fire, executor: 'bullmq', now: Date.now() });
      return { runId: r.record.runId, created: r.created };
    },
    async start(runId: string) {
      try {
        await resumer.resume(runId);
      } catch (e) {
        if (!isDagctlError(e, 'RUN_NOT_FOUND')) throw e;
      }
    },
    async adopt() {},
    async cancel(runId: string) {
      await cancelRun(runId, url, env);
    },
    async unfinished(dag: string): Promise<UnfinishedRun[]> {
      const runs = await store.listRuns({ dag, limit: UNFINISHED_WINDOW });
      return runs
        .filter((r) => r.phase === 'pending' || r.phase === 'running')
        .sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
        .map((r) => ({ runId: r.runId, phase: r.phase }));
    },
  };
  lease.start();
  return {
    launcher,
    state: new RedisScheduleState(redis, () => lease.token()),
    leader: lease,
    ready: () => redis.status === 'ready',
    async drain() {},
    async close() {
      await lease.stop();
      await resumer.close();
      redis.disconnect();
    },
  };
}

/** The schedule state in Redis for the CLI (`schedules`, `pause`): reads and pause flags only. */
export async function openRedisScheduleState(url: string, env: NodeJS.ProcessEnv = process.env): Promise<RedisScheduleState & { close(): Promise<void> }> {
  const redis = await connectRedis(url, 'client', env);
  const state = new RedisScheduleState(redis, () => null);
  state.close = async () => {
    redis.disconnect();
  };
  return state;
}
