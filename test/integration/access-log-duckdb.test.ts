/**
 * dags/access-log.yaml end to end through the CLI, its view checked against an independent SQL
 * computation in DuckDB over the raw log the test writes: the log has exact duplicate lines, lines
 * repeating a pageview (same client, target and second) with other fields changed, truncated lines,
 * non-GET methods and 4xx/5xx statuses. The oracle parses the combined format with a regex, keeps
 * GET with status 2xx/3xx (the DAG's filter), takes DISTINCT (url, client, ts) and counts pageviews
 * and unique clients per (url, granularity, bucket). The fixture's targets are already in normal
 * form (lowercase host, no tracking params), so the oracle needs no URL normalization.
 * Also: the view lives under access-log/views/, not superwebanalytics' views/pageviews-over-time.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCurrent } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { duckRows, sqlPath } from '../storage/helpers.js';
import { runCli, type Workspace } from './support.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A deterministic combined-format log: `lines` entries plus duplicates and truncated lines. */
function logFixture(lines: number): { text: string; duplicates: number; truncated: number } {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const targets = ['/', '/a', '/b/c', '/p?id=3', '/img/x.png', '/docs/intro.html'];
  const methods = ['GET', 'GET', 'GET', 'GET', 'POST', 'HEAD'];
  const statuses = [200, 200, 200, 304, 301, 404, 500];
  const offsets = [['+0000', 0], ['-0500', -5 * 3600], ['+0130', 90 * 60]] as const;
  const out: string[] = [];
  let duplicates = 0;
  let truncated = 0;
  const base = Date.UTC(2024, 2, 1) / 1000;
  for (let i = 0; i < lines; i++) {
    const ip = `10.0.${rnd(2)}.${1 + rnd(12)}`;
    const utc = base + rnd(3 * 86_400);
    const [off, offSec] = offsets[rnd(offsets.length)]!;
    const local = new Date((utc + offSec) * 1000);
    const time = `${String(local.getUTCDate()).padStart(2, '0')}/${MONTHS[local.getUTCMonth()]}/${local.getUTCFullYear()}:${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}:${String(local.getUTCSeconds()).padStart(2, '0')} ${off}`;
    const target = targets[rnd(targets.length)]!;
    const line = (bytes: number, ua: string): string =>
      `${ip} - - [${time}] "${methods[rnd(methods.length)]!} ${target} HTTP/1.1" ${statuses[rnd(statuses.length)]!} ${bytes} "http://example.com/" "${ua}"`;
    const l = line(100 + rnd(5000), `Mozilla/5.0 (X11; Linux) Agent/${rnd(9)}`);
    out.push(l);
    if (rnd(8) === 0) {
      out.push(l); // an exact duplicate line (a log shipped twice)
      duplicates++;
    }
    if (rnd(10) === 0) {
      // The same pageview again (client, target, second), logged with other bytes and agent.
      out.push(l.replace(/ (\d+) "http/, ' 777 "http').replace(/Agent\/\d"$/, 'Other/1"'));
      duplicates++;
    }
    if (rnd(25) === 0) {
      out.push(l.slice(0, l.lastIndexOf('"Mozilla') + 12)); // cut inside the user agent
      truncated++;
    }
  }
  return { text: out.join('\n') + '\n', duplicates, truncated };
}

interface ViewRow { url: string; granularity: string; bucket: number; pageviews: number; uniques: number }

describe('access-log.yaml against DuckDB SQL over the raw log', function () {
  this.timeout(300_000);
  let ws: Workspace;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-alog-'));
    ws = { dir, dag: join(dir, 'access-log.yaml'), dataUri: pathToFileURL(join(dir, 'data')).href, home: join(dir, '.dagctl') };
    await copyFile(resolve('dags/access-log.yaml'), ws.dag);
  });
  after(async () => { if (ws !== undefined) await rm(ws.dir, { recursive: true, force: true }); });

  it('the view equals distinct GET 2xx/3xx pageviews per url and bucket, duplicates and truncated lines present', async () => {
    const fx = logFixture(1500);
    assert.ok(fx.duplicates > 100 && fx.truncated > 20, `fixture: ${fx.duplicates} duplicates, ${fx.truncated} truncated`);
    const log = join(ws.dir, 'access.log');
    await writeFile(log, fx.text);
    const r = await runCli(ws, ['run', ws.dag, '--param', `input=${log}`, '--param', `data=${ws.dataUri}`, '--param', 'buckets=3', '--concurrency', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const tasks = (JSON.parse(r.stdout) as { tasks: { name: string; metrics?: Record<string, number> }[] }).tasks;
    assert.ok(tasks.filter((t) => t.name === 'parse').reduce((n, t) => n + (t.metrics?.['rejected.malformed'] ?? 0), 0) >= fx.truncated);

    const viewUri = `${ws.dataUri}/access-log/views/pageviews-over-time`;
    const store = await openObjectStore(viewUri);
    const cur = await readCurrent(store);
    assert.ok(cur !== null, 'the view is published under access-log/views/');
    assert.equal(await readCurrent(await openObjectStore(`${ws.dataUri}/views/pageviews-over-time`)), null, 'superwebanalytics\' view path is untouched');
    const got: ViewRow[] = [];
    for await (const b of readRows(store, cur.manifest.files, defaultCodec())) {
      for (const row of b) got.push({ url: String(row.url), granularity: String(row.granularity), bucket: Number(row.bucket), pageviews: Number(row.pageviews), uniques: Number(row.uniques) });
    }
    const key = (v: ViewRow): string => `${v.url}|${v.granularity}|${v.bucket}`;
    got.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

    const want = (await duckRows(`
      WITH lines AS (SELECT unnest(string_split(content, chr(10))) AS line FROM read_text(${sqlPath(log)})),
      m AS (SELECT regexp_extract(line, '^(\\S+) \\S+ \\S+ \\[([^\\]]+)\\] "(\\S+) (\\S+) [^"]*" (\\d{3}) (\\S+) "[^"]*" "[^"]*"$',
                                  ['ip', 't', 'method', 'target', 'status', 'bytes']) AS g FROM lines),
      pv AS (SELECT DISTINCT 'http://example.com' || g.target AS url, 'ip:' || g.ip AS person,
                    CAST(epoch(strptime(g.t, '%d/%b/%Y:%H:%M:%S %z')) AS BIGINT) AS ts
             FROM m WHERE g.ip <> '' AND g.method = 'GET' AND CAST(g.status AS INTEGER) BETWEEN 200 AND 399),
      gr AS (SELECT * FROM (VALUES ('h', 3600), ('d', 86400), ('w', 604800), ('m', 2419200)) t(granularity, secs))
      SELECT url, granularity, ts - ts % secs AS bucket, count(*) AS pageviews, count(DISTINCT person) AS uniques
      FROM pv, gr GROUP BY ALL`)).map((w) => ({ url: String(w.url), granularity: String(w.granularity), bucket: Number(w.bucket), pageviews: Number(w.pageviews), uniques: Number(w.uniques) }));
    want.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    assert.ok(want.length > 200, `oracle rows: ${want.length}`);
    // Pageviews exact; uniques from HyperLogLog (p=14) are exact at these small counts.
    assert.deepEqual(got, want);

    // The first case: a misspelled input is INPUT_EMPTY (exit 2), the view stays as it was.
    const typo = await runCli(ws, ['run', ws.dag, '--param', `input=${join(ws.dir, 'acess.log')}`, '--param', `data=${ws.dataUri}`, '--json']);
    assert.equal(typo.code, 2, typo.stderr);
    assert.equal((JSON.parse(typo.stdout) as { error?: { code: string; details: { params: Record<string, string> } } }).error?.details.params.input, join(ws.dir, 'acess.log'));
    assert.equal((await readCurrent(store))?.pointer.version, cur.pointer.version);
  });
});
