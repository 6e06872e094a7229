/**
 * The run stores the UI shows, each a RunSource: the embedded LocalRunStore under DAGCTL_HOME
 * (always) and, with --redis, the RedisRunStore. A source may offer actions: Redis runs are
 * cancelled and retried through the same client code as `dagctl cancel` / `dagctl retry`
 * (workers/bullmq/submit.ts); an embedded run is driven by its own `dagctl run` process, so the UI
 * can only ask that process to cancel it (LocalRunStore.requestCancel) and cannot retry it.
 * Labels carry no secrets (Redis passwords masked).
 */
import type { RunStore } from '../../scheduler/ports.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import type { UiStoreId } from '../api-types.js';
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
  close(): Promise<void>;
}

export function localSource(home: string): RunSource {
  const store = new LocalRunStore(home);
  return {
    id: 'local',
    label: `embedded runs in ${home}`,
    store,
    noActions: 'an embedded run is driven by its own `dagctl run` process: re-run it with `dagctl run FILE --rerun-from TASK`',
    async cancel(runId) {
      await store.requestCancel(runId);
      return 'cancel requested: the run\'s `dagctl run` process stops it (a run whose process died is cancelled when resumed)';
    },
    close: () => store.close(),
  };
}

interface RedisSeq {
  seq(runId: string): Promise<number | null>;
}

export async function redisSource(url: string, env: NodeJS.ProcessEnv): Promise<RunSource> {
  // Loaded lazily: without --redis the UI never loads ioredis or BullMQ.
  const { openRedisRunStore } = (await import(REDIS_OPEN)) as { openRedisRunStore(url: string, env: NodeJS.ProcessEnv): Promise<RunStore & RedisSeq> };
  const store = await openRedisRunStore(url, env);
  const submit = (): Promise<SubmitModule> => import(SUBMIT) as Promise<SubmitModule>;
  return {
    id: 'redis',
    label: `distributed runs on ${maskUrl(url)}`,
    store,
    seq: (runId) => store.seq(runId),
    async cancel(runId) {
      await (await submit()).cancelRun(runId, url, env);
      return 'cancel requested: queued instances are cancelled, running attempts stop';
    },
    async retry(runId, from) {
      return (await submit()).retryRun(runId, url, from, env);
    },
    close: () => store.close(),
  };
}

interface SubmitModule {
  cancelRun(runId: string, redisUrl: string, env: NodeJS.ProcessEnv): Promise<unknown>;
  retryRun(runId: string, redisUrl: string, from: string | undefined, env: NodeJS.ProcessEnv): Promise<string[]>;
}

// Variable specifiers keep the Redis/BullMQ code out of a UI without --redis.
const REDIS_OPEN = '../../scheduler/redis/open.js';
const SUBMIT = '../../workers/bullmq/submit.js';
