/**
 * A minimal keep-alive HTTP/1.1 GET client over one TCP connection (node:net), for benchmarks that
 * time a server's answers: one request in flight per connection, the response read by its
 * Content-Length (a response without one, or not HTTP/1.1, is an error). It exists because the
 * client's own work is inside every latency a benchmark reports: node:http's client and undici's
 * Pool each spent about as much CPU per request as `dagctl serve` spends answering it (measured
 * with bench/serve.ts's query mix), while this one spends a fraction of it.
 *
 *   const c = await connectGet(host, port); const { status, body } = await c.get('/path'); c.close();
 *   const req = c.request('/path');  c.send(req, (e, r) => …);   // the request's bytes made once, no promise
 *
 * `send` is what a timed loop uses: the request's bytes built beforehand (`request`), the answer
 * to a callback; a response is parsed as bytes — the status line's code and the Content-Length
 * header, nothing else (no header string, no regular expression). `get` is `send` with a promise.
 * `open()` says whether the connection can still be used (a server closes idle keep-alive
 * connections after its timeout; a benchmark reconnects such a one before it starts a clock).
 */
import net from 'node:net';

export interface GetResponse {
  status: number;
  body: Buffer;
}

export type GetCallback = (e: Error | null, r: GetResponse | null) => void;

export interface GetConnection {
  get(path: string): Promise<GetResponse>;
  /** The bytes of a GET of `path` on this connection (send them as often as needed). */
  request(path: string): Buffer;
  send(request: Buffer, cb: GetCallback): void;
  open(): boolean;
  close(): void;
}

const CR = 13, LF = 10;
/** "content-length:" in lower case, as bytes. */
const CONTENT_LENGTH = Buffer.from('content-length:');
const HTTP11 = Buffer.from('HTTP/1.1 ');

/**
 * The head of a response in buf[0, he) (he: the index of its "\r\n\r\n"): its status and
 * Content-Length, or null when it is not HTTP/1.1 or has no Content-Length. Header names are
 * matched without regard to case, the value's leading spaces skipped, as the RFC allows.
 */
export function parseHead(buf: Buffer, he: number): { status: number; length: number } | null {
  if (he < 12) return null;
  for (let i = 0; i < HTTP11.length; i++) if (buf[i] !== HTTP11[i]) return null;
  const d0 = buf[9]! - 48, d1 = buf[10]! - 48, d2 = buf[11]! - 48;
  if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (he > 12 && buf[12] !== 32)) return null;
  const status = 100 * d0 + 10 * d1 + d2;
  // Each header line starts after a "\r\n".
  for (let i = 12; i + 1 < he; i++) {
    if (buf[i] !== CR || buf[i + 1] !== LF) continue;
    let j = i + 2, k = 0;
    // A header name's letters in any case (A-Z lowered).
    while (k < CONTENT_LENGTH.length && j < he && (buf[j]! >= 65 && buf[j]! <= 90 ? buf[j]! + 32 : buf[j]) === CONTENT_LENGTH[k]) {
      j++;
      k++;
    }
    if (k < CONTENT_LENGTH.length) continue;
    while (j < he && (buf[j] === 32 || buf[j] === 9)) j++;
    let length = 0, digits = 0;
    for (; j < he && buf[j]! >= 48 && buf[j]! <= 57; j++, digits++) length = 10 * length + buf[j]! - 48;
    if (digits > 0) return { status, length };
  }
  return null;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export async function connectGet(host: string, port: number): Promise<GetConnection> {
  const sock = net.connect({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  let buf: Buffer = Buffer.alloc(0);
  let waiting: GetCallback | null = null;
  const fail = (e: Error): void => {
    const w = waiting;
    waiting = null;
    w?.(e, null);
  };
  sock.on('error', fail);
  let closed: Error | null = null;
  sock.on('close', () => fail((closed = new Error(`connection to ${host}:${port} closed`))));
  sock.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const he = buf.indexOf(HEAD_END);
    if (he < 0) return;
    const head = parseHead(buf, he);
    if (head === null) {
      fail(new Error(`not an HTTP/1.1 response with a Content-Length: ${buf.toString('latin1', 0, Math.min(he, 200))}`));
      sock.destroy();
      return;
    }
    const end = he + 4 + head.length;
    if (buf.length < end) return;
    const body = buf.subarray(he + 4, end);
    buf = buf.subarray(end);
    const w = waiting;
    waiting = null;
    w?.(null, { status: head.status, body });
  });
  const request = (path: string): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\n\r\n`);
  const send = (req: Buffer, cb: GetCallback): void => {
    if (closed !== null) return cb(closed, null);
    if (waiting !== null) return cb(new Error('one request at a time per connection'), null);
    waiting = cb;
    sock.write(req);
  };
  return {
    request,
    send,
    get(path) {
      return new Promise<GetResponse>((resolve, reject) => send(request(path), (e, r) => (e !== null ? reject(e) : resolve(r!))));
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
