/**
 * `dagctl worker` — processes task instances from Redis/BullMQ until SIGTERM/SIGINT: N concurrent
 * attempts on worker threads, /healthz /readyz /metrics on --port, JSON logs on stderr, graceful
 * shutdown within --grace (in-flight attempts finish, or are handed back to the queue).
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { redisUrlOf, str, type CommandDef } from '../command.js';

export const workerCommand: CommandDef = {
  name: 'worker',
  summary: 'Start a worker that processes task instances from Redis/BullMQ',
  usage: `dagctl worker --redis URL [--concurrency N] [--queues a,b] [--port P] [--grace 30s]

  --redis URL          Redis (also DAGCTL_REDIS_URL); rediss:// for TLS, user:password@ for ACLs
  --concurrency N      attempts run at once, each on its own worker thread (default 1)
  --queues a,b         queues to take instances from (default: default)
  --port P             serve /healthz, /readyz and /metrics on P (also DAGCTL_WORKER_PORT; 0 = any)
  --host H             bind address of that server (default 0.0.0.0)
  --grace D            at SIGTERM/SIGINT, let in-flight attempts finish for D, then hand them
                       back to the queue (default 30s; also DAGCTL_WORKER_GRACE)
  --name NAME          worker name in logs, metrics and statuses (also DAGCTL_WORKER_NAME; default host-pid)
  --lock D             BullMQ job lock: a killed worker's jobs are redelivered after ~D (default 5s, renewed every half)
  --sweep D            how often the sweeper checks runs for lost jobs and due retries (default 3s)`,
  options: {
    redis: { type: 'string' },
    concurrency: { type: 'string' },
    queues: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    grace: { type: 'string' },
    name: { type: 'string' },
    lock: { type: 'string' },
    sweep: { type: 'string' },
  },
  allowPositionals: false,
  async run(args, io) {
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    if (redisUrl === undefined) throw new DagctlError('USAGE', `worker needs --redis URL or DAGCTL_REDIS_URL\n${workerCommand.usage}`);
    const concurrency = int(str(args, 'concurrency') ?? '1', '--concurrency', 1, 1024);
    const portText = str(args, 'port') ?? io.env.DAGCTL_WORKER_PORT;
    const port = portText === undefined || portText === '' ? undefined : int(portText, '--port', 0, 65535);
    const queues = (str(args, 'queues') ?? 'default').split(',').map((q) => q.trim()).filter((q) => q !== '');
    const graceMs = duration(str(args, 'grace') ?? io.env.DAGCTL_WORKER_GRACE ?? '30s', '--grace');
    const lock = str(args, 'lock');
    const sweep = str(args, 'sweep');
    const name = str(args, 'name') ?? (io.env.DAGCTL_WORKER_NAME || undefined);
    // Loaded lazily: other commands never pay for BullMQ.
    const { startWorker } = await import('../../workers/bullmq/worker-process.js');
    const { jsonLogger } = await import('../../workers/bullmq/log.js');
    const level = io.env.DAGCTL_LOG_LEVEL;
    const log = jsonLogger(io.stderr, name === undefined ? {} : { worker: name }, level === 'debug' || level === 'warn' || level === 'error' ? level : 'info');
    const handle = await startWorker({
      redisUrl,
      concurrency,
      queues,
      graceMs,
      log,
      env: io.env,
      ...(port !== undefined ? { port } : {}),
      ...(str(args, 'host') !== undefined ? { host: str(args, 'host') } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(lock !== undefined ? { lockDurationMs: duration(lock, '--lock'), stalledIntervalMs: Math.max(500, Math.floor(duration(lock, '--lock') / 2)) } : {}),
      ...(sweep !== undefined ? { sweepIntervalMs: duration(sweep, '--sweep') } : {}),
    });
    if (port !== undefined) io.stdout.write(`${JSON.stringify({ worker: handle.name, port: handle.port })}\n`);
    await new Promise<void>((resolve) => {
      if (io.interrupted.aborted) resolve();
      else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
    await handle.shutdown('signal');
    return 0;
  },
};

function int(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new DagctlError('USAGE', `${name} expects an integer ${min}..${max}, got "${v}"`);
  return n;
}

function duration(v: string, name: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) : parseDuration(v);
  if (ms === null || !Number.isFinite(ms) || ms < 0) throw new DagctlError('USAGE', `${name} expects a duration like 500ms, 30s or 2m, got "${v}"`);
  return ms;
}
