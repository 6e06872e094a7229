/**
 * startWorker: the body of `dagctl worker` — BullMQ Workers on the given queues feeding a thread
 * pool, the sweeper, and the health/metrics server — plus its graceful shutdown.
 *
 * Shutdown (SIGTERM/SIGINT, or shutdown()): /readyz turns 503, no new jobs are taken, in-flight
 * attempts get `graceMs` to finish; those still running then are aborted and handed back to the
 * queue (another worker reruns the same attempt); then connections close. Keep Kubernetes'
 * terminationGracePeriodSeconds above graceMs (+ a few seconds for the hand-back).
 *
 * Preconditions: Redis reachable at the URL (commands wait through reconnects: a Redis restart
 * pauses the worker rather than failing its attempts).
 */
import { jobKeyFromEnv } from './job-auth.js';
import { hostname } from 'node:os';
import { Worker, type Job, type RedisOptions as BullRedisOptions } from 'bullmq';
import { errorMessage } from '../../core/errors.js';
import { bundlePolicyFromEnv, type BundlePolicy } from '../../scheduler/bundle-policy.js';
import type { CostSample } from '../../scheduler/model.js';
import { bullConnection, checkEvictionPolicy, connectRedis } from '../../scheduler/redis/connection.js';
import { BULL_PREFIX, DEFAULT_QUEUE, queueName } from '../../scheduler/redis/keys.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { CancelWatch } from './cancel-watch.js';
import { Dispatcher } from './dispatcher.js';
import { EventBatcher } from './event-batcher.js';
import { startHealthServer, type HealthServer } from '../../services/health.js';
import { Heartbeat } from './heartbeat.js';
import { jsonLogger, type Logger } from './log.js';
import { WorkerMetrics } from './metrics.js';
import { makeProcessor, type InFlight } from './processor.js';
import { membersOf, Queues, type WorkJob } from './queues.js';
import { Sweeper } from './sweeper.js';
import { ThreadPool } from '../threads/pool.js';

/** Default BullMQ job lock: a SIGKILLed worker's attempts are retried within ~1.5× this. */
export const DEFAULT_LOCK_MS = 5000;

export interface StartWorkerOptions {
  redisUrl: string;
  concurrency?: number;
  queues?: string[];
  name?: string;
  /** How long in-flight attempts may take to finish at shutdown before they are handed back. */
  graceMs?: number;
  /** Health/metrics port; 0 picks a free one; undefined disables the server. */
  port?: number;
  host?: string;
  /** BullMQ lock duration (renewed every half of it): a killed worker's jobs are redelivered after ~1.5× this. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  sweepIntervalMs?: number;
  cancelPollMs?: number;
  /** How often the worker's heartbeat (dagctl workers) is written. */
  heartbeatMs?: number;
  /** Bundling of short ready instances (default: DAGCTL_BUNDLE_* over the policy's defaults). */
  bundlePolicy?: BundlePolicy;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface WorkerHandle {
  name: string;
  /** The health/metrics port, or null. */
  port: number | null;
  metrics: WorkerMetrics;
  shutdown(reason?: string): Promise<void>;
  /** Resolves once shut down. */
  closed: Promise<void>;
}

export async function startWorker(opts: StartWorkerOptions): Promise<WorkerHandle> {
  const env = opts.env ?? process.env;
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const log = opts.log ?? jsonLogger(process.stderr, { worker: name });
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const graceMs = opts.graceMs ?? 30_000;
  const queues = opts.queues !== undefined && opts.queues.length > 0 ? opts.queues : [DEFAULT_QUEUE];
  for (const q of queues) queueName(q); // validates

  const redis = await connectRedis(opts.redisUrl, 'worker', env);
  await checkEvictionPolicy(redis, (m) => log.log('warn', m));
  const store = new RedisRunStore(redis);
  const connection: BullRedisOptions = bullConnection(opts.redisUrl, 'worker', env);
  const bullQueues = new Queues(connection);
  const onError = (e: unknown): void => log.log('error', 'background error', { error: errorMessage(e) });
  const dispatcher = new Dispatcher(store, bullQueues, onError, Date.now, opts.bundlePolicy ?? bundlePolicyFromEnv(env));
  const pool = new ThreadPool({ size: concurrency, workerPrefix: `${name}/t` });
  const metrics = new WorkerMetrics();
  const inFlight = new Map<string, InFlight>();
  const samples: CostSample[] = [];
  const flushSamples = async (): Promise<void> => {
    if (samples.length === 0) return;
    await store.appendSamples(samples.splice(0)).catch(onError);
  };
  const sampleTimer = setInterval(() => void flushSamples(), 1000);
  sampleTimer.unref();
  const cancelWatch = new CancelWatch(store, opts.cancelPollMs ?? 1000, onError);
  const batcher = new EventBatcher(store, dispatcher, { onApplied: (runId, r) => cancelWatch.observe(runId, r.phase, r.cancelRequested) });
  metrics.batches = () => ({ events: batcher.events, calls: batcher.calls });
  const processor = makeProcessor({ batcher, dispatcher, pool, cancelWatch, metrics, log, worker: name, inFlight, samples });
  const sweeper = new Sweeper(dispatcher, { owner: name, intervalMs: opts.sweepIntervalMs ?? 3000, onError });

  let ready = false;
  let redisUp = true;
  redis.on('ready', () => (redisUp = true));
  redis.on('end', () => (redisUp = false));
  redis.on('close', () => (redisUp = false));
  redis.on('reconnecting', () => (redisUp = false));

  const lockMs = opts.lockDurationMs ?? DEFAULT_LOCK_MS;
  const startedAt = Date.now();
  const heartbeat = new Heartbeat(
    redis,
    () => ({
      name,
      host: hostname(),
      pid: process.pid,
      queues,
      concurrency,
      startedAt,
      current: [...inFlight.values()].map((f) => ({ runId: f.job.data.runId, instances: membersOf(f.job.data).map((m) => m.instanceId) })),
    }),
    opts.heartbeatMs ?? 1000,
    onError,
  );

  // Threads first: a BullMQ Worker starts taking jobs as soon as it is created.
  await pool.ready();
  const workers = queues.map((q) => {
    const w = new Worker<WorkJob>(queueName(q), (job: Job<WorkJob>, token?: string) => processor(job, token), {
      connection,
      prefix: BULL_PREFIX,
      concurrency,
      name,
      // A short lock, renewed by BullMQ every lockDuration/2 while the attempt runs: a SIGKILLed
      // worker's jobs come back within a few seconds. Attempts run on threads, so the event loop
      // that renews stays responsive.
      lockDuration: lockMs,
      stalledInterval: opts.stalledIntervalMs ?? Math.max(500, Math.floor(lockMs / 2)),
      // Redelivery after a kill is safe (same attempt, staged commits): allow many, and let the
      // sweeper re-add a job BullMQ gave up on anyway.
      maxStalledCount: 1000,
      drainDelay: 5,
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 24 * 3600, count: 10_000 },
    });
    w.on('error', (e) => log.log('error', 'bullmq worker error', { queue: q, error: errorMessage(e) }));
    w.on('stalled', (jobId) => log.log('warn', 'job stalled (its worker died?): redelivering', { queue: q, jobId }));
    return w;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  sweeper.start();
  await heartbeat.start();
  ready = true;

  let port: number | null = null;
  let server: HealthServer | null = null;
  if (opts.port !== undefined) {
    const started = await startHealthServer(opts.port, opts.host ?? '0.0.0.0', {
      ready: () => ready && redisUp,
      metrics: async () => {
        const depth: Record<string, Record<string, number>> = {};
        for (const q of queues) {
          depth[q] = await bullQueues.get(q).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
        }
        return metrics.render({ worker: name }, depth, inFlight.size);
      },
    });
    server = started;
    port = started.port;
  }
  log.log('info', 'worker started', { queues, concurrency, port, graceMs });
  if (jobKeyFromEnv() === null) log.log('warn', 'DAGCTL_JOB_KEY is unset: job payloads and run records from Redis are not verified (docs/security.md)');

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | null = null;

  const shutdown = (reason = 'shutdown'): Promise<void> => {
    if (closing !== null) return closing;
    closing = (async () => {
      ready = false;
      log.log('info', 'shutting down', { reason, inFlight: inFlight.size, graceMs });
      await sweeper.stop();
      const closingWorkers = Promise.all(workers.map((w) => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = await Promise.race([
        closingWorkers.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (graceOver) {
        log.log('warn', 'grace period over: handing in-flight attempts back', { inFlight: inFlight.size });
        for (const f of inFlight.values()) {
          f.handBack = true;
          f.ac.abort();
        }
        await closingWorkers;
      }
      await heartbeat.stop().catch(onError);
      dispatcher.close();
      cancelWatch.stop();
      clearInterval(sampleTimer);
      await flushSamples();
      await pool.close();
      await bullQueues.close();
      await store.close();
      redis.disconnect();
      if (server !== null) await server.close();
      log.log('info', 'worker stopped', { processed: metrics.processed, failed: metrics.failed });
      resolveClosed();
    })();
    return closing;
  };

  return { name, port, metrics, shutdown, closed };
}
