/**
 * `dagctl query` and serving/query.ts against DuckDB: a real `dagctl run` of the rollup (h/d/w/m)
 * over 60 generated days, then random ranges mixing every granularity (hour-aligned and not) for
 * popular and rare URLs — pageviews equal SQL over rollup's input rows exactly, uniques within the
 * HLL bound — through the CLI (the real binary, --json) and in-process (serve's JSON text is
 * JSON.stringify of the same answer); bad input is a coded
 * error with exit 2.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { openObjectStore } from '../../storage/open.js';
import { answer, answerJson, type QueryAnswer } from '../../serving/query.js';
import { BlockCache, currentVersion, extentOf, loadView, scanBucketExtent, type ViewSnapshot } from '../../serving/view.js';
import { duckRows } from '../storage/helpers.js';
import { runCli } from '../integration/support.js';
import { oracle, parquetList, pyReader, servingWorkspace, withinHll, type ServingWorkspace } from './support.js';

const H = 3600;
const iso = (s: number): string => new Date(s * 1000).toISOString();

describe('dagctl query against DuckDB', function () {
  this.timeout(300_000);
  let ws: ServingWorkspace;
  let distinct: string;
  let urls: string[];
  let snap: ViewSnapshot;
  let first: number, last: number;

  before(async () => {
    ws = await servingWorkspace({ rows: 30_000, days: 60, seed: 5 });
    distinct = await parquetList(ws.dataUri, 'batch/distinct');
    const top = await duckRows(`SELECT url, count(*) AS n FROM read_parquet(${distinct}) GROUP BY url ORDER BY n DESC, url`);
    urls = top.map((r) => String(r.url));
    assert.ok(urls.length > 20, `only ${urls.length} urls`);
    const [ext] = await duckRows(`SELECT min(ts) AS lo, max(ts) AS hi FROM read_parquet(${distinct})`);
    first = Number(ext?.lo) - (Number(ext?.lo) % H);
    last = Number(ext?.hi) - (Number(ext?.hi) % H) + H;
    // A small cache: most blocks are re-read from their row runs (the eviction path is exercised).
    snap = await loadView(await openObjectStore(ws.viewUri), { cache: new BlockCache(64 * 1024) });
  });

  it('random ranges mixing h/d/w/m: pageviews exact, uniques within the HLL bound', async () => {
    assert.deepEqual(snap.granularities, ['h', 'd', 'w', 'm']);
    assert.deepEqual(snap.extent, { from: first, to: last });
    const seen = new Set<string>();
    let worst = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 7 }).chain((k) => fc.integer({ min: 0, max: urls.length - 1 }).map((i) => (k < 4 ? urls[k]! : urls[i]!))),
        fc.integer({ min: first, max: last - 1 }),
        fc.integer({ min: 1, max: last - first }),
        fc.boolean(),
        async (url, a, len, aligned) => {
          let from = a, to = Math.min(last, a + len);
          if (aligned) {
            from -= from % H;
            to += (H - (to % H)) % H;
          }
          if (to <= from) return;
          const got = await answer(snap, { url }, from, to);
          for (const b of got.buckets) seen.add(b.granularity);
          const lo = Date.parse(got.from) / 1000, hi = Date.parse(got.to) / 1000;
          assert.equal(got.rounded, lo !== from || hi !== to);
          assert.ok(lo <= from && from - lo < H && hi >= to && hi - to < H, `rounding of [${from}, ${to}) to [${got.from}, ${got.to})`);
          const want = await oracle(distinct, url, lo, hi);
          assert.equal(got.pageviews, want.pageviews, `pageviews of ${url} over [${got.from}, ${got.to})`);
          assert.ok(withinHll(got.uniques!, want.uniques), `uniques of ${url} over [${got.from}, ${got.to}): ${got.uniques} vs ${want.uniques}`);
          if (want.uniques > 0) worst = Math.max(worst, Math.abs(got.uniques! - want.uniques) / want.uniques);
          assert.equal(got.pageviews, got.buckets.reduce((n, b) => n + b.pageviews, 0));
          // What `dagctl serve` sends: JSON.stringify of the same answer, and its UTF-8 length.
          const text = await answerJson(snap, { url }, from, to);
          assert.equal(text.json, JSON.stringify(got));
          assert.equal(text.bytes, Buffer.byteLength(text.json));
        },
      ),
      { numRuns: 150 },
    );
    assert.deepEqual([...seen].sort(), ['d', 'h', 'm', 'w'], 'the ranges must exercise every granularity');
    assert.ok(worst < 0.02);
  });

  it('the CLI prints the same answer as JSON; rounding is reported', async () => {
    const url = urls[0]!;
    // Around the first whole 28-day m bucket of the data, ends not on hours.
    const M = 28 * 86_400, mStart = Math.ceil(first / M) * M;
    assert.ok(mStart - 3 * 86_400 >= first && mStart + M + 2 * 86_400 <= last, 'the data must hold a whole m bucket with days around it');
    const from = mStart - 2 * 86_400 - 3 * H + 1234, to = mStart + M + 86_400 + 5 * H + 5;
    const r = await runCli(ws, ['query', ws.viewUri, '--where', `url=${url}`, '--from', iso(from), '--to', iso(to), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as QueryAnswer;
    assert.equal(got.rounded, true);
    assert.deepEqual([got.from, got.to], [iso(from - (from % H)).replace('.000Z', 'Z'), iso(to - (to % H) + H).replace('.000Z', 'Z')]);
    const want = await oracle(distinct, url, from - (from % H), to - (to % H) + H);
    assert.equal(got.pageviews, want.pageviews);
    assert.ok(withinHll(got.uniques!, want.uniques));
    assert.ok(got.buckets.some((b) => b.granularity === 'm') && got.buckets.some((b) => b.granularity === 'h'));
    assert.deepEqual(got, await answer(snap, { url }, from, to));
    // The text form says it rounded.
    const t = await runCli(ws, ['query', ws.viewUri, '--where', `url=${url}`, '--from', iso(from), '--to', iso(to)]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /rounded/);
    // Another tool merges the buckets' sketches (docs/hll_reader.py) into the same uniques.
    const sk = await runCli(ws, ['query', ws.viewUri, '--where', `url=${url}`, '--from', iso(from), '--to', iso(to), '--json', '--sketches']);
    assert.equal(sk.code, 0, sk.stderr);
    const withSketches = JSON.parse(sk.stdout) as QueryAnswer;
    assert.ok(withSketches.buckets.filter((b) => b.sketch !== undefined).length > 3);
    const py = pyReader(['-'], sk.stdout);
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.out!.count, got.uniques);
  });

  it('the publication records the data extent; a version without it (an older dagctl) is scanned to the same answer', async () => {
    const store = await openObjectStore(ws.viewUri);
    const v = await currentVersion(store);
    assert.ok(v?.bucketExtent !== undefined, 'the rollup view publication records its extent');
    assert.deepEqual(v.bucketExtent, await scanBucketExtent(store, v.files));
    assert.deepEqual(extentOf(v.bucketExtent).extent, { from: first, to: last });
    const { bucketExtent, ...older } = v;
    void bucketExtent;
    const url = urls[1]!;
    for (const version of [v, older]) {
      for (const extentOnly of [false, true]) {
        const one = await loadView(store, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), version, ...(extentOnly ? { extentOnly } : { only: { url } }) });
        assert.deepEqual([one.extent, one.granularities, one.keyColumns, one.hasHll, one.rows], [snap.extent, snap.granularities, snap.keyColumns, snap.hasHll, snap.rows]);
        if (!extentOnly) assert.deepEqual(await answer(one, { url }, first, last), await answer(snap, { url }, first, last));
      }
    }
  });

  it('a URL the view does not have had no pageviews in the range', async () => {
    const got = await answer(snap, { url: 'http://nowhere.example/never' }, first, first + 86_400);
    assert.deepEqual([got.pageviews, got.uniques], [0, 0]);
  });

  it('bad input: coded errors, exit 2', async () => {
    const url = urls[0]!;
    const cases: Array<[string[], string]> = [
      [[join(ws.dir, 'data/views/none'), '--where', `url=${url}`, '--from', iso(first), '--to', iso(last)], 'QUERY_VIEW_UNKNOWN'],
      [[ws.viewUri, '--where', `page=${url}`, '--from', iso(first), '--to', iso(last)], 'QUERY_KEY_UNKNOWN'],
      [[ws.viewUri, '--from', iso(first), '--to', iso(last)], 'QUERY_KEY_UNKNOWN'],
      [[ws.viewUri, '--where', `url=${url}`, '--from', iso(first + H), '--to', iso(first + H)], 'QUERY_RANGE_INVALID'],
      [[ws.viewUri, '--where', `url=${url}`, '--from', iso(first + 2 * H), '--to', iso(first + H)], 'QUERY_RANGE_INVALID'],
      [[ws.viewUri, '--where', `url=${url}`, '--from', 'yesterday', '--to', iso(first + H)], 'QUERY_RANGE_INVALID'],
      [[ws.viewUri, '--where', `url=${url}`, '--from', iso(first - H), '--to', iso(first + H)], 'QUERY_RANGE_OUTSIDE_DATA'],
      [[ws.viewUri, '--where', `url=${url}`, '--from', iso(last - H), '--to', iso(last + 1)], 'QUERY_RANGE_OUTSIDE_DATA'],
      [[ws.viewUri, '--where', 'url', '--from', iso(first), '--to', iso(last)], 'QUERY_INVALID'],
    ];
    for (const [args, code] of cases) {
      const r = await runCli(ws, ['query', ...args, '--json']);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${String(r.code)} ${r.stdout} ${r.stderr}`);
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, code, args.join(' '));
    }
  });
});
