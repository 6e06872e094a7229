/**
 * bench/lib/http-get.ts: the lean benchmark client's byte parser of a response head (parseHead:
 * the status line's code and Content-Length, header names in any case, leading spaces of the
 * value skipped) against a plain reference (the regular expressions the client used before), for
 * generated heads; and a real round trip through node:http (a body split over several writes,
 * two answers on one keep-alive connection, a response without a Content-Length refused).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { connectGet, parseHead } from '../../bench/lib/http-get.js';

/** The reference: what the client parsed with regular expressions until session 18. */
function reference(head: string): { status: number; length: number } | null {
  const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(head);
  const len = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  return status === null || len === null ? null : { status: Number(status[1]), length: Number(len[1]) };
}

describe('bench http-get: parseHead', () => {
  it('reads the status and Content-Length as the regular expressions do', () => {
    const name = fc.constantFrom('content-length', 'Content-Length', 'CONTENT-LENGTH', 'content-lengthx', 'x-content-length', 'content\rlength', 'content-length\u001a', 'content-type', 'date');
    const header = fc.tuple(name, fc.constantFrom(':', ': ', ':\t', ':  '), fc.oneof(fc.nat({ max: 10_000_000 }).map(String), fc.constantFrom('', 'abc', 'application/json')));
    const head = fc.tuple(fc.constantFrom('HTTP/1.1 200 OK', 'HTTP/1.1 404 Not Found', 'HTTP/1.0 200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'http/1.1 200 OK', 'HTTP/1.1 503'), fc.array(header, { maxLength: 5 }))
      .map(([line, hs]) => [line, ...hs.map(([n, sep, v]) => `${n}${sep}${v}`)].join('\r\n'));
    fc.assert(
      fc.property(head, (h) => {
        const buf = Buffer.from(`${h}\r\n\r\nbody`, 'latin1');
        assert.deepEqual(parseHead(buf, buf.indexOf('\r\n\r\n')), reference(h), h);
      }),
      { numRuns: 2000 },
    );
  });

  it('round trips through node:http: split bodies, keep-alive, a response without a Content-Length refused', async () => {
    const body = 'x'.repeat(70_000);
    const server = http.createServer((req, res) => {
      if (req.url === '/chunked') {
        res.write('a');
        res.end('b');
        return;
      }
      res.writeHead(201, { 'content-length': String(Buffer.byteLength(body)) });
      res.write(body.slice(0, 1000));
      res.end(body.slice(1000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const c = await connectGet('127.0.0.1', port);
      for (let i = 0; i < 2; i++) {
        const r = await c.get('/big');
        assert.equal(r.status, 201);
        assert.equal(r.body.toString(), body);
      }
      const req = c.request('/big');
      const r = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => c.send(req, (e, x) => (e !== null ? reject(e) : resolve(x!))));
      assert.equal(r.body.length, body.length);
      await assert.rejects(c.get('/chunked'), /not an HTTP\/1\.1 response with a Content-Length/);
      c.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
