/**
 * The client side of distributed runs, for the CLI (`run --redis`, `status`, `runs`, `cancel`,
 * `retry`): submit a run, follow it, cancel or retry it. Each call opens its own connections and
 * closes them; nothing here needs a worker to be running except progress itself.
 *
 *   submitRun   store the run, apply `start`, enqueue the dispatched instances. After it returns
 *               the run progresses with no client at all (`--detach`).
 *   resumeRun   `run --resume RUN --redis`: make sure an unfinished run is moving again (start
 *               it, sweep it, or apply `recover` when nothing is in flight); the CLI then follows.
 *               runResumer: the same on a long-lived session (the distributed scheduler's).
 *   followRun   poll the run until it finishes, calling onUpdate when it changed; also sweeps
 *               (backoff ticks, lost jobs) so a following CLI helps a run along.
 *   cancelRun   apply `cancel`; queued jobs are removed and reported cancelled at once, running
 *               attempts stop when their worker sees the cancel flag.
 *   retryRun    apply `reset` (failed/upstream_failed/cancelled instances, plus --from TASK and
 *               everything downstream of it) and enqueue what it dispatches.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { DagctlError } from '../../core/errors.js';
import { initialState, type RunState } from '../../scheduler/engine/state.js';
import type { RunRecord, RunStore } from '../../scheduler/ports.js';
import { connectRedis, type RedisRole } from '../../scheduler/redis/connection.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { bundlePolicyFromEnv } from '../../scheduler/bundle-policy.js';
import { downstreamOf } from '../../scheduler/downstream.js';
import { Dispatcher } from './dispatcher.js';
import { Queues } from './queues.js';
import { Sweeper } from './sweeper.js';

/** A RedisRunStore that owns its connection (close() closes it). */
export async function openRunStore(redisUrl: string, env: NodeJS.ProcessEnv = process.env, role: RedisRole = 'client'): Promise<RedisRunStore> {
  return new RedisRunStore(await connectRedis(redisUrl, role, env), true);
}

interface Session {
  redis: Redis;
  store: RedisRunStore;
  queues: Queues;
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

async function session(redisUrl: string, env: NodeJS.ProcessEnv, role: RedisRole): Promise<Session> {
  return sessionOn(await connectRedis(redisUrl, role, env), true, env);
}

/** A session on an existing connection (BullMQ shares it); `owns`: close() disconnects it. */
function sessionOn(redis: Redis, owns: boolean, env: NodeJS.ProcessEnv = process.env): Session {
  const store = new RedisRunStore(redis);
  const queues = new Queues(redis);
  // The submitter dispatches the roots: it bundles them like a worker would (DAGCTL_BUNDLE_*).
  const dispatcher = new Dispatcher(store, queues, undefined, undefined, bundlePolicyFromEnv(env));
  return {
    redis,
    store,
    queues,
    dispatcher,
    async close() {
      dispatcher.close();
      await queues.close();
      if (owns) redis.disconnect();
    },
  };
}

/**
 * Starts a run already stored in Redis (the CLI's `store.createRun`), or stores it first when it
 * is not there, then enqueues its first instances.
 */
export async function submitRun(store: RunStore, record: RunRecord, redisUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const s = await session(redisUrl, env, 'client');
  try {
    if ((await s.store.meta(record.runId)) === null) {
      const state = (await store.getState(record.runId)) ?? initialState(record.runId, record.dag.name, record.plan, record.createdAt);
      await s.store.createRun(record, state);
    }
    const fx = await s.store.apply(record.runId, [{ type: 'start', at: Date.now() }]);
    // If we die between apply and enqueue, the sweeper of any worker enqueues the jobs.
    await s.dispatcher.handle(record.runId, fx);
  } finally {
    await s.close();
  }
}

/** What resumeRun found and did. */
export interface ResumeOutcome {
  /** The run's phase after resuming (a finished run is left as it is: `dagctl retry` re-runs it). */
  phase: RunState['phase'];
  /**
   * none: the run had finished; started: it had never started (its submitter died before
   * `start`); swept: instances were in flight, lost jobs were re-added now instead of at the next
   * worker sweep; recovered: nothing was in flight or waiting out a backoff, so `recover` was
   * applied (queued/running attempts run again uncharged, ready instances are dispatched).
   */
  action: 'none' | 'started' | 'swept' | 'recovered';
  /** Jobs added by this call. */
  enqueued: number;
}

/**
 * `dagctl run --resume RUN_ID --redis URL`. A distributed run needs no client to go on (workers
 * apply its events, their sweepers re-add lost jobs), so resuming it means checking it is moving
 * and then following it; see ResumeOutcome for the cases. Idempotent: job ids are deterministic,
 * and `recover` is only applied when no attempt is queued or running, so no live attempt is
 * disturbed. Fails with RUN_NOT_FOUND when the run is not in Redis.
 */
export async function resumeRun(store: RunStore, record: RunRecord, redisUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<ResumeOutcome> {
  // `store` is the CLI's (same signature as submitRun); the work happens on a session of its own.
  void store;
  const s = await session(redisUrl, env, 'client');
  try {
    return await resumeOn(s, record.runId);
  } finally {
    await s.close();
  }
}

/**
 * resumeRun on a long-lived session over an existing connection (the distributed scheduler's,
 * which starts a run per tick): no connection or queues opened and closed per call. close() leaves
 * the connection open.
 */
export function runResumer(redis: Redis, env: NodeJS.ProcessEnv = process.env): { resume(runId: string): Promise<ResumeOutcome>; close(): Promise<void> } {
  const s = sessionOn(redis, false, env);
  return { resume: (runId) => resumeOn(s, runId), close: () => s.close() };
}

/** resumeRun's decision and work (see ResumeOutcome) on an open session. */
async function resumeOn(s: Session, runId: string): Promise<ResumeOutcome> {
  const meta = await s.store.meta(runId);
  if (meta === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} in Redis`);
  if (meta.phase === 'succeeded' || meta.phase === 'failed' || meta.phase === 'cancelled') return { phase: meta.phase, action: 'none', enqueued: 0 };
  if (meta.phase === 'pending') {
    const fx = await s.store.apply(runId, [{ type: 'start', at: Date.now() }]);
    const ids = fx.flatMap((e) => (e.type === 'dispatch' ? e.ids : []));
    const enqueued = await s.dispatcher.enqueue(runId, ids);
    return { phase: (await s.store.meta(runId))?.phase ?? 'running', action: 'started', enqueued };
  }
  const active = await s.store.activeInstances(runId);
  if (active.size > 0 || (await s.store.hasBackoff(runId))) {
    // Grace 0: the process that dispatched them is gone or done; re-adding is idempotent.
    const stats = await new Sweeper(s.dispatcher, { owner: `resume-${hostname()}-${process.pid}`, graceMs: 0 }).sweepRun(runId);
    return { phase: 'running', action: 'swept', enqueued: stats.requeued };
  }
  const fx = await s.store.apply(runId, [{ type: 'recover', at: Date.now() }]);
  const ids = fx.flatMap((e) => (e.type === 'dispatch' ? e.ids : []));
  const enqueued = await s.dispatcher.enqueue(runId, ids);
  return { phase: (await s.store.meta(runId))?.phase ?? 'running', action: 'recovered', enqueued };
}

export interface FollowOptions {
  intervalMs?: number;
  /** Stops following (the run goes on); followRun then returns the last state seen. */
  signal?: AbortSignal;
  /** Sweep while following (default true). */
  sweep?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * The CLI's form: follows `record`'s run until it finishes or `signal` aborts (the run goes on).
 * `store` must be a RedisRunStore (openRedisRunStore); its connection is duplicated with the
 * worker role, so following survives a Redis restart.
 */
export async function followRun(store: RunStore, record: RunRecord, onUpdate: (state: RunState) => void, signal?: AbortSignal, opts: FollowOptions = {}): Promise<RunState> {
  if (!(store instanceof RedisRunStore)) throw new DagctlError('INTERNAL', 'followRun needs the RedisRunStore of the run');
  const redis = store.redis.duplicate({ maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(50 * times, 2000) });
  redis.on('error', () => {});
  return follow(sessionOn(redis, true), record.runId, onUpdate, { ...opts, ...(signal !== undefined ? { signal } : {}) });
}

/** Follows a run by id on its own connection. */
export async function followRunById(runId: string, redisUrl: string, onUpdate: (state: RunState) => void = () => {}, opts: FollowOptions = {}): Promise<RunState> {
  return follow(await session(redisUrl, opts.env ?? process.env, 'worker'), runId, onUpdate, opts);
}

async function follow(s: Session, runId: string, onUpdate: (state: RunState) => void, opts: FollowOptions): Promise<RunState> {
  const sweeper = opts.sweep === false ? null : new Sweeper(s.dispatcher, { owner: `cli-${hostname()}-${process.pid}`, intervalMs: 3000 });
  sweeper?.start();
  const interval = opts.intervalMs ?? 250;
  try {
    let lastSeq = -1;
    let state: RunState | null = null;
    for (;;) {
      const seq = await s.store.seq(runId);
      if (seq === null && state === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
      // Seen before and gone now (Redis restarted without persistence, or the run was deleted):
      // say so and stop, instead of waiting forever for a run that no longer exists.
      if (seq === null) throw new DagctlError('RUN_NOT_FOUND', `run ${runId} is gone from Redis (restarted without AOF/RDB, or deleted); its committed outputs stay, resubmit the DAG to finish it`, { runId, lastPhase: state?.phase });
      if (seq !== null && Number(seq) !== lastSeq) {
        state = await s.store.getState(runId);
        if (state === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
        lastSeq = state.seq;
        onUpdate(state);
        if (state.phase === 'succeeded' || state.phase === 'failed' || state.phase === 'cancelled') return state;
      }
      if (opts.signal?.aborted === true && state !== null) return state;
      await new Promise((r) => setTimeout(r, interval));
    }
  } finally {
    await sweeper?.stop();
    await s.close();
  }
}

export async function cancelRun(runId: string, redisUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<RunState> {
  const s = await session(redisUrl, env, 'client');
  try {
    if ((await s.store.meta(runId)) === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
    await s.store.apply(runId, [{ type: 'cancel', at: Date.now() }]);
    // Queued jobs nobody started: remove them and report them cancelled now.
    await new Sweeper(s.dispatcher, { owner: 'cancel', graceMs: 0 }).sweepRun(runId);
    const st = await s.store.getState(runId);
    if (st === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
    return st;
  } finally {
    await s.close();
  }
}

/** Resets the run (see the banner) and returns the ids that were dispatched again. */
export async function retryRun(runId: string, redisUrl: string, from?: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const s = await session(redisUrl, env, 'client');
  try {
    const record = await s.store.getRecord(runId);
    if (record === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
    const ids = from === undefined ? [] : downstreamOf(record, from);
    const fx = await s.store.apply(runId, [{ type: 'reset', ids, at: Date.now() }]);
    await s.dispatcher.handle(runId, fx);
    return fx.flatMap((e) => (e.type === 'dispatch' ? e.ids : []));
  } finally {
    await s.close();
  }
}

/** Instances of task `from` and every instance downstream of them (scheduler/downstream.ts). */
export { downstreamOf };
