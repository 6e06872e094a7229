/**
 * `dagctl serve` over real HTTP (the real binary, a child process on loopback): answers equal
 * DuckDB over rollup's input rows; concurrent clients; a new version published by a second
 * `dagctl run` (new days appended) is picked up without a restart, every answer during the swap
 * coming from one version; bad requests get 4xx with coded JSON errors; /healthz, /readyz, /metrics.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { duckRows } from '../storage/helpers.js';
import { startRun } from '../integration/support.js';
import { appendDays, oracle, parquetList, runDag, servingWorkspace, withinHll, type ServingWorkspace } from './support.js';

const H = 3600, D = 86_400;
const iso = (s: number): string => new Date(s * 1000).toISOString();
interface Answer { pageviews: number; uniques: number; version: string; buckets: Array<{ granularity: string }> }

describe('dagctl serve over HTTP', function () {
  this.timeout(300_000);
  let ws: ServingWorkspace;
  let child: ChildProcess;
  let base: string;
  let stderr = '';

  before(async () => {
    ws = await servingWorkspace({ rows: 12_000, days: 30, seed: 9 });
    const run = startRun(ws, ['serve', '--port', '0', '--poll', '100ms', '--cache-mb', '1', ws.viewUri]);
    child = run.child;
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${String(code)}: ${stderr}`)));
    });
    base = `http://127.0.0.1:${port}`;
  });

  after(() => {
    child?.kill('SIGTERM');
  });

  const get = async (path: string): Promise<{ status: number; body: unknown; text: string }> => {
    const r = await fetch(base + path);
    const text = await r.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: r.status, body, text };
  };
  const q = (url: string, from: number, to: number, extra = ''): string => `/query?view=pageviews-over-time&url=${encodeURIComponent(url)}&from=${iso(from)}&to=${iso(to)}${extra}`;

  it('answers range queries equal to DuckDB, for many concurrent clients; health and metrics', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
    const distinct = await parquetList(ws.dataUri, 'batch/distinct');
    const urls = (await duckRows(`SELECT url FROM read_parquet(${distinct}) GROUP BY url ORDER BY count(*) DESC, url LIMIT 12`)).map((r) => String(r.url));
    const [ext] = await duckRows(`SELECT min(ts) AS lo, max(ts) AS hi FROM read_parquet(${distinct})`);
    const first = Number(ext?.lo) - (Number(ext?.lo) % H), last = Number(ext?.hi) - (Number(ext?.hi) % H) + H;
    const cases: Array<[string, number, number]> = [];
    for (let i = 0; i < 64; i++) {
      const a = first + ((i * 7919 * H) % (last - first - H)), len = H * (1 + ((i * 104_729) % Math.floor((last - a) / H)));
      cases.push([urls[i % urls.length]!, a - (a % H), Math.min(last, a - (a % H) + len)]);
    }
    const answers = await Promise.all(cases.map(([u, f, t]) => get(q(u, f, t))));
    let weeks = 0;
    for (let i = 0; i < cases.length; i++) {
      const [u, f, t] = cases[i]!;
      const r = answers[i]!;
      assert.equal(r.status, 200, r.text);
      const a = r.body as Answer;
      const want = await oracle(distinct, u, f, t);
      assert.equal(a.pageviews, want.pageviews, `${u} [${iso(f)}, ${iso(t)})`);
      assert.ok(withinHll(a.uniques, want.uniques), `${u}: ${a.uniques} vs ${want.uniques}`);
      if (a.buckets.some((b) => b.granularity === 'w')) weeks++;
    }
    assert.ok(weeks > 0, 'some ranges must use w buckets');
    const m = await get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /dagctl_serve_queries_total\{code="OK"\} (\d+)/);
    assert.equal(Number(/dagctl_serve_queries_total\{code="OK"\} (\d+)/.exec(m.text)?.[1]), 64, 'one count per query: the test sends 64');
    assert.match(m.text, /dagctl_serve_view_info\{view="pageviews-over-time",version="[^"]+"\} 1/);
    assert.match(m.text, /dagctl_serve_cache_misses_total [1-9]/);
  });

  it('bad requests: 4xx with coded JSON errors', async () => {
    const t = Date.UTC(2024, 2, 5) / 1000;
    const cases: Array<[string, number, string]> = [
      ['/query?view=nope&url=x&from=2024-03-05&to=2024-03-06', 404, 'QUERY_VIEW_UNKNOWN'],
      [`/query?view=pageviews-over-time&page=x&from=${iso(t)}&to=${iso(t + D)}`, 400, 'QUERY_KEY_UNKNOWN'],
      [`/query?view=pageviews-over-time&url=x&from=${iso(t)}&to=${iso(t)}`, 400, 'QUERY_RANGE_INVALID'],
      [`/query?view=pageviews-over-time&url=x&from=${iso(t + D)}&to=${iso(t)}`, 400, 'QUERY_RANGE_INVALID'],
      ['/query?view=pageviews-over-time&url=x&from=2023-01-01&to=2023-01-02', 400, 'QUERY_RANGE_OUTSIDE_DATA'],
      ['/query?view=pageviews-over-time&url=x&from=tomorrow&to=2024-03-02', 400, 'QUERY_RANGE_INVALID'],
      ['/query?view=pageviews-over-time&url=x', 400, 'QUERY_INVALID'],
      [`/query?view=pageviews-over-time&url=x&url=y&from=${iso(t)}&to=${iso(t + D)}`, 400, 'QUERY_INVALID'],
      ['/nothing', 404, 'USAGE'],
    ];
    for (const [path, status, code] of cases) {
      const r = await get(path);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      assert.equal((r.body as { error: { code: string } }).error.code, code, path);
    }
    // A parameter given twice is named (the first of view, from, to in that order, before a missing one; then a key column).
    const twice: Array<[string, string]> = [
      [`/query?view=pageviews-over-time&view=x&url=x&from=${iso(t)}&to=${iso(t + D)}`, 'view'],
      [`/query?view=pageviews-over-time&url=x&from=${iso(t)}&from=${iso(t)}&to=${iso(t + D)}`, 'from'],
      [`/query?url=x&from=${iso(t)}&to=${iso(t + D)}&to=${iso(t + D)}`, 'to'],
      [`/query?view=a&view=b&from=${iso(t)}&from=${iso(t)}`, 'view'],
      [`/query?view=pageviews-over-time&url=x&url=y&from=${iso(t)}&to=${iso(t + D)}`, 'url'],
    ];
    for (const [path, parameter] of twice) {
      const r = await get(path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.deepEqual((r.body as { error: { code: string; details: unknown } }).error, { ...(r.body as { error: object }).error, code: 'QUERY_INVALID', details: { parameter } }, path);
    }
  });

  it("a request target with a fragment ('#') is refused with 400 QUERY_INVALID, on every route and method", async () => {
    // fetch strips fragments: the request goes out as raw bytes.
    const raw = (line: string): Promise<{ status: number; body: unknown }> =>
      new Promise((resolve, reject) => {
        const s = connect(Number(new URL(base).port), '127.0.0.1');
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => {
          const [head = '', body = ''] = text.split('\r\n\r\n');
          resolve({ status: Number(head.split(' ')[1]), body: line.startsWith('HEAD') ? null : JSON.parse(body) });
        });
        s.on('error', reject);
        s.end(`${line} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      });
    const t = Date.UTC(2024, 2, 5) / 1000;
    for (const target of [`/query#view=pageviews-over-time&url=a&from=${iso(t)}&to=${iso(t + D)}`, `/query#?view=pageviews-over-time&url=a&from=${iso(t)}&to=${iso(t + D)}`, `/query?view=pageviews-over-time&url=a&from=${iso(t)}&to=${iso(t + D)}#x`, '/healthz#x']) {
      for (const method of ['GET', 'HEAD']) {
        const r = await raw(`${method} ${target}`);
        assert.equal(r.status, 400, `${method} ${target}`);
        if (method === 'GET') assert.equal((r.body as { error: { code: string } }).error.code, 'QUERY_INVALID', target);
      }
    }
  });

  it('a new published version is picked up without a restart; each answer comes from one version', async () => {
    const before = ((await get('/views')).body as Array<{ version: string; to: string }>)[0]!;
    await appendDays(ws, { rows: 4000, days: 10, start: '2024-03-31', seed: 10 });
    // Queries run throughout the second batch run and the swap.
    const distinctOld = await parquetList(ws.dataUri, 'batch/distinct');
    const url = String((await duckRows(`SELECT url FROM read_parquet(${distinctOld}) GROUP BY url ORDER BY count(*) DESC, url LIMIT 1`))[0]?.url);
    const newFrom = Date.UTC(2024, 2, 29) / 1000, newTo = Date.UTC(2024, 3, 8) / 1000; // reaches into the new days
    let stop = false;
    const seen: Array<{ status: number; body: unknown }> = [];
    const load = (async (): Promise<void> => {
      while (!stop) seen.push(await get(q(url, newFrom, newTo)));
    })();
    await runDag(ws);
    // Wait (bounded) for the poller to swap the new version in.
    let after = before;
    for (let i = 0; i < 600 && after.version === before.version; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = ((await get('/views')).body as Array<{ version: string; to: string }>)[0]!;
    }
    stop = true;
    await load;
    assert.notEqual(after.version, before.version, `the new version was not picked up: ${stderr}`);
    assert.ok(after.to > before.to);
    const distinctNew = await parquetList(ws.dataUri, 'batch/distinct');
    const want = await oracle(distinctNew, url, newFrom, newTo);
    const final = await get(q(url, newFrom, newTo));
    assert.equal(final.status, 200, final.text);
    seen.push(final);
    for (const r of seen) {
      // The old version does not reach into the new days: it refuses; the new one answers fully.
      if (r.status === 400) assert.equal((r.body as { error: { code: string } }).error.code, 'QUERY_RANGE_OUTSIDE_DATA');
      else {
        assert.equal(r.status, 200);
        const a = r.body as Answer;
        assert.equal(a.version, after.version);
        assert.equal(a.pageviews, want.pageviews);
        assert.ok(withinHll(a.uniques, want.uniques));
      }
    }
    assert.ok(want.pageviews > 0);
  });
});
