/**
 * `dagctl autoscale-metrics` — serves the scaling figures KEDA reads: /scale (JSON: workJobs —
 * ready, running and due-retry jobs — deadlineSlots — slots needed to finish active runs by their
 * deadlines under the cost model — and demandSlots, the two combined; scheduler/plan/autoscale.ts),
 * /metrics (Prometheus), /healthz, /readyz. Runs until
 * SIGTERM/SIGINT. Stateless: any number of replicas may run.
 */
import { DagctlError } from '../../core/errors.js';
import { redisUrlOf, str, type CommandDef } from '../command.js';

export const autoscaleMetricsCommand: CommandDef = {
  name: 'autoscale-metrics',
  summary: 'Serve the worker-scaling metrics (ready work, slots needed for deadlines) for KEDA',
  usage: `dagctl autoscale-metrics --redis URL [--port P] [--queues a,b] [--max-slots N]

  --redis URL      Redis (also DAGCTL_REDIS_URL)
  --port P         serve /scale, /metrics, /healthz, /readyz on P (default 9465; also DAGCTL_AUTOSCALE_PORT; 0 = any)
  --host H         bind address (default 0.0.0.0)
  --queues a,b     queues whose jobs count (default: default)
  --max-slots N    cap of the deadline figure: max worker pods × concurrency (default 1024)`,
  options: {
    redis: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    queues: { type: 'string' },
    'max-slots': { type: 'string' },
  },
  allowPositionals: false,
  async run(args, io) {
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    if (redisUrl === undefined) throw new DagctlError('USAGE', `autoscale-metrics needs --redis URL or DAGCTL_REDIS_URL\n${autoscaleMetricsCommand.usage}`);
    const port = int(str(args, 'port') ?? io.env.DAGCTL_AUTOSCALE_PORT ?? '9465', '--port', 0, 65535);
    const maxSlots = int(str(args, 'max-slots') ?? '1024', '--max-slots', 1, 1_000_000);
    const queues = (str(args, 'queues') ?? 'default').split(',').map((q) => q.trim()).filter((q) => q !== '');
    const { startAutoscaleService } = await import('../../workers/bullmq/autoscale-metrics.js');
    const svc = await startAutoscaleService({ redisUrl, queues, maxSlots, port, env: io.env, ...(str(args, 'host') !== undefined ? { host: str(args, 'host') } : {}) });
    io.stdout.write(`${JSON.stringify({ service: 'autoscale-metrics', port: svc.port })}\n`);
    await new Promise<void>((resolve) => {
      if (io.interrupted.aborted) resolve();
      else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
    await svc.close();
    return 0;
  },
};

function int(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new DagctlError('USAGE', `${name} expects an integer ${min}..${max}, got "${v}"`);
  return n;
}
