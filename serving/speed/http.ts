/**
 * The speed layer's health and metrics endpoints (fastify): GET /healthz (200 while the process
 * runs), /readyz (200 once the consumer has joined its group and read its markers; 503 after a
 * fatal error or while closing), /metrics (Prometheus text of SpeedStatus: events, micro-batches
 * applied and replayed, rejects by reason, events dropped as already absorbed, expired hours, the
 * batch view's high-water mark, per-partition applied offset and lag).
 */
import Fastify from 'fastify';
import type { SpeedHandle } from './service.js';

export async function startSpeedHttp(h: SpeedHandle, opts: { port: number; host?: string }): Promise<{ port: number; close(): Promise<void> }> {
  let ready = false, closing = false;
  void h.ready.then(() => (ready = true), () => undefined);
  const app = Fastify({ logger: false });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    const s = h.status();
    const ok = ready && !closing && s.fatal === null;
    return reply.code(ok ? 200 : 503).type('text/plain').send(ok ? 'ready\n' : `${s.fatal ?? (closing ? 'closing' : 'joining')}\n`);
  });
  app.get('/metrics', async (_req, reply) => {
    const s = h.status();
    const l: string[] = [];
    const counter = (name: string, help: string, v: number): void => void l.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
    const gauge = (name: string, help: string, v: number): void => void l.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
    counter('dagctl_speed_events_total', 'Valid pageview events applied to the realtime views.', s.events);
    counter('dagctl_speed_batches_total', 'Micro-batches applied.', s.batches);
    counter('dagctl_speed_replayed_batches_total', 'Micro-batches recognised as already applied (after a restart) and skipped.', s.replayedBatches);
    counter('dagctl_speed_dropped_events_total', 'Events for hours the batch view had already absorbed (not kept).', s.dropped);
    counter('dagctl_speed_expired_hours_total', 'Realtime hours deleted after a batch version covering them was published.', s.expiredHours);
    counter('dagctl_speed_apply_seconds_total', 'Time spent aggregating and applying micro-batches.', s.applySecondsSum);
    l.push('# HELP dagctl_speed_rejects_total Records rejected, by reason.', '# TYPE dagctl_speed_rejects_total counter');
    for (const [r, n] of Object.entries(s.rejects)) l.push(`dagctl_speed_rejects_total{reason="${r}"} ${n}`);
    gauge('dagctl_speed_batch_high_water_seconds', 'The batch view\'s high-water mark last seen (epoch s; -1 none).', s.batchHighWater ?? -1);
    gauge('dagctl_speed_last_apply_timestamp_seconds', 'When a micro-batch was last applied (epoch s; -1 never).', s.lastApplyAt === null ? -1 : s.lastApplyAt / 1000);
    l.push('# HELP dagctl_speed_partition_applied_offset Last offset applied, per partition.', '# TYPE dagctl_speed_partition_applied_offset gauge');
    for (const [p, v] of Object.entries(s.partitions)) l.push(`dagctl_speed_partition_applied_offset{partition="${p}"} ${v.applied}`);
    l.push('# HELP dagctl_speed_partition_lag Records in the log not applied yet, per partition.', '# TYPE dagctl_speed_partition_lag gauge');
    for (const [p, v] of Object.entries(s.partitions)) if (v.lag !== null) l.push(`dagctl_speed_partition_lag{partition="${p}"} ${v.lag}`);
    return reply.type('text/plain; version=0.0.4').send(l.join('\n') + '\n');
  });
  await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  const addr = app.server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : opts.port,
    async close() {
      closing = true;
      await app.close();
    },
  };
}
