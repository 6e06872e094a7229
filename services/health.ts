/**
 * The health and metrics endpoints every dagctl service serves, in one implementation (fastify,
 * as serve and ui):
 *   /healthz  200 while the process is alive and its event loop turns (liveness);
 *   /readyz   200 while `ready()` says so, 503 otherwise (with its reason, when it gives one) —
 *             including during graceful shutdown, so a load balancer or Kubernetes stops counting
 *             on the process;
 *   /metrics  Prometheus text format (500 with the error when rendering throws);
 *   any extra GET route the source lists (e.g. /scale of the autoscaling service).
 * `healthRoutes` adds them to a service's own fastify app (serve, ui); `startHealthServer` is the
 * stand-alone server of the services without an HTTP API of their own (the scheduler, the BullMQ
 * worker, `dagctl autoscale-metrics`). fastify is loaded on first use: a worker started without
 * --port does not pay for it.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';

/** true: ready; false or a reason: not ready (503). */
export type Readiness = boolean | string;

export interface HealthSource {
  ready(): Readiness | Promise<Readiness>;
  metrics(): string | Promise<string>;
  /** Extra GET routes by path: their reply (500 with the error when it throws). */
  routes?: Record<string, () => Promise<{ contentType: string; body: string }>>;
}

export interface HealthServer {
  /** The port it listens on (the one picked when asked for port 0). */
  port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Registers /healthz, /readyz, /metrics and the source's extra routes on `app`. */
export function healthRoutes(app: FastifyInstance, src: HealthSource): void {
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    const r = await src.ready();
    if (r === true) return reply.type('text/plain').send('ready\n');
    return reply.code(503).type('text/plain').send(r === false ? 'not ready\n' : `not ready: ${r}\n`);
  });
  const serve = (path: string, render: () => Promise<{ contentType: string; body: string }>): void => {
    app.get(path, async (_req, reply) => {
      let r: { contentType: string; body: string };
      try {
        r = await render();
      } catch (e) {
        return reply.code(500).type('text/plain').send(`${path} failed: ${String(e)}\n`);
      }
      return reply.type(r.contentType).send(r.body);
    });
  };
  serve('/metrics', async () => ({ contentType: 'text/plain; version=0.0.4', body: await src.metrics() }));
  for (const [path, route] of Object.entries(src.routes ?? {})) serve(path, route);
}

/** A server of just the health routes on host:port (port 0: any free one). */
export async function startHealthServer(port: number, host: string, src: HealthSource): Promise<HealthServer> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, forceCloseConnections: true });
  healthRoutes(app, src);
  await app.listen({ port, host });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
