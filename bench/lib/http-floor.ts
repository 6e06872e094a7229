/**
 * The HTTP floor for bench/serve.ts: a child process (started with `fork`) running the same HTTP
 * server library as `dagctl serve` (fastify, logger off) with one GET route that answers a fixed
 * JSON body — no query work at all. The parent sends `{ body }` (a serve answer captured in the same
 * run, so the response size matches), the child answers `{ port }` once it listens on 127.0.0.1.
 * Its latency over the same client is the least any HTTP server of this stack can answer in on the
 * machine: what remains of serve's latency above it is the query.
 */
import Fastify from 'fastify';

export const FLOOR_ENTRY = new URL(import.meta.url).pathname;

if (process.send !== undefined && process.argv.includes('--http-floor')) {
  process.once('message', (m: unknown) => {
    const body = typeof m === 'object' && m !== null && 'body' in m && typeof m.body === 'string' ? m.body : '{}';
    const app = Fastify({ logger: false });
    app.get('/query', (_req, reply) => {
      void reply.type('application/json; charset=utf-8').send(body);
    });
    void app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
      const a = app.server.address();
      process.send?.({ port: typeof a === 'object' && a !== null ? a.port : 0 });
    });
  });
}
