/**
 * Whole-pipeline benchmark through the real engine: generated pageviews + equivs written as Parquet
 * into a temp dir, dags/superwebanalytics.yaml run by the `dagctl` CLI as a child process with
 * `--concurrency 1` (one worker thread: every instance's time is one core's time), and DuckDB
 * (`SET threads=1`) doing the same work on the same Parquet files in the same run, each query
 * writing its result to Parquet as the operators do:
 *   normalize  ≈ SQL string functions (trim/lower/regexp) over url and person → Parquet
 *   dedupe     = SELECT DISTINCT url, person, ts over dagctl's normalized output
 *   rollup     = join person-ids, then GROUP BY url, granularity, bucket with count(*) and
 *                approx_count_distinct(person), for h/d/w/m
 *   components = hash-to-min label propagation in SQL, iterated until no label changes
 * rows/s per core = the task's input rows / Σ its instances' durations (from `--json` status).
 * N = DAGCTL_BENCH_ROWS (default 1,000,000; 10,000,000 for the full run); buckets =
 * DAGCTL_BENCH_BUCKETS (default 8). Exports the data preparation and the CLI run so bench/memory.ts
 * measures the same pipeline.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../gen/generate.js';
import { openObjectStore } from '../storage/open.js';
import type { BenchResult } from './types.js';
import { dagctlCommand, type DagctlCommand } from './lib/dagctl-command.js';

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

export interface PipelineData {
  dir: string;
  data: string;
  rows: number;
  equivRows: number;
}

/** Generates N pageviews over 8 days (persons N/10) and 2 equiv edges per person, as Parquet. */
export async function preparePipelineData(rows: number): Promise<PipelineData> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-pipeline-'));
  const data = join(dir, 'data');
  const persons = Math.max(1000, Math.floor(rows / 10));
  const equivRows = persons * 2;
  const seed = 11;
  await generate('pageviews', { store: await openObjectStore(pathToFileURL(`${data}/master/pageviews`).href), rows, seed, start: '2024-03-01', days: 8, persons });
  await generate('equivs', { store: await openObjectStore(pathToFileURL(`${data}/master/equivs`).href), rows: equivRows, seed, start: '2024-03-01', days: 8, persons });
  return { dir, data, rows, equivRows };
}

interface InstanceView { name: string; stage: string; durationMs: number | null; metrics?: Record<string, number> }
export interface CliRun { wallMs: number; peakRssKb: number; cpuMs: number; code: number | null; tasks: InstanceView[]; stderr: string; via: DagctlCommand['via'] }

/** Reads VmHWM (peak RSS, kB) of a live process; 0 when it is gone. */
function vmHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/**
 * Runs dags/superwebanalytics.yaml with the CLI of build `dist` (default dist/) on `pd` (`concurrency` worker
 * threads, default 1; --json), as users run it: through bin/dagctl when that launcher runs this
 * build, else node with the launcher's settings, or plain node for a package without one
 * (bench/lib/dagctl-command.ts; `via` says which). Peak RSS: the
 * child reports process.resourceUsage().maxRSS at exit (bench/memory.ts, loaded with --import and
 * DAGCTL_RSS_PROBE=1), cross-checked by polling
 * /proc/<pid>/status VmHWM every 100 ms.
 */
export async function runPipelineCli(pd: PipelineData, buckets: number, extraArgs: string[] = [], concurrency = 1, dist = 'dist'): Promise<CliRun> {
  const dag = resolve('dags/superwebanalytics.yaml');
  const cli = ['run', dag, '--param', `data=${pd.data}`, '--param', `buckets=${buckets}`, '--concurrency', String(concurrency), '--json', ...extraArgs];
  const c = dagctlCommand(dist, cli, [`--import=${pathToFileURL(resolve(dist, 'bench/memory.js')).href}`]);
  const t0 = performance.now();
  const child = spawn(c.cmd, c.args, { cwd: pd.dir, env: { ...process.env, ...c.env, DAGCTL_HOME: join(pd.dir, '.dagctl'), CI: '1', DAGCTL_RSS_PROBE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let polled = 0;
  const timer = setInterval(() => { if (child.pid !== undefined) polled = Math.max(polled, vmHwm(child.pid)); }, 100);
  timer.unref();
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  clearInterval(timer);
  const wallMs = performance.now() - t0;
  const probe = /DAGCTL_MAXRSS_KB=(\d+)/.exec(stderr);
  const peakRssKb = Math.max(polled, probe === null ? 0 : Number(probe[1]));
  let tasks: InstanceView[] = [];
  try {
    tasks = (JSON.parse(stdout) as { tasks: InstanceView[] }).tasks;
  } catch {
    /* reported through code/stderr */
  }
  const cpu = /DAGCTL_CPU_MS=(\d+)/.exec(stderr);
  return { wallMs, peakRssKb, cpuMs: cpu === null ? NaN : Number(cpu[1]), code, tasks, stderr, via: c.via };
}

/** Σ duration and Σ metric over a task's instances (optionally one stage). */
function taskSum(tasks: InstanceView[], name: string, metric: string, stage?: string): { ms: number; rows: number } {
  let ms = 0, rows = 0;
  for (const t of tasks) {
    if (t.name !== name) continue;
    ms += t.durationMs ?? 0;
    if (stage === undefined || t.stage === stage) rows += t.metrics?.[metric] ?? 0;
  }
  return { ms, rows };
}

interface Duck { run(sql: string): Promise<void>; one(sql: string): Promise<number> }

async function openDuck(): Promise<Duck> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  await con.run('SET threads TO 1');
  await con.run('SET preserve_insertion_order = false');
  return {
    async run(sql) { await con.run(sql); },
    async one(sql) { const r = (await con.runAndReadAll(sql)).getRows(); return Number(r[0]?.[0] ?? 0); },
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** DuckDB's share of the work, on dagctl's own inputs/outputs; returns ms per step. */
async function duckPipeline(duck: Duck, pd: PipelineData, out: string): Promise<Record<string, number>> {
  const pv = `read_parquet('${pd.data}/master/pageviews/date=*/*.parquet')`;
  const eq = `read_parquet('${pd.data}/master/equivs/date=*/*.parquet')`;
  const norm = `read_parquet('${pd.data}/batch/pageviews-normalized/date=*/*.parquet')`;
  const distinct = `read_parquet('${pd.data}/batch/pageviews-distinct/part-*.parquet')`;
  const ids = `read_parquet('${pd.data}/batch/person-ids/part-*.parquet')`;
  const ms: Record<string, number> = {};
  // normalize: lower-case scheme/host, drop fragment and tracking params, strip trailing slash and
  // www., typed ids trimmed and lower-cased — string functions of the same order of work.
  const url = `regexp_replace(regexp_replace(regexp_replace(lower(trim(url)), '#.*$', ''), '([?&])(utm_[a-z]+|gclid|fbclid)=[^&]*', '\\1', 'g'), '^(https?://)www\\.', '\\1')`;
  ms.normalize = await timed(() => duck.run(`COPY (SELECT rtrim(${url}, '/') AS url, lower(trim(person)) AS person, ts FROM ${pv}) TO '${out}/norm.parquet' (FORMAT parquet)`));
  ms.dedupe = await timed(() => duck.run(`COPY (SELECT DISTINCT url, person, ts FROM ${norm}) TO '${out}/distinct.parquet' (FORMAT parquet)`));
  const gs = [3600, 86400, 604800, 2419200];
  ms.rollup = await timed(() => duck.run(`COPY (
      WITH j AS (SELECT d.url, coalesce(i.person, d.person) AS person, d.ts FROM ${distinct} d LEFT JOIN ${ids} i ON i.id = d.person)
      SELECT url, g, b, count(*) AS pageviews, approx_count_distinct(person) AS uniques FROM (
        ${gs.map((s) => `SELECT url, ${s} AS g, ts - ts % ${s} AS b, person FROM j`).join(' UNION ALL ')}
      ) GROUP BY ALL) TO '${out}/rollup.parquet' (FORMAT parquet)`));
  // components: hash-to-min label propagation over the (normalized) equiv edges until fixpoint.
  ms.components = await timed(async () => {
    await duck.run(`CREATE OR REPLACE TABLE e AS SELECT lower(trim(id1)) AS a, lower(trim(id2)) AS b FROM ${eq} UNION SELECT lower(trim(id2)), lower(trim(id1)) FROM ${eq}`);
    await duck.run('CREATE OR REPLACE TABLE lab AS SELECT a AS id, min(least(a, b)) AS l FROM e GROUP BY a');
    for (let i = 0; i < 200; i++) {
      await duck.run('CREATE OR REPLACE TABLE nxt AS SELECT e.a AS id, least(min(lb.l), any_value(la.l)) AS l FROM e JOIN lab lb ON lb.id = e.b JOIN lab la ON la.id = e.a GROUP BY e.a');
      const changed = await duck.one('SELECT count(*) FROM nxt JOIN lab USING (id) WHERE nxt.l <> lab.l');
      await duck.run('CREATE OR REPLACE TABLE lab AS SELECT * FROM nxt');
      if (changed === 0) break;
    }
    await duck.run(`COPY lab TO '${out}/ids.parquet' (FORMAT parquet)`);
  });
  return ms;
}

export async function benchPipeline(): Promise<BenchResult> {
  const N = Number(process.env.DAGCTL_BENCH_ROWS ?? 1_000_000);
  const B = Number(process.env.DAGCTL_BENCH_BUCKETS ?? 8);
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const g0 = performance.now();
  const pd = await preparePipelineData(N);
  lines.push(`pipeline: dags/superwebanalytics.yaml, ${fmt(N)} pageviews + ${fmt(pd.equivRows)} equivs over 8 days, buckets ${B}, --concurrency 1 (generated in ${((performance.now() - g0) / 1000).toFixed(1)} s)`);
  try {
    const run = await runPipelineCli(pd, B);
    if (run.code !== 0) throw new Error(`dagctl run exited ${String(run.code)}: ${run.stderr.slice(-2000)}`);
    const steps: Array<{ key: string; task: string; metric: string; stage: string }> = [
      { key: 'normalize', task: 'normalize-pageviews', metric: 'rowsIn', stage: 'normalize' },
      { key: 'dedupe', task: 'dedupe-pageviews', metric: 'rowsIn', stage: 'map' },
      { key: 'components', task: 'equiv-components', metric: 'edges', stage: 'local' },
      { key: 'rollup', task: 'rollup', metric: 'rowsIn', stage: 'map' },
    ];
    let duckMs: Record<string, number> | null = null;
    const out = join(pd.dir, 'duck');
    try {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(out, { recursive: true });
      duckMs = await duckPipeline(await openDuck(), pd, out);
    } catch (e) {
      lines.push(`  (duckdb unavailable: ${e instanceof Error ? e.message : String(e)})`);
    }
    let dagTotalMs = 0, duckTotalMs = 0;
    for (const s of steps) {
      const { ms, rows } = taskSum(run.tasks, s.task, s.metric, s.stage);
      dagTotalMs += ms;
      const rate = (rows / ms) * 1000;
      metrics[`${s.key}.rows_s_per_core`] = rate;
      let line = `  ${s.key.padEnd(11)} ${fmt(rows).padStart(11)} rows in ${(ms / 1000).toFixed(2).padStart(7)} s → ${fmt(rate).padStart(10)} rows/s/core`;
      const d = duckMs?.[s.key];
      if (d !== undefined) {
        duckTotalMs += d;
        const drate = (rows / d) * 1000;
        metrics[`${s.key}.duckdb_rows_s_per_core`] = drate;
        metrics[`${s.key}.ratio_vs_duckdb`] = d / ms;
        line += `   duckdb ${(d / 1000).toFixed(2).padStart(6)} s ${fmt(drate).padStart(11)} rows/s → ×${(d / ms).toFixed(3)} (${(ms / d).toFixed(1)}× slower)`;
      }
      lines.push(line);
    }
    const other = run.tasks.reduce((s, t) => s + (t.durationMs ?? 0), 0) - dagTotalMs;
    metrics['pipeline.rows_s_per_core'] = (N / (dagTotalMs + other)) * 1000;
    metrics['pipeline.wall_ms'] = run.wallMs;
    metrics['pipeline.peak_rss_mb'] = run.peakRssKb / 1024;
    let line = `  pipeline    ${fmt(N).padStart(11)} pageviews, Σ instances ${((dagTotalMs + other) / 1000).toFixed(2)} s (normalize-equivs ${(other / 1000).toFixed(2)} s) → ${fmt(metrics['pipeline.rows_s_per_core'])} rows/s/core; wall ${(run.wallMs / 1000).toFixed(1)} s; peak RSS ${fmt(run.peakRssKb / 1024)} MB`;
    if (duckMs !== null) {
      metrics['pipeline.ratio_vs_duckdb'] = duckTotalMs / (dagTotalMs + other);
      line += `; duckdb Σ ${(duckTotalMs / 1000).toFixed(2)} s → ×${(duckTotalMs / (dagTotalMs + other)).toFixed(3)}`;
    }
    lines.push(line);
    const stages = new Map<string, number>();
    for (const t of run.tasks) stages.set(`${t.name}.${t.stage}`, (stages.get(`${t.name}.${t.stage}`) ?? 0) + (t.durationMs ?? 0));
    lines.push(`  per stage (Σ ms): ${[...stages].map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}`);
  } finally {
    if (process.env.DAGCTL_BENCH_KEEP === undefined) await rm(pd.dir, { recursive: true, force: true });
    else lines.push(`  kept ${pd.dir}`);
  }
  return { name: 'pipeline', lines, metrics };
}
