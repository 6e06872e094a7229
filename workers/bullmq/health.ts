/**
 * The worker's HTTP endpoints (node:http, one port):
 *   /healthz  200 while the process is alive and its event loop turns (liveness);
 *   /readyz   200 while it is connected to Redis and taking jobs, 503 otherwise — including
 *             during graceful shutdown, so a load balancer or Kubernetes stops counting on it;
 *   /metrics  Prometheus text format;
 *   any extra GET route the source lists (e.g. /scale of the autoscaling service).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthSource {
  ready(): boolean;
  metrics(): Promise<string>;
  /** Extra routes by path: their reply (500 with the error when it throws). */
  routes?: Record<string, () => Promise<{ contentType: string; body: string }>>;
}

export async function startHealthServer(port: number, host: string, src: HealthSource): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = src.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      src.metrics().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(e)}\n`),
      );
    } else if (path !== undefined && src.routes?.[path] !== undefined) {
      src.routes[path]().then(
        (r) => res.writeHead(200, { 'content-type': r.contentType }).end(r.body),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${path} failed: ${String(e)}\n`),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
