/**
 * The autoscaling metrics service (`dagctl autoscale-metrics`): reads queue depths and active runs
 * from Redis and answers, on one HTTP port,
 *   /scale     JSON AutoscaleDemand (scheduler/plan/autoscale.ts): `demandSlots` (or `workJobs`)
 *              is what KEDA's metrics-api trigger reads (valueLocation);
 *   /metrics   the same figures in Prometheus text format;
 *   /healthz   liveness; /readyz 200 while Redis is connected.
 *
 * Reads per request (KEDA polls every pollingInterval, one request per trigger; concurrent requests
 * share one read): per queue one pipeline (LLEN wait, ZCARD prioritized, ZCOUNT delayed up to now —
 * BullMQ's delayed score is timestamp × 0x1000 + a counter — LLEN active), per active run its state
 * (statuses) and, once per run, its immutable record (the plan with T = O + P×H per instance).
 *
 * Preconditions: Redis reachable at the URL; queue names valid (keys.queueName).
 */
import type { Redis } from 'ioredis';
import { connectRedis } from '../../scheduler/redis/connection.js';
import { BULL_PREFIX, queueName } from '../../scheduler/redis/keys.js';
import { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { autoscaleDemand, type AutoscaleDemand, type QueueDepth, type RunProgress } from '../../scheduler/plan/autoscale.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { startHealthServer } from '../../services/health.js';

export interface AutoscaleServiceOptions {
  redisUrl: string;
  queues: string[];
  /** Upper bound of slots one figure may ask for (the deployment's max pods × concurrency). */
  maxSlots: number;
  port: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface AutoscaleService {
  port: number;
  demand(): Promise<AutoscaleDemand>;
  close(): Promise<void>;
}

/** BullMQ's key of one list/zset of a dagctl queue: `<prefix>:<queueName>:<kind>`. */
export function bullKey(queue: string, kind: 'wait' | 'prioritized' | 'delayed' | 'active'): string {
  return `${BULL_PREFIX}:${queueName(queue)}:${kind}`;
}

/** Ready and running jobs of each queue, one pipeline per call. */
export async function readQueueDepths(redis: Redis, queues: readonly string[], now: number): Promise<Record<string, QueueDepth>> {
  const p = redis.pipeline();
  const dueMax = (Math.floor(now) + 1) * 0x1000 - 1;
  for (const q of queues) {
    p.llen(bullKey(q, 'wait'));
    p.zcard(bullKey(q, 'prioritized'));
    p.zcount(bullKey(q, 'delayed'), '-inf', dueMax);
    p.llen(bullKey(q, 'active'));
  }
  const out = (await p.exec()) ?? [];
  const num = (i: number): number => {
    const r = out[i];
    if (r === undefined || r[0] !== null) throw r?.[0] ?? new Error('pipeline reply missing');
    return Number(r[1]);
  };
  const depths: Record<string, QueueDepth> = {};
  queues.forEach((q, i) => {
    depths[q] = { wait: num(i * 4), prioritized: num(i * 4 + 1), delayedDue: num(i * 4 + 2), active: num(i * 4 + 3) };
  });
  return depths;
}

export async function startAutoscaleService(opts: AutoscaleServiceOptions): Promise<AutoscaleService> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  for (const q of opts.queues) queueName(q); // validates
  const redis = await connectRedis(opts.redisUrl, 'worker', env);
  const store = new RedisRunStore(redis);
  let redisUp = true;
  redis.on('ready', () => (redisUp = true));
  redis.on('end', () => (redisUp = false));
  redis.on('close', () => (redisUp = false));
  redis.on('reconnecting', () => (redisUp = false));
  const records = new Map<string, RunRecord>();

  const read = async (): Promise<AutoscaleDemand> => {
    const at = now();
    const queues = await readQueueDepths(redis, opts.queues, at);
    const runs: RunProgress[] = [];
    const active = new Set(await store.activeRuns());
    for (const id of records.keys()) if (!active.has(id)) records.delete(id);
    for (const runId of active) {
      const state = await store.getState(runId);
      if (state === null || (state.phase !== 'running' && state.phase !== 'pending')) continue;
      let record = records.get(runId);
      if (record === undefined) {
        const r = await store.getRecord(runId);
        if (r === null) continue;
        record = r;
        records.set(runId, r);
      }
      const run: RunProgress = { runId, plan: record.plan, statuses: state.instances };
      if (record.options.deadlineAt !== undefined) run.deadlineAt = record.options.deadlineAt;
      runs.push(run);
    }
    return autoscaleDemand({ now: at, maxSlots: opts.maxSlots, queues, runs });
  };
  let inFlight: Promise<AutoscaleDemand> | null = null;
  const demand = (): Promise<AutoscaleDemand> => {
    if (inFlight === null) inFlight = read().finally(() => (inFlight = null));
    return inFlight;
  };

  const server = await startHealthServer(opts.port, opts.host ?? '0.0.0.0', {
    ready: () => redisUp,
    metrics: async () => renderDemand(await demand()),
    routes: { '/scale': async () => ({ contentType: 'application/json', body: `${JSON.stringify(await demand())}\n` }) },
  });
  return {
    port: server.port,
    demand,
    async close() {
      await server.close();
      await store.close();
      redis.disconnect();
    },
  };
}

/** The figures in Prometheus text format. */
export function renderDemand(d: AutoscaleDemand): string {
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const out = [
    '# HELP dagctl_autoscale_work_jobs Queue jobs ready (wait, prioritized, due delayed), running, or due retries: the work-based scaling figure.',
    '# TYPE dagctl_autoscale_work_jobs gauge',
    `dagctl_autoscale_work_jobs ${d.workJobs}`,
    '# HELP dagctl_autoscale_due_retries Instances whose retry backoff is over (not yet re-queued by the sweeper).',
    '# TYPE dagctl_autoscale_due_retries gauge',
    `dagctl_autoscale_due_retries ${d.dueRetries}`,
    '# HELP dagctl_autoscale_deadline_slots Worker slots needed to finish the active runs by their deadlines (cost model).',
    '# TYPE dagctl_autoscale_deadline_slots gauge',
    `dagctl_autoscale_deadline_slots ${d.deadlineSlots}`,
    '# HELP dagctl_autoscale_demand_slots Deadline slots of runs with a deadline plus the ready and running jobs of the others.',
    '# TYPE dagctl_autoscale_demand_slots gauge',
    `dagctl_autoscale_demand_slots ${d.demandSlots}`,
    '# HELP dagctl_autoscale_queue_jobs Jobs per queue and kind (wait, prioritized, delayed_due, active).',
    '# TYPE dagctl_autoscale_queue_jobs gauge',
  ];
  for (const [q, depth] of Object.entries(d.queues)) {
    out.push(`dagctl_autoscale_queue_jobs{queue="${esc(q)}",kind="wait"} ${depth.wait}`);
    out.push(`dagctl_autoscale_queue_jobs{queue="${esc(q)}",kind="prioritized"} ${depth.prioritized}`);
    out.push(`dagctl_autoscale_queue_jobs{queue="${esc(q)}",kind="delayed_due"} ${depth.delayedDue}`);
    out.push(`dagctl_autoscale_queue_jobs{queue="${esc(q)}",kind="active"} ${depth.active}`);
  }
  out.push('# HELP dagctl_autoscale_run_slots Slots one run needs for its deadline.', '# TYPE dagctl_autoscale_run_slots gauge');
  for (const r of d.runs) if (r.deadlineAt !== undefined) out.push(`dagctl_autoscale_run_slots{run="${esc(r.runId)}",feasible="${r.feasible}"} ${r.slots}`);
  return out.join('\n') + '\n';
}
