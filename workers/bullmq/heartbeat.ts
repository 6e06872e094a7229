/**
 * Worker heartbeats: every `intervalMs` a `dagctl worker` writes what it is (name, host, pid,
 * queues, concurrency) and what it runs now (its in-flight instances) to Redis, with an expiry of a
 * few intervals, and indexes itself in the workers zset. A killed worker's record expires on its
 * own; `dagctl workers` lists the records that are still there (listWorkers). A clean shutdown
 * removes the record at once.
 *
 * Heartbeats are for people and tools; redelivery of a dead worker's jobs is BullMQ's lock (short
 * and renewed, worker-process.ts), which this does not replace.
 */
import type { Redis } from 'ioredis';
import { WORKERS_KEY, workerKey } from '../../scheduler/redis/keys.js';

export interface WorkerBeat {
  name: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  startedAt: number;
  heartbeatAt: number;
  /** In-flight attempts: run id and instance ids (a bundle lists its members). */
  current: Array<{ runId: string; instances: string[] }>;
}

/** Heartbeats expire after this many intervals without one. */
const EXPIRY_BEATS = 5;

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly describe: () => Omit<WorkerBeat, 'heartbeatAt'>,
    private readonly intervalMs = 1000,
    private readonly onError: (e: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  async beat(): Promise<void> {
    const b: WorkerBeat = { ...this.describe(), heartbeatAt: this.now() };
    await this.redis
      .multi()
      .set(workerKey(b.name), JSON.stringify(b), 'PX', this.intervalMs * EXPIRY_BEATS)
      .zadd(WORKERS_KEY, String(b.heartbeatAt), b.name)
      .exec();
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(this.onError), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const { name } = this.describe();
    await this.redis.multi().del(workerKey(name)).zrem(WORKERS_KEY, name).exec();
  }
}

/** Live workers (records not yet expired), by name; drops expired names from the index. */
export async function listWorkers(redis: Redis): Promise<WorkerBeat[]> {
  const names = await redis.zrange(WORKERS_KEY, '0', '-1');
  if (names.length === 0) return [];
  const raw = await redis.mget(names.map((n) => workerKey(n)));
  const live: WorkerBeat[] = [];
  const gone: string[] = [];
  names.forEach((n, i) => {
    const r = raw[i];
    if (r === null || r === undefined) gone.push(n);
    else live.push(JSON.parse(r) as WorkerBeat);
  });
  if (gone.length > 0) await redis.zrem(WORKERS_KEY, ...gone);
  return live.sort((a, b) => a.name.localeCompare(b.name));
}
