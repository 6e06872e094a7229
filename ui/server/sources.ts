/**
 * The run stores the UI shows, each a RunSource: the embedded LocalRunStore under DAGCTL_HOME
 * (always) and, with --redis, the RedisRunStore. A source may offer actions: Redis runs are
 * cancelled and retried through the same client code as `dagctl cancel` / `dagctl retry`
 * (workers/bullmq/submit.ts). An embedded run is driven by its own `dagctl run` process: the UI
 * asks that process to cancel it (LocalRunStore.requestCancel). To retry a finished embedded run
 * the UI takes the run's driver lock (RUN_LOCKED when a live process drives it), applies the same
 * `reset` event `dagctl retry` applies to Redis runs, releases the lock and starts
 * `dagctl run --resume RUN_ID` detached, which drives it: the run is never driven inside the UI
 * process (closing the UI does not stop it, the UI's event loop and memory stay its own, and the
 * run keeps one driver, the lock's holder), and the resumed run uses its recorded code bundle.
 * The driver's output goes to runs/<runId>/retry-<time>.log. Each source also carries the schedule
 * state `dagctl pause|unpause` change (the same ScheduleState, local or Redis).
 * Labels carry no secrets (Redis passwords masked).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downstreamOf } from '../../scheduler/downstream.js';
import type { RunStore } from '../../scheduler/ports.js';
import { LocalScheduleState, type ScheduleState } from '../../scheduler/schedule/state.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import type { UiStoreId } from '../api-types.js';
import { DagctlError } from '../../core/errors.js';
import { localPages, redisPages, type PageCache, type RedisPageStore } from './view-cache.js';
import { maskUrl } from './views.js';

export interface RunSource {
  id: UiStoreId;
  label: string;
  store: RunStore;
  /** A cheap change counter of a run (the store's event sequence), when the store has one. */
  seq?(runId: string): Promise<number | null>;
  /** Cancels the run, or asks its driving process to; returns a note for the user. */
  cancel?(runId: string): Promise<string>;
  /** Resets failed/cancelled instances (and, with `from`, that task and its downstream); returns dispatched ids. */
  retry?(runId: string, from: string | undefined): Promise<string[]>;
  /** Why this source cannot retry (or cancel), for the page. */
  noActions?: string;
  /** The schedule state `dagctl pause|unpause` use for this store (local files, or Redis). */
  schedules?: ScheduleState;
  /** Finished big runs' pages kept by the store (view-cache.ts). */
  pages?: PageCache;
  close(): Promise<void>;
}

export type { PageCache } from './view-cache.js';

const CLI_BIN = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));

export function localSource(home: string): RunSource {
  const store = new LocalRunStore(home);
  const schedules = new LocalScheduleState(home);
  return {
    id: 'local',
    label: `embedded runs in ${home}`,
    store,
    async cancel(runId) {
      await store.requestCancel(runId);
      return 'cancel requested: the run\'s `dagctl run` process stops it (a run whose process died is cancelled when resumed)';
    },
    retry: (runId, from) => retryEmbedded(home, runId, from),
    schedules,
    pages: localPages(home),
    async close() {
      await schedules.close();
      await store.close();
    },
  };
}

/** Resets the run under its driver lock, then starts `dagctl run --resume` detached; returns the dispatched ids. */
export async function retryEmbedded(home: string, runId: string, from: string | undefined): Promise<string[]> {
  // Its own store: the UI's store must not keep this run live (it would stop seeing the driver's progress).
  const store = new LocalRunStore(home);
  let dispatched: string[];
  let unlock: (() => Promise<void>) | null = null;
  try {
    const record = await store.getRecord(runId);
    if (record === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} under ${home}`, { runId });
    const ids = from === undefined ? [] : downstreamOf(record, from);
    unlock = await store.lockDriver(runId, { command: 'ui retry', pid: process.pid });
    const fx = await store.apply(runId, [{ type: 'reset', ids, at: Date.now() }]);
    dispatched = fx.flatMap((e) => (e.type === 'dispatch' ? e.ids : []));
  } finally {
    await store.close();
    await unlock?.();
  }
  const log = join(resolve(home), 'runs', runId, `retry-${Date.now()}.log`);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(process.execPath, [CLI_BIN, 'run', '--resume', runId], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, DAGCTL_HOME: resolve(home) },
    });
    child.on('error', () => undefined); // reported in the log; the run then waits for a --resume
    child.unref();
  } finally {
    closeSync(fd);
  }
  return dispatched;
}

interface RedisSeq extends RedisPageStore {
  seq(runId: string): Promise<number | null>;
}

export async function redisSource(url: string, env: NodeJS.ProcessEnv): Promise<RunSource> {
  // Loaded lazily: without --redis the UI never loads ioredis or BullMQ.
  const { openRedisRunStore } = (await import(REDIS_OPEN)) as { openRedisRunStore(url: string, env: NodeJS.ProcessEnv): Promise<RunStore & RedisSeq> };
  const store = await openRedisRunStore(url, env);
  const { openRedisScheduleState } = (await import(SCHEDULES)) as { openRedisScheduleState(url: string, env: NodeJS.ProcessEnv): Promise<ScheduleState> };
  const schedules = await openRedisScheduleState(url, env);
  const submit = (): Promise<SubmitModule> => import(SUBMIT) as Promise<SubmitModule>;
  return {
    id: 'redis',
    label: `distributed runs on ${maskUrl(url)}`,
    store,
    seq: (runId) => store.seq(runId),
    pages: redisPages(store),
    async cancel(runId) {
      await (await submit()).cancelRun(runId, url, env);
      return 'cancel requested: queued instances are cancelled, running attempts stop';
    },
    async retry(runId, from) {
      return (await submit()).retryRun(runId, url, from, env);
    },
    schedules,
    async close() {
      await schedules.close();
      await store.close();
    },
  };
}

interface SubmitModule {
  cancelRun(runId: string, redisUrl: string, env: NodeJS.ProcessEnv): Promise<unknown>;
  retryRun(runId: string, redisUrl: string, from: string | undefined, env: NodeJS.ProcessEnv): Promise<string[]>;
}

// Variable specifiers keep the Redis/BullMQ code out of a UI without --redis.
const REDIS_OPEN = '../../scheduler/redis/open.js';
const SUBMIT = '../../workers/bullmq/submit.js';
const SCHEDULES = '../../scheduler/schedule/distributed.js';
