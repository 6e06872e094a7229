/**
 * The HTTP floor for bench/serve.ts: a child process (started with `fork`) answering one GET route
 * with fixed JSON bodies — no query work at all. The parent sends `{ body, bodies, stack }`: `bodies`
 * the [request path, body] pairs of serve's answers captured in the same run, so each response is
 * exactly as large as serve's answer to the same request (one map lookup by the request's path),
 * `body` the answer to any other path; `stack` one of FLOOR_STACKS, default `fastify`. The child
 * answers `{ port }` once it listens on 127.0.0.1. Its latency over the same
 * client is the least a server of that stack can answer in on the machine: what remains of serve's
 * latency above it is the query. The stacks:
 *
 *   fastify      fastify (logger off), the route as a handler: what `dagctl serve` used to be
 *   fmw          node:http with find-my-way (fastify's own router, which parses the query string
 *                with fast-querystring, fastify's parser), the body written with res.end and
 *                headers as a flat list: what `dagctl serve`'s /query is now (serving/server.ts:
 *                the hot route in front of fastify, which keeps the others)
 *   node-http    node:http answering every request, no routing or parsing: below any server that
 *                has to look at the request
 *   fixed        node:http answering every request with `body` as one Buffer made once (no lookup,
 *                no string encoding): the floor of a minimal ping-pong server, for comparison
 */
import http from 'node:http';
import Fastify from 'fastify';
import FindMyWay from 'find-my-way';

export const FLOOR_ENTRY = new URL(import.meta.url).pathname;
export const FLOOR_STACKS = ['fastify', 'fmw', 'node-http', 'fixed'] as const;
export type FloorStack = (typeof FLOOR_STACKS)[number];

/** The servers of this process (closed when the bench is gone). */
const servers: http.Server[] = [];
// The bench gone (its IPC channel closed, e.g. killed): the floor closes its server and connections, and ends.
process.once('disconnect', () => {
  for (const s of servers) {
    s.close();
    s.closeAllConnections();
  }
});

function listening(server: http.Server): void {
  servers.push(server);
  // fastify's keep-alive timeout (node's own is 5 s): a client idle between rounds keeps its connection.
  server.keepAliveTimeout = 72_000;
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.send?.({ port: typeof a === 'object' && a !== null ? a.port : 0 });
  });
}

if (process.send !== undefined && process.argv.includes('--http-floor')) {
  process.once('message', (m: unknown) => {
    const body = typeof m === 'object' && m !== null && 'body' in m && typeof m.body === 'string' ? m.body : '{}';
    const stack = typeof m === 'object' && m !== null && 'stack' in m && typeof m.stack === 'string' ? m.stack : 'fastify';
    const pairs = typeof m === 'object' && m !== null && 'bodies' in m && Array.isArray(m.bodies) ? (m.bodies as unknown[]) : [];
    // Each path's body and its headers, made once (the floor's per-request work is one map lookup).
    type Reply = { body: string; headers: Record<string, string>; flat: string[] };
    const reply = (b: string): Reply => {
      const len = String(Buffer.byteLength(b));
      return { body: b, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': len }, flat: ['content-type', 'application/json; charset=utf-8', 'content-length', len] };
    };
    const fallback = reply(body);
    const byPath = new Map<string, Reply>();
    for (const pr of pairs) if (Array.isArray(pr) && typeof pr[0] === 'string' && typeof pr[1] === 'string') byPath.set(pr[0], reply(pr[1]));
    const of = (url: string | undefined): Reply => byPath.get(url ?? '') ?? fallback;
    if (stack === 'fixed') {
      const buf = Buffer.from(body);
      const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(buf.length) };
      listening(http.createServer((_req, res) => {
        res.writeHead(200, headers);
        res.end(buf);
      }));
      return;
    }
    if (stack === 'fmw' || stack === 'node-http') {
      if (stack === 'node-http') {
        listening(http.createServer((req, res) => {
          const r = of(req.url);
          res.writeHead(200, r.headers);
          res.end(r.body);
        }));
        return;
      }
      const router = FindMyWay({ defaultRoute: (_req, res) => { res.statusCode = 404; res.end(); } });
      // The parameters are parsed by find-my-way as for serve (and not read): the floor of a server that reads its query.
      router.on('GET', '/query', (req, res) => {
        const r = of(req.url);
        res.writeHead(200, r.flat);
        res.end(r.body);
      });
      listening(http.createServer((req, res) => router.lookup(req, res)));
      return;
    }
    const app = Fastify({ logger: false });
    app.get('/query', (req, rep) => {
      void rep.type('application/json; charset=utf-8').send(of(req.url).body);
    });
    servers.push(app.server);
    void app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
      const a = app.server.address();
      process.send?.({ port: typeof a === 'object' && a !== null ? a.port : 0 });
    });
  });
}
