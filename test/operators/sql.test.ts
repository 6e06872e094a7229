/**
 * sql: the query's result over the inputs (tables named after their datasets, dashes also as
 * underscores) equals DuckDB's on the same rows loaded another way (a VALUES table, no Parquet),
 * and a plain reference; per-partition instances; a DuckDB error is OPERATOR_FAILED with the query.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { sql } from '../../operators/sql.js';
import type { Row, Schema } from '../../storage/types.js';
import { duckRows } from '../storage/helpers.js';
import { runOperator, sortRows } from './harness.js';

const SCHEMA: Schema = [{ name: 'url', type: 'string' }, { name: 'person', type: 'string' }, { name: 'ts', type: 'int64' }];
function pageviews(n: number, seed: number): Row[] {
  let s = seed;
  const r = (k: number): number => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % k;
  return Array.from({ length: n }, () => ({ url: `/p/${r(13)}`, person: `u${r(40)}`, ts: 1_700_000_000 + r(86_400 * 3) }));
}
const CATS: Row[] = Array.from({ length: 10 }, (_, i) => ({ url: `/p/${i}`, category: i % 3 === 0 ? 'news' : 'shop' }));
const values = (rows: Row[], cols: string[]): string => rows.map((x) => `(${cols.map((c) => (typeof x[c] === 'string' ? `'${x[c]}'` : String(x[c]))).join(', ')})`).join(', ');

const QUERY = `SELECT c.category, count(*) AS views, count(DISTINCT p.person) AS persons, avg(p.ts) AS mean_ts
  FROM "page-views" p JOIN url_categories c USING (url) GROUP BY c.category`;

describe('operators/sql', function () {
  this.timeout(60_000);
  const rows = pageviews(500, 3);

  it('equals DuckDB on the same rows, and a plain reference', async () => {
    const r = await runOperator(sql, { query: QUERY }, { inputs: [{ name: 'page-views', rows, schema: SCHEMA }, { name: 'url-categories', rows: CATS }] });
    assert.deepEqual(r.outputs[0]!.schema!.map((f) => [f.name, f.type]), [['category', 'string'], ['views', 'int64'], ['persons', 'int64'], ['mean_ts', 'double']]);
    const oracle = await duckRows(`WITH p(url, person, ts) AS (VALUES ${values(rows, ['url', 'person', 'ts'])}), c(url, category) AS (VALUES ${values(CATS, ['url', 'category'])})
      SELECT c.category, count(*)::BIGINT AS views, count(DISTINCT p.person)::BIGINT AS persons, avg(p.ts)::DOUBLE AS mean_ts FROM p JOIN c USING (url) GROUP BY c.category`);
    const norm = (xs: Array<Record<string, unknown>>): Row[] => sortRows(xs.map((x) => ({ category: String(x.category), views: Number(x.views), persons: Number(x.persons), mean_ts: Number(x.mean_ts) })));
    assert.deepEqual(norm(r.outputs[0]!.rows), norm(oracle));
    const cat = new Map(CATS.map((c) => [c.url, c.category]));
    const joined = rows.filter((x) => cat.has(x.url as string));
    for (const g of ['news', 'shop']) {
      const mine = joined.filter((x) => cat.get(x.url as string) === g);
      const got = r.outputs[0]!.rows.find((x) => x.category === g)!;
      assert.equal(got.views, mine.length);
      assert.equal(got.persons, new Set(mine.map((x) => x.person)).size);
    }
  });

  it('runs one instance per partition with perPartition', async () => {
    const byDay: Record<string, Row[]> = { '2024-01-01': rows.slice(0, 200), '2024-01-02': rows.slice(200) };
    const r = await runOperator(sql, { query: 'SELECT count(*) AS n, min(ts) AS first FROM "page-views"', perPartition: true }, { inputs: [{ name: 'page-views', partitions: byDay, schema: SCHEMA }] });
    assert.equal(r.instances.length, 2);
    assert.deepEqual(r.outputs[0]!.rows.map((x) => x.n).sort(), [200, 300]);
  });

  it('keeps native result types, casts the others, and refuses an integer it cannot store exactly', async () => {
    const one = [{ url: '/p/1', person: 'u1', ts: 5 }];
    const native = await runOperator(sql, { query: `SELECT 7::INTEGER AS i, 2::UTINYINT AS u, ts, 1.25::FLOAT AS f, true AS b, url, 'ab'::BLOB AS raw FROM "page-views"` }, { inputs: [{ name: 'page-views', rows: one, schema: SCHEMA }] });
    assert.deepEqual(native.outputs[0]!.schema!.map((f) => f.type), ['int64', 'int64', 'int64', 'double', 'boolean', 'string', 'bytes']);
    assert.deepEqual({ ...native.outputs[0]!.rows[0]!, raw: [...(native.outputs[0]!.rows[0]!.raw as Uint8Array)] }, { i: 7, u: 2, ts: 5, f: 1.25, b: true, url: '/p/1', raw: [97, 98] });
    const cast = await runOperator(sql, { query: `SELECT 1.5::DECIMAL(4,2) AS d, DATE '2024-01-02' AS day, [1, 2] AS xs, NULL::INTEGER AS n FROM "page-views"` }, { inputs: [{ name: 'page-views', rows: one, schema: SCHEMA }] });
    assert.deepEqual(cast.outputs[0]!.schema!.map((f) => f.type), ['double', 'string', 'string', 'int64']);
    assert.deepEqual(cast.outputs[0]!.rows, [{ d: 1.5, day: '2024-01-02', xs: '[1, 2]', n: null }]);
    await assert.rejects(runOperator(sql, { query: 'SELECT 9007199254740993::BIGINT AS big FROM "page-views"' }, { inputs: [{ name: 'page-views', rows: one, schema: SCHEMA }] }), (e) => isDagctlError(e, 'OPERATOR_FAILED') && e.message.includes('big'));
  });

  it('a DuckDB error fails with OPERATOR_FAILED naming the query', async () => {
    await assert.rejects(runOperator(sql, { query: 'SELECT nope FROM "page-views"' }, { inputs: [{ name: 'page-views', rows, schema: SCHEMA }] }), (e) => isDagctlError(e, 'OPERATOR_FAILED') && e.message.includes('SELECT nope'));
  });
});
