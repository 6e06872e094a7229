/**
 * The DuckDB peer of the SuperWebAnalytics pipeline (bench/peers/index.ts), run as its own process
 * so its wall time and peak RSS are its own: `node dist/bench/peers/duckdb-pipeline.js DATA OUT THREADS`.
 * Reads the generated master Parquet under DATA (master/pageviews, master/equivs), writes every
 * step's result as Parquet under OUT (as dagctl materializes each dataset) and prints one JSON line
 * {steps: {normalize, dedupe, components, rollup} (ms), rounds, maxRssKb, cpuMs} on stdout.
 *
 * The SQL does what the operators do on the generated data (gen/urls.ts variants):
 *   normalize  URL: trim; scheme http/https, lower-cased; host lower-cased, `www.` folded, default
 *              port dropped; path %XX-decoded (gen/ only escapes unreserved characters), dot
 *              segments removed, trailing slash stripped (root kept); query params split, tracking
 *              params (utm_*, gclid, …) dropped, sorted; fragment dropped; anything else rejected.
 *              person: trimmed, lower-cased (cookie hex, user digits, email: the typed forms).
 *   dedupe     SELECT DISTINCT url, person, ts
 *   components over the normalized equiv edges: hooking + pointer jumping (DUCKDB_HOOK below)
 *              until no edge joins two trees; each id's root = the smallest identifier
 *   rollup     LEFT JOIN person-ids, GROUP BY url, granularity h/d/w/m, ts − ts % g with count(*)
 *              and approx_count_distinct(person) (DuckDB's HyperLogLog)
 * Contract: the outputs are OUT/{normalized,distinct,ids,view}.parquet; the view has the columns of
 * dagctl's pageviews-over-time (url, granularity, bucket, pageviews, uniques), without the sketch.
 */
import { mkdir } from 'node:fs/promises';

export const TRACKING = ['utm_%', 'gclid', 'gclsrc', 'dclid', 'fbclid', 'msclkid', 'mc_cid', 'mc_eid', '_ga', '_gl', 'igshid', 'yclid', 'twclid', 'ttclid', 'li_fat_id', 'wbraid', 'gbraid'];

/** The pipeline's statements, step by step (a step's last statement is the one that writes). */
export function duckdbPipelineSql(data: string, out: string): Record<string, string[]> {
  const pv = `read_parquet('${data}/master/pageviews/date=*/*.parquet')`;
  const eq = `read_parquet('${data}/master/equivs/date=*/*.parquet')`;
  const tracking = TRACKING.map((t) => `lower(split_part(x, '=', 1)) LIKE '${t}'`).join(' OR ');
  const re = `'^([A-Za-z]+)://([^/?#:]*)(:[0-9]*)?([^?#]*)(\\?[^#]*)?(#.*)?$'`;
  const normalize = `
    COPY (
      WITH p AS (
        SELECT lower(regexp_extract(u, ${re}, 1)) AS scheme, lower(regexp_extract(u, ${re}, 2)) AS host,
               regexp_extract(u, ${re}, 3) AS port, regexp_extract(u, ${re}, 4) AS path,
               regexp_extract(u, ${re}, 5) AS query, person, ts
        FROM (SELECT trim(url) AS u, lower(trim(person, ' \t')) AS person, ts FROM ${pv})
      ), c AS (
        SELECT scheme, regexp_replace(host, '^www\\.', '') AS host,
               CASE WHEN port IN (':', ':80', ':443') AND (port = ':' OR (scheme = 'http') = (port = ':80')) THEN '' ELSE port END AS port,
               regexp_replace(regexp_replace(url_decode(path), '/\\./', '/', 'g'), '/[^/]+/\\.\\./', '/', 'g') AS path,
               array_to_string(list_sort(list_filter(string_split(ltrim(query, '?'), '&'), x -> x <> '' AND NOT (${tracking}))), '&') AS query,
               person, ts
        FROM p WHERE scheme IN ('http', 'https') AND regexp_matches(host, '^[a-z0-9_~-]+(\\.[a-z0-9_~-]+)*$')
      )
      SELECT scheme || '://' || host || port || CASE WHEN path IN ('', '/') THEN '/' ELSE rtrim(path, '/') END
               || CASE WHEN query = '' THEN '' ELSE '?' || query END AS url, person, ts
      FROM c
    ) TO '${out}/normalized.parquet' (FORMAT parquet)`;
  const dedupe = `COPY (SELECT DISTINCT url, person, ts FROM read_parquet('${out}/normalized.parquet')) TO '${out}/distinct.parquet' (FORMAT parquet)`;
  const components = [
    `CREATE TABLE e AS SELECT DISTINCT lower(trim(id1, ' \t')) AS a, lower(trim(id2, ' \t')) AS b FROM ${eq}`,
    'CREATE TABLE p AS SELECT a AS id, a AS p FROM e UNION SELECT b, b FROM e',
    // the loop (runDuckdbPipeline) hooks and jumps until no edge joins two roots
    `COPY (SELECT id, p AS person FROM p) TO '${out}/ids.parquet' (FORMAT parquet)`,
  ];
  const rollup = `
    COPY (
      WITH j AS (
        SELECT d.url, coalesce(i.person, d.person) AS person, d.ts
        FROM read_parquet('${out}/distinct.parquet') d LEFT JOIN read_parquet('${out}/ids.parquet') i ON i.id = d.person
      )
      SELECT url, g AS granularity, ts - ts % s AS bucket, count(*) AS pageviews, approx_count_distinct(person) AS uniques
      FROM j CROSS JOIN (VALUES ('h', 3600), ('d', 86400), ('w', 604800), ('m', 2419200)) AS gs(g, s)
      GROUP BY ALL
    ) TO '${out}/view.parquet' (FORMAT parquet)`;
  return { normalize: [normalize], dedupe: [dedupe], components, rollup: [rollup] };
}

/**
 * Components by hooking and pointer jumping (Shiloach–Vishkin style, O(log n) rounds): every edge
 * whose ends have different roots hooks the larger root under the smallest root it meets; then
 * p := p(p) until nothing changes. Roots are always the smallest identifier of their tree.
 */
export const DUCKDB_HOOK = 'CREATE OR REPLACE TABLE h AS SELECT greatest(pa.p, pb.p) AS r, min(least(pa.p, pb.p)) AS p FROM e JOIN p pa ON pa.id = e.a JOIN p pb ON pb.id = e.b WHERE pa.p <> pb.p GROUP BY 1';
export const DUCKDB_APPLY_HOOK = 'CREATE OR REPLACE TABLE p AS SELECT p.id, coalesce(h.p, p.p) AS p FROM p LEFT JOIN h ON h.r = p.id';
export const DUCKDB_JUMP = 'CREATE OR REPLACE TABLE p2 AS SELECT a.id, b.p FROM p a JOIN p b ON b.id = a.p';

async function main(): Promise<void> {
  const [data, out, threadsArg] = process.argv.slice(2);
  if (data === undefined || out === undefined) throw new Error('usage: duckdb-pipeline.js DATA OUT THREADS');
  const threads = Number(threadsArg ?? 2);
  await mkdir(out, { recursive: true });
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  await con.run(`SET threads TO ${threads}`);
  await con.run('SET preserve_insertion_order = false');
  const sql = duckdbPipelineSql(data, out);
  const steps: Record<string, number> = {};
  let rounds = 0;
  for (const step of ['normalize', 'dedupe', 'components', 'rollup']) {
    const t0 = performance.now();
    const stmts = sql[step] ?? [];
    for (const [i, s] of stmts.entries()) {
      if (step === 'components' && i === stmts.length - 1) {
        const count = async (q: string): Promise<number> => Number((await con.runAndReadAll(q)).getRows()[0]?.[0] ?? 0);
        for (; rounds < 200; rounds++) {
          await con.run(DUCKDB_HOOK);
          if ((await count('SELECT count(*) FROM h')) === 0) break;
          await con.run(DUCKDB_APPLY_HOOK);
          for (let j = 0; j < 200; j++) {
            await con.run(DUCKDB_JUMP);
            const changed = await count('SELECT count(*) FROM p2 JOIN p USING (id) WHERE p2.p <> p.p');
            await con.run('CREATE OR REPLACE TABLE p AS SELECT * FROM p2');
            if (changed === 0) break;
          }
        }
      }
      await con.run(s);
    }
    steps[step] = performance.now() - t0;
  }
  const ru = process.resourceUsage();
  process.stdout.write(JSON.stringify({ steps, rounds, maxRssKb: ru.maxRSS, cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000 }) + '\n');
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();
