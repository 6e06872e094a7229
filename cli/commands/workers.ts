/**
 * `dagctl workers` — the live `dagctl worker` processes of a Redis: name, host and pid, queues,
 * concurrency, what each runs now and its last heartbeat. A worker drops out a few heartbeats after
 * it dies (workers/bullmq/heartbeat.ts); its attempts are redelivered by their short job lock.
 */
import { DagctlError } from '../../core/errors.js';
import { flag, redisUrlOf, str, writeJson, type CommandDef } from '../command.js';

export const workersCommand: CommandDef = {
  name: 'workers',
  summary: 'List live workers',
  usage: `dagctl workers --redis URL [--json]

  --redis URL   the workers' Redis (also DAGCTL_REDIS_URL)
  --json        machine-readable list`,
  options: { redis: { type: 'string' }, json: { type: 'boolean' } },
  allowPositionals: false,
  async run(args, io) {
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    if (redisUrl === undefined) throw new DagctlError('USAGE', 'workers are listed from Redis: pass --redis URL or set DAGCTL_REDIS_URL (embedded runs use threads of their own `dagctl run`)');
    const { connectRedis, redact } = await import('../../scheduler/redis/connection.js');
    const { listWorkers } = await import('../../workers/bullmq/heartbeat.js');
    const redis = await connectRedis(redisUrl, 'client', io.env);
    try {
      const now = Date.now();
      const list = await listWorkers(redis);
      if (flag(args, 'json')) {
        writeJson(io, list.map((w) => ({ ...w, heartbeatAgoMs: now - w.heartbeatAt })));
        return 0;
      }
      if (list.length === 0) {
        io.stdout.write(`no live workers on ${redact(redisUrl)}\n`);
        return 0;
      }
      io.stdout.write(`${'WORKER'.padEnd(28)} ${'HOST'.padEnd(20)} ${'PID'.padStart(7)} ${'QUEUES'.padEnd(12)} ${'CONC'.padStart(4)} ${'BUSY'.padStart(4)} ${'BEAT'.padStart(6)}  CURRENT\n`);
      for (const w of list) {
        const busy = w.current.reduce((n, c) => n + c.instances.length, 0);
        const current = w.current.map((c) => `${c.runId}: ${c.instances.slice(0, 3).join(', ')}${c.instances.length > 3 ? ` (+${c.instances.length - 3})` : ''}`).join('; ');
        io.stdout.write(`${w.name.padEnd(28)} ${w.host.padEnd(20)} ${String(w.pid).padStart(7)} ${w.queues.join(',').padEnd(12)} ${String(w.concurrency).padStart(4)} ${String(busy).padStart(4)} ${`${((now - w.heartbeatAt) / 1000).toFixed(1)}s`.padStart(6)}  ${current || '-'}\n`);
      }
      return 0;
    } finally {
      redis.disconnect();
    }
  },
};
