/**
 * `dagctl serve` (the real binary, a child process on loopback) when a block read finds the served
 * version's key index wrong: at a point the test chooses (no request in flight), every file of the
 * served version is rewritten in place with the same rows in another order, so the index the
 * server loaded points every key at other keys' rows. Concurrent queries racing the reload must
 * each get HTTP 200 with an answer from one version equal to DuckDB over rollup's input (pageviews
 * exact, uniques within the HLL bound) and byte-identical to the answer before; the server scans
 * the version once (single-flight, /metrics), and no query fails with KEY_INDEX_INVALID.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObjectStore } from '../../storage/open.js';
import { currentVersion } from '../../serving/view.js';
import { duckRows, sqlPath } from '../storage/helpers.js';
import { startRun } from '../integration/support.js';
import { oracle, parquetList, servingWorkspace, withinHll, type ServingWorkspace } from './support.js';

const H = 3600;
const iso = (s: number): string => new Date(s * 1000).toISOString();
interface Answer { pageviews: number; uniques: number; version: string }

describe('dagctl serve: the key index found wrong by a block read', function () {
  this.timeout(300_000);
  let ws: ServingWorkspace;
  let child: ChildProcess;
  let base: string;
  let stderr = '';

  before(async () => {
    ws = await servingWorkspace({ rows: 12_000, days: 30, seed: 31 });
    // A cache too small to keep any block: every query reads its key's rows through the index.
    const run = startRun(ws, ['serve', '--port', '0', '--poll', '3600s', '--cache-mb', '0.000001', ws.viewUri]);
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
  const metric = async (name: string): Promise<number> => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec((await get('/metrics')).text)?.[1] ?? 0);

  it('rescans the version once and answers every racing query right, from one version', async () => {
    const distinct = await parquetList(ws.dataUri, 'batch/distinct');
    const urls = (await duckRows(`SELECT url FROM read_parquet(${distinct}) GROUP BY url ORDER BY count(*) DESC, url LIMIT 24`)).map((r) => String(r.url));
    const [ext] = await duckRows(`SELECT min(ts) AS lo, max(ts) AS hi FROM read_parquet(${distinct})`);
    const first = Number(ext?.lo) - (Number(ext?.lo) % H), last = Number(ext?.hi) - (Number(ext?.hi) % H) + H;
    // Ranges mixing granularities (hour edges, days, weeks), several per URL.
    const cases: Array<[string, number, number]> = [];
    for (let i = 0; i < 72; i++) {
      const a = first + ((i * 7919 * H) % (last - first - H)), len = H * (1 + ((i * 104_729) % Math.floor((last - a) / H)));
      cases.push([urls[i % urls.length]!, a - (a % H), Math.min(last, a - (a % H) + len)]);
    }
    const path = ([u, f, t]: [string, number, number]): string => `/query?view=pageviews-over-time&url=${encodeURIComponent(u)}&from=${iso(f)}&to=${iso(t)}`;
    const want = await Promise.all(cases.map(([u, f, t]) => oracle(distinct, u, f, t)));
    const check = (r: { status: number; body: unknown; text: string }, i: number, version: string): Answer => {
      assert.equal(r.status, 200, r.text);
      const a = r.body as Answer;
      const [u, f, t] = cases[i]!;
      assert.equal(a.version, version, `one version: ${r.text}`);
      assert.equal(a.pageviews, want[i]!.pageviews, `${u} [${iso(f)}, ${iso(t)})`);
      assert.ok(withinHll(a.uniques, want[i]!.uniques), `${u}: ${a.uniques} vs ${want[i]!.uniques}`);
      return a;
    };

    const store = await openObjectStore(ws.viewUri);
    const v = await currentVersion(store);
    assert.ok(v !== null && v.keyIndex !== undefined, 'the view must be published with a key index');
    const beforeRes = await Promise.all(cases.map((c) => get(path(c))));
    const before = beforeRes.map((r, i) => check(r, i, v.version));
    assert.equal(await metric('dagctl_serve_view_rescans_total'), 0);

    // The barrier: nothing in flight. Every file of the served version is rewritten in place, its
    // rows in reverse key order: same path, same rows, so the loaded index now points each key at
    // other keys' rows.
    const dir = fileURLToPath(ws.viewUri);
    for (const f of v.files) {
      const p = join(dir, f.path), tmp = `${p}.rewrite.parquet`;
      await duckRows(`COPY (SELECT * FROM read_parquet(${sqlPath(p)}) ORDER BY url DESC, granularity DESC, bucket DESC) TO ${sqlPath(tmp)} (FORMAT parquet)`);
      await rename(tmp, p);
    }
    const moved = (await duckRows(`SELECT count(*) AS n FROM read_parquet(${sqlPath(join(dir, v.files[0]!.path))})`))[0];
    assert.equal(Number(moved?.n), v.files[0]!.rows);

    // Concurrent queries race the reload: each one right, from one version, none failing.
    const afterRes = await Promise.all(cases.map((c) => get(path(c))));
    const after = afterRes.map((r, i) => check(r, i, v.version));
    assert.deepEqual(after, before, 'the same answers, byte for byte, as before the rewrite');
    assert.equal(await metric('dagctl_serve_view_rescans_total'), 1, `one scan for all racing queries: ${stderr}`);
    assert.doesNotMatch((await get('/metrics')).text, /code="KEY_INDEX_INVALID"/);
    assert.match(stderr, /view-rescanned/);
    // The rescanned snapshot keeps answering right.
    check(await get(path(cases[5]!)), 5, v.version);
  });
});
