/**
 * dags/superwebanalytics.yaml end to end through the CLI, every published dataset checked against
 * DuckDB SQL over the same Parquet files (an independent engine as the oracle):
 *   - dedupe: the distinct rows equal SELECT DISTINCT over the normalized pageviews;
 *   - equiv-components: each id maps to the smallest id of its component (a recursive CTE);
 *   - rollup: every (url, granularity, bucket) row — pageviews exact, uniques by person (after
 *     the equiv mapping) within the HyperLogLog bound.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../../gen/generate.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { duckRows, sqlPath } from '../storage/helpers.js';
import { runCli, workspace } from './support.js';

const show = (row: Record<string, unknown>): string => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
const GRANULARITY_SECONDS: Record<string, number> = { h: 3600, d: 86_400, w: 604_800, m: 2_419_200 };

async function parquetList(dataUri: string, dataset: string): Promise<string> {
  const uri = `${dataUri}/${dataset}`;
  const cur = await readCurrent(await openObjectStore(uri));
  assert.ok(cur !== null, `${dataset} was not published`);
  const dir = fileURLToPath(uri);
  return `[${cur.manifest.files.map((f) => sqlPath(join(dir, f.path))).join(', ')}]`;
}

describe('superwebanalytics.yaml against DuckDB', function () {
  this.timeout(300_000);

  it('dedupe, components and the pageviews-over-time view equal DuckDB SQL on the same input', async () => {
    const ws = await workspace({ rows: 4000, days: 3, seed: 11 });
    // Enough equiv edges that components needs several propagation rounds (see the re-run below).
    const equivs = await openObjectStore(`${ws.dataUri}/master/equivs`);
    await generate('equivs', { store: equivs, rows: 6000, seed: 11, start: '2024-03-01', days: 3, persons: 2000 });
    const dag = resolve('dags/superwebanalytics.yaml');
    const r = await runCli(ws, ['run', dag, '--param', `data=${ws.dataUri}`, '--param', 'buckets=3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const first = JSON.parse(r.stdout) as { tasks: Array<{ name: string; state: string; instance: string; stage: string; inputRows?: number; metrics?: Record<string, number> }> };
    // Instances that read their inputs as raw files (dedupe's reduce over shuffle files, rollup's
    // map over source Parquet) count those rows as input too: the cost model fits P per input row.
    const sum = (task: string, stage: string, f: (t: (typeof first.tasks)[number]) => number): number =>
      first.tasks.filter((t) => t.name === task && t.stage === stage).reduce((s, t) => s + f(t), 0);
    const mapped = sum('dedupe-pageviews', 'map', (t) => t.metrics?.rowsIn ?? 0);
    assert.ok(mapped > 1000);
    assert.equal(sum('dedupe-pageviews', 'reduce', (t) => t.inputRows ?? 0), mapped);
    // rollup's aggregate reads packed blocks of pageviews and reports the pageviews (StageResult.inputRows).
    assert.equal(sum('rollup', 'aggregate', (t) => t.inputRows ?? 0), sum('rollup', 'map', (t) => t.metrics?.rowsIn ?? 0));
    // rollup's map also reads the broadcast table (a few rows of bytes from the index stage).
    for (const t of first.tasks.filter((x) => x.name === 'rollup' && x.stage === 'map')) {
      const rowsIn = t.metrics?.rowsIn ?? 0;
      assert.ok(rowsIn > 100 && (t.inputRows ?? 0) >= rowsIn && (t.inputRows ?? 0) <= rowsIn + 10, `${t.instance}: inputRows ${String(t.inputRows)} for ${rowsIn} pageviews`);
    }
    const rounds = first.tasks.filter((t) => t.stage === 'propagate' && t.state === 'succeeded' && t.instance.endsWith('.b000')).length;
    assert.ok(rounds >= 2, `components converged in ${rounds} round(s): too few to test memoized rounds`);

    const normalized = await parquetList(ws.dataUri, 'batch/pageviews-normalized');
    const distinct = await parquetList(ws.dataUri, 'batch/pageviews-distinct');
    const equivNorm = await parquetList(ws.dataUri, 'batch/equivs-normalized');
    const personIds = await parquetList(ws.dataUri, 'batch/person-ids');
    const view = await parquetList(ws.dataUri, 'views/pageviews-over-time');

    // dedupe: exactly the distinct (url, person, ts) of the normalized rows
    const [dd] = await duckRows(`
      WITH want AS (SELECT DISTINCT url, person, ts FROM read_parquet(${normalized})),
           got AS (SELECT url, person, ts FROM read_parquet(${distinct}))
      SELECT (SELECT count(*) FROM want) AS want, (SELECT count(*) FROM got) AS got,
             (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM got)) AS missing,
             (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM want)) AS extra`);
    assert.ok(Number(dd?.want) > 1000);
    assert.deepEqual([Number(dd?.missing), Number(dd?.extra), Number(dd?.got)], [0, 0, Number(dd?.want)]);

    // components: the smallest id reachable from each id, by a recursive CTE over both directions
    const [cc] = await duckRows(`
      WITH RECURSIVE e AS (
        SELECT id1 AS a, id2 AS b FROM read_parquet(${equivNorm}) UNION SELECT id2, id1 FROM read_parquet(${equivNorm})
        UNION SELECT id1, id1 FROM read_parquet(${equivNorm}) UNION SELECT id2, id2 FROM read_parquet(${equivNorm})),
      reach(id, r) AS (SELECT a, a FROM e UNION SELECT reach.id, e.b FROM reach JOIN e ON e.a = reach.r),
      want AS (SELECT id, min(r) AS person FROM reach GROUP BY id),
      got AS (SELECT id, person FROM read_parquet(${personIds}))
      SELECT (SELECT count(*) FROM want) AS want, (SELECT count(*) FROM got) AS got,
             (SELECT count(*) FROM want JOIN got USING (id) WHERE want.person <> got.person) AS wrong,
             (SELECT count(*) FROM want ANTI JOIN got USING (id)) AS missing`);
    assert.ok(Number(cc?.want) > 100);
    assert.deepEqual([Number(cc?.got), Number(cc?.wrong), Number(cc?.missing)], [Number(cc?.want), 0, 0]);

    // rollup: every view row against GROUP BY with exact counts and exact distinct persons
    const grans = Object.entries(GRANULARITY_SECONDS).map(([g, s]) => `SELECT '${g}' AS g, ${s}::BIGINT AS s`).join(' UNION ALL ');
    const rows = await duckRows(`
      WITH gran AS (${grans}),
           pv AS (SELECT d.url, d.ts, coalesce(p.person, d.person) AS who
                  FROM read_parquet(${distinct}) d LEFT JOIN read_parquet(${personIds}) p ON p.id = d.person),
           want AS (SELECT url, g AS granularity, ts - ts % s AS bucket, count(*) AS pageviews, count(DISTINCT who) AS uniques
                    FROM pv CROSS JOIN gran GROUP BY ALL),
           got AS (SELECT url, granularity, bucket, pageviews, uniques FROM read_parquet(${view}))
      SELECT coalesce(want.url, got.url) AS url, coalesce(want.granularity, got.granularity) AS granularity,
             want.pageviews AS want_pv, got.pageviews AS got_pv, want.uniques AS want_u, got.uniques AS got_u
      FROM want FULL OUTER JOIN got USING (url, granularity, bucket)`);
    assert.ok(rows.length > 500, `only ${rows.length} view rows`);
    let worst = 0;
    for (const row of rows) {
      assert.ok(row.want_pv !== null && row.got_pv !== null, `view row missing or extra: ${show(row)}`);
      assert.equal(Number(row.got_pv), Number(row.want_pv), `pageviews of ${show(row)}`);
      const exact = Number(row.want_u);
      const err = Math.abs(Number(row.got_u) - exact) / exact;
      worst = Math.max(worst, err);
      // HLL p=14: ~0.8% standard error; allow 2% and one unit for the smallest buckets
      assert.ok(Math.abs(Number(row.got_u) - exact) <= Math.max(1, 0.02 * exact), `uniques of ${show(row)}`);
    }
    assert.ok(worst < 0.02);

    // Re-running executes nothing and still succeeds: memoized rounds of the iterative components
    // stage must report their metrics again, or convergence would be decided too early.
    const again = await runCli(ws, ['run', dag, '--param', `data=${ws.dataUri}`, '--param', 'buckets=3', '--json']);
    assert.equal(again.code, 0, again.stdout.slice(-3000));
    const status = JSON.parse(again.stdout) as { tasks: Array<{ state: string; instance: string }> };
    assert.deepEqual(status.tasks.filter((t) => t.state === 'succeeded').map((t) => t.instance), []);
  });
});
