/**
 * Fault-injecting HTTP proxy for the S3 tests (node:http, binds 127.0.0.1 only).
 *
 * For a configurable fraction of requests it answers 500 InternalError / 503 SlowDown without
 * forwarding; for a fraction of PUTs it forwards the request, waits until the server has answered
 * (so the write WAS applied), then destroys the client's socket instead of relaying the answer — the
 * "response lost after commit" case that create-only and CAS writers must resolve. Headers, Host
 * included, are forwarded unchanged so SigV4 signatures made for the proxy's address stay valid.
 * A seeded PRNG makes a run's fault pattern reproducible for a given request order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../gen/prng.js';

export interface FaultOptions {
  /** Fraction of all requests answered 500/503 without reaching the server. */
  errorRate: number;
  /** Fraction of PUT requests forwarded and then answered with a dropped connection. */
  dropPutRate: number;
  seed?: number;
}

export interface FaultStats {
  requests: number;
  injectedErrors: number;
  droppedAfterApply: number;
  forwarded: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:<port> — use as the store's endpoint. */
  readonly endpoint: string;
  readonly stats: FaultStats;
  /** Change rates mid-test (e.g. 0/0 for a clean verification phase). */
  setRates(errorRate: number, dropPutRate: number): void;
  close(): Promise<void>;
}

function s3Error(res: http.ServerResponse, status: number, code: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by fault proxy</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

export async function startFaultProxy(upstream: string, opts: FaultOptions): Promise<FaultProxy> {
  const target = new URL(upstream);
  if (target.protocol !== 'http:') throw new Error(`fault proxy forwards to http:// only, got ${upstream}`);
  const random = mulberry32(opts.seed ?? 42);
  let errorRate = opts.errorRate;
  let dropPutRate = opts.dropPutRate;
  const stats: FaultStats = { requests: 0, injectedErrors: 0, droppedAfterApply: 0, forwarded: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const server = http.createServer((req, res) => {
    stats.requests += 1;
    if (random() < errorRate) {
      stats.injectedErrors += 1;
      // Read the body first so the client is not cut off mid-upload (that would be a different fault).
      req.resume();
      req.on('end', () => (random() < 0.5 ? s3Error(res, 500, 'InternalError') : s3Error(res, 503, 'SlowDown')));
      return;
    }
    const drop = req.method === 'PUT' && random() < dropPutRate;
    stats.forwarded += 1;
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (ures) => {
        if (drop) {
          // The server has answered, so the write is applied; the client never learns it.
          stats.droppedAfterApply += 1;
          ures.resume();
          ures.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setRates(e: number, d: number) {
      errorRate = e;
      dropPutRate = d;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
