/**
 * A minimal keep-alive HTTP/1.1 GET client over one TCP connection (node:net), for benchmarks that
 * time a server's answers: one request in flight per connection, the response read by its
 * Content-Length (a response without one, or not HTTP/1.1, is an error). It exists because the
 * client's own work is inside every latency a benchmark reports: node:http's client and undici's
 * Pool each spent about as much CPU per request as `dagctl serve` spends answering it (measured
 * with bench/serve.ts's query mix), while this one spends a fraction of it.
 *
 *   const c = await connectGet(host, port); const { status, body } = await c.get('/path'); c.close();
 *
 * `open()` says whether the connection can still be used (a server closes idle keep-alive
 * connections after its timeout; a benchmark reconnects such a one before it starts a clock).
 */
import net from 'node:net';

export interface GetResponse {
  status: number;
  body: Buffer;
}

export interface GetConnection {
  get(path: string): Promise<GetResponse>;
  open(): boolean;
  close(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export async function connectGet(host: string, port: number): Promise<GetConnection> {
  const sock = net.connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  let buf: Buffer = Buffer.alloc(0);
  let waiting: { resolve: (r: GetResponse) => void; reject: (e: Error) => void } | null = null;
  const fail = (e: Error): void => {
    const w = waiting;
    waiting = null;
    w?.reject(e);
  };
  sock.on('error', fail);
  let closed: Error | null = null;
  sock.on('close', () => fail((closed = new Error(`connection to ${host}:${port} closed`))));
  sock.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const he = buf.indexOf(HEAD_END);
    if (he < 0) return;
    const head = buf.toString('latin1', 0, he);
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
    const len = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (status === null || len === null) {
      fail(new Error(`not an HTTP/1.1 response with a Content-Length: ${head.slice(0, 200)}`));
      sock.destroy();
      return;
    }
    const end = he + 4 + Number(len[1]);
    if (buf.length < end) return;
    const body = buf.subarray(he + 4, end);
    buf = buf.subarray(end);
    const w = waiting;
    waiting = null;
    w?.resolve({ status: Number(status[1]), body });
  });
  return {
    get(path) {
      if (closed !== null) return Promise.reject(closed);
      if (waiting !== null) return Promise.reject(new Error('one request at a time per connection'));
      return new Promise<GetResponse>((resolve, reject) => {
        waiting = { resolve, reject };
        sock.write(`GET ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\n\r\n`);
      });
    },
    open() {
      return closed === null && !sock.destroyed;
    },
    close() {
      closed ??= new Error(`connection to ${host}:${port} closed by the client`);
      sock.removeAllListeners('close');
      sock.destroy();
    },
  };
}
