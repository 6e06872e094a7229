/**
 * startScheduler: one `dagctl scheduler` process — the DAG catalog (reloaded every reloadMs), the
 * SchedulerService and its loop, and /healthz /readyz /metrics. Embedded (default): runs in the
 * local RunStore, driven in-process (EmbeddedLauncher). Distributed (redisUrl): runs created in
 * Redis and submitted to `dagctl worker`s, only while this process holds the leader lease
 * (scheduler/schedule/distributed.ts).
 *
 * stop(): stop ticking, release the lease, wait up to drainMs for in-process runs (embedded; a run
 * still going then is resumed by the next scheduler), close everything. /readyz is 503 from then on.
 */
import { errorMessage } from '../../core/errors.js';
import { startHealthServer, type HealthServer } from '../../services/health.js';
import { LocalRunStore } from '../stores/local-run-store.js';
import { DagCatalog } from './catalog.js';
import { EmbeddedLauncher } from './embedded-launcher.js';
import { Loop, SchedulerService, type Leadership, type RunLauncher } from './service.js';
import { LocalScheduleState, type ScheduleState } from './state.js';

export interface SchedulerProcessOptions {
  paths: string[];
  home: string;
  redisUrl?: string;
  env?: NodeJS.ProcessEnv;
  port?: number;
  host?: string;
  pollMs?: number;
  reloadMs?: number;
  drainMs?: number;
  concurrency?: number;
  /** How often DAGs with data triggers look for new commits (default 200 ms). */
  triggerPollMs?: number;
  /** Trigger floors' settle time (triggers.ts FLOOR_SETTLE_MS by default). */
  triggerSettleMs?: number;
  /** Distributed: lease time-to-live (a dead leader is replaced within it). */
  leaseMs?: number;
  log(line: string): void;
}

export interface SchedulerHandle {
  port: number | undefined;
  service: SchedulerService;
  stop(): Promise<void>;
}

interface Runtime {
  launcher: RunLauncher;
  state: ScheduleState;
  leader?: Leadership & { onChange(cb: () => void): void };
  ready(): boolean;
  drain(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startScheduler(o: SchedulerProcessOptions): Promise<SchedulerHandle> {
  const catalog = new DagCatalog(o.paths, o.log);
  await catalog.refresh();
  let loop: Loop | null = null;
  const runtime = o.redisUrl === undefined ? await embeddedRuntime(o, () => loop?.wake()) : await distributedRuntime(o);
  const service = new SchedulerService({ dags: () => catalog.dags(), launcher: runtime.launcher, state: runtime.state, ...(runtime.leader !== undefined ? { leader: runtime.leader } : {}), ...(o.triggerPollMs !== undefined ? { triggerPollMs: o.triggerPollMs } : {}), ...(o.triggerSettleMs !== undefined ? { triggerSettleMs: o.triggerSettleMs } : {}), log: o.log });
  const metrics = service.metrics;
  loop = new Loop(service, { pollMs: o.pollMs ?? (o.redisUrl === undefined ? 5000 : 500) });
  runtime.leader?.onChange(() => loop?.wake());
  const ac = new AbortController();
  let stopping = false;

  const reloadEvery = o.reloadMs ?? 1000;
  const reloadTimer = setInterval(() => {
    catalog.refresh().then(
      (changed) => {
        metrics.reloads = catalog.reloads;
        metrics.reloadErrors = catalog.errors;
        if (changed) loop?.wake();
      },
      (e: unknown) => o.log(`scheduler: reload failed: ${errorMessage(e)}`),
    );
  }, reloadEvery);
  metrics.reloadErrors = catalog.errors;

  let server: HealthServer | undefined;
  let port: number | undefined;
  if (o.port !== undefined) {
    const h = await startHealthServer(o.port, o.host ?? '127.0.0.1', {
      ready: () => !stopping && runtime.ready(),
      metrics: async () => metrics.render(service.isLeader(), catalog.dags().length),
    });
    server = h;
    port = h.port;
  }
  const running = loop.run(ac.signal).catch((e: unknown) => o.log(`scheduler: loop stopped: ${errorMessage(e)}`));
  return {
    port,
    service,
    async stop() {
      stopping = true;
      clearInterval(reloadTimer);
      ac.abort();
      await running;
      await runtime.drain(o.drainMs ?? 30_000);
      await runtime.close();
      if (server !== undefined) await server.close();
    },
  };
}

async function embeddedRuntime(o: SchedulerProcessOptions, wake: () => void): Promise<Runtime> {
  const state = new LocalScheduleState(o.home);
  const unlock = await state.lock();
  const store = new LocalRunStore(o.home);
  const launcher = new EmbeddedLauncher({ store, ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}), onFinished: wake, log: o.log });
  return {
    launcher,
    state,
    ready: () => true,
    async drain(ms) {
      if (!(await launcher.drain(ms))) o.log(`scheduler: runs still going after ${ms} ms (${launcher.active().join(', ')}): the next scheduler resumes them`);
    },
    async close() {
      await store.close();
      await unlock();
    },
  };
}

// Variable specifier: keeps Redis/BullMQ out of the embedded scheduler.
const DISTRIBUTED_MODULE = './distributed.js';

async function distributedRuntime(o: SchedulerProcessOptions): Promise<Runtime> {
  const mod = (await import(DISTRIBUTED_MODULE)) as { distributedRuntime(o: SchedulerProcessOptions): Promise<Runtime> };
  return mod.distributedRuntime(o);
}

export type { Runtime as SchedulerRuntime };
