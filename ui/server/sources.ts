/**
 * The run stores the UI shows, each a RunSource: the embedded LocalRunStore under DAGCTL_HOME
 * (always) and, with --redis, the RedisRunStore. A source may offer actions: Redis runs are
 * cancelled and retried through the same client code as `dagctl cancel` / `dagctl retry`
 * (workers/bullmq/submit.ts); an embedded run is driven by its own `dagctl run` process and has
 * none here. Labels carry no secrets (Redis passwords masked).
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
  cancel?(runId: string): Promise<void>;
  /** Resets failed/cancelled instances (and, with `from`, that task and its downstream); returns dispatched ids. */
  retry?(runId: string, from: string | undefined): Promise<string[]>;
  /** Why this source has no actions, for the page. */
  noActions?: string;
  close(): Promise<void>;
}

export function localSource(home: string): RunSource {
  const store = new LocalRunStore(home);
  return {
    id: 'local',
    label: `embedded runs in ${home}`,
    store,
    noActions: 'an embedded run is driven by its own `dagctl run` process: cancel it there with Ctrl-C; re-run with `dagctl run FILE --rerun-from TASK`',
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
