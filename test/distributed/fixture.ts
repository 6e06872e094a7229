/**
 * The set-up every distributed suite shares: skipped (or failed under CI) without
 * DAGCTL_TEST_REDIS_URL, one Redis connection and RedisRunStore for the suite, and the worker
 * clusters and barriers a test makes, stopped and removed after that test (a suite-scoped one,
 * after the suite). Call it at the top of a describe callback: `const f = distributedSuite(this)`;
 * `f.redis` and `f.store` exist once the suite's before hook ran. The suite's mocha timeout (10 min
 * by default) is only a hang guard: the waits inside a test bound progress (waitFinished's stall
 * window, barrier arrivals), never how fast a loaded machine runs.
 */
import type { Redis } from 'ioredis';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { Barrier } from '../helpers/barrier.js';
import { Cluster } from './cluster.js';
import { redisUrl, requireRedis, testRedis } from './redis-env.js';

export interface DistributedSuite {
  readonly redis: Redis;
  readonly store: RedisRunStore;
  /** A Cluster (workers spawned by startWorker) stopped after the current test. */
  cluster(url?: string, extraArgs?: string[]): Cluster;
  /** A Cluster stopped after the suite: for suites whose tests share workers. */
  suiteCluster(url?: string, extraArgs?: string[]): Cluster;
  /** A Barrier removed after the current test. */
  barrier(): Barrier;
}

export function distributedSuite(suite: Mocha.Suite, timeoutMs = 600_000): DistributedSuite {
  requireRedis(suite);
  suite.timeout(timeoutMs);
  let redis: Redis | undefined;
  let store: RedisRunStore | undefined;
  const perTest: Cluster[] = [];
  const perSuite: Cluster[] = [];
  const barriers: Barrier[] = [];
  const make = (list: Cluster[], url?: string, extraArgs?: string[]): Cluster => {
    const c = extraArgs === undefined ? new Cluster(url ?? redisUrl()) : new Cluster(url ?? redisUrl(), extraArgs);
    list.push(c);
    return c;
  };
  const cleanTest = async (): Promise<void> => {
    await Promise.all(perTest.splice(0).map((c) => c.stopAll()));
    for (const b of barriers.splice(0)) b.remove();
  };
  before(async () => {
    redis = await testRedis();
    store = new RedisRunStore(redis);
  });
  afterEach(cleanTest);
  after(async () => {
    await cleanTest();
    await Promise.all(perSuite.splice(0).map((c) => c.stopAll()));
    redis?.disconnect();
  });
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`distributedSuite: ${what} is used before the suite's before hook ran`);
    return v;
  };
  return {
    get redis() { return need(redis, 'redis'); },
    get store() { return need(store, 'store'); },
    cluster: (url, extraArgs) => make(perTest, url, extraArgs),
    suiteCluster: (url, extraArgs) => make(perSuite, url, extraArgs),
    barrier: () => {
      const b = new Barrier();
      barriers.push(b);
      return b;
    },
  };
}
