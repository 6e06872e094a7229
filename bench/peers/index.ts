/**
 * `npm run bench -- peers [--10m] [--no-spark]`: the whole SuperWebAnalytics pipeline (normalize →
 * dedupe → connected components of the equiv edges → rollup h/d/w/m with HLL uniques) run side by
 * side, on the same generated Parquet (bench/pipeline.ts preparePipelineData: N pageviews over 8
 * days, N/5 equiv edges) and the same thread count T, each engine as its own process:
 *   dagctl   dags/superwebanalytics.yaml by the CLI, embedded, `--concurrency T`, buckets 8
 *   DuckDB   the same pipeline in SQL (bench/peers/duckdb-pipeline.ts), `SET threads = T`
 *   PySpark  the same pipeline with DataFrames on local[T] (bench/peers/spark_pipeline.py), pyspark
 *            from PyPI in the per-machine tool cache (scripts/provision/pyspark.sh) on the machine's
 *            Java; skipped with a message when it cannot be provisioned or with --no-spark, left out
 *            with a message past DAGCTL_BENCH_SPARK_TIMEOUT_S (default 3600)
 * Reported per engine: wall time of the process (median of DAGCTL_BENCH_REPEAT runs for dagctl
 * and DuckDB, default 3; PySpark once), its CPU time (user + system: the steadier figure on a
 * loaded machine, where wall time is mostly waiting for a core), its peak RSS (the process tree's summed VmRSS sampled every
 * 100 ms, and the processes' VmHWM / maxRSS), per-step times, and the ratios to dagctl. Outputs
 * are compared after the timed runs: pageviews per (url, granularity, bucket) must be identical
 * across engines (the run fails otherwise); uniques against the exact distinct count (DuckDB
 * count(DISTINCT) over its own dedupe + components outputs): relative error p50/p99/max per
 * engine, and dagctl's p99 must be within 3σ of its HLL (precision 14: σ = 1.04/√16384 = 0.81%).
 * The person-ids (id → smallest identifier of its component) are compared between dagctl and DuckDB.
 * N = DAGCTL_BENCH_ROWS (default 1,000,000; `--10m` = 10,000,000); T = DAGCTL_BENCH_THREADS (default 2).
 * Before/after: DAGCTL_BENCH_BASE_DIST=<another build's dist/ inside this clone> adds `dagctl-base`
 * (that build's CLI), run interleaved with the others (its view is not compared).
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { preparePipelineData, runPipelineCli, type PipelineData } from '../pipeline.js';
import { median, type BenchResult } from '../types.js';

const run = promisify(execFile);
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mb = (kb: number): string => `${fmt(kb / 1024)} MB`;

/** A finished child process: wall time, peak RSS (kB), stdout, stderr, exit code. */
interface Proc { wallMs: number; peakRssKb: number; cpuMs: number; code: number | null; stdout: string; stderr: string }

/** CPU clock ticks per second of /proc/<pid>/stat utime/stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

function procStatus(pid: number): { ppid: number; rss: number; hwm: number; cpuMs: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const num = (re: RegExp): number => Number(re.exec(s)?.[1] ?? 0);
    // stat: "pid (comm) state ppid …": utime and stime are fields 14 and 15, counted after the comm
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(f[11] ?? 0) + Number(f[12] ?? 0)) * 1000) / USER_HZ;
    return { ppid: num(/PPid:\s+(\d+)/), rss: num(/VmRSS:\s+(\d+) kB/), hwm: num(/VmHWM:\s+(\d+) kB/), cpuMs };
  } catch {
    return null;
  }
}

/**
 * One sample of the tree under `root`: Σ VmRSS (or the largest VmHWM, if larger) in kB, and each
 * process's CPU time so far into `cpu` (pid → ms; the last sample before a process exits counts).
 */
function sampleTree(root: number, cpu: Map<number, number>): number {
  const all = new Map<number, NonNullable<ReturnType<typeof procStatus>>>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStatus(Number(d));
    if (st !== null) all.set(Number(d), st);
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, st] of all) if (!tree.has(pid) && tree.has(st.ppid)) { tree.add(pid); grew = true; }
  }
  let sum = 0, hwm = 0;
  for (const pid of tree) {
    const st = all.get(pid);
    if (st === undefined) continue;
    sum += st.rss;
    hwm = Math.max(hwm, st.hwm);
    cpu.set(pid, Math.max(cpu.get(pid) ?? 0, st.cpuMs));
  }
  return Math.max(sum, hwm);
}

/** Runs a command as its own process group, sampling its tree; past `timeoutMs` the group is killed (code null). */
async function spawnMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = Infinity): Promise<Proc> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killer = Number.isFinite(timeoutMs) ? setTimeout(() => { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); }, timeoutMs) : null;
  let stdout = '', stderr = '', peak = 0;
  const cpu = new Map<number, number>();
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setInterval(() => { if (child.pid !== undefined) peak = Math.max(peak, sampleTree(child.pid, cpu)); }, 100);
  timer.unref();
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  clearInterval(timer);
  if (killer !== null) clearTimeout(killer);
  return { wallMs: performance.now() - t0, peakRssKb: peak, cpuMs: [...cpu.values()].reduce((a, b) => a + b, 0), code, stdout, stderr };
}

interface EngineRun { wallMs: number; peakRssKb: number; cpuMs: number; steps: Record<string, number>; via?: string }

async function runDagctl(pd: PipelineData, threads: number, buckets: number, dist = 'dist'): Promise<EngineRun> {
  // a fresh run every time: no memoized stage outputs, no earlier version of any dataset
  await rm(join(pd.data, 'batch'), { recursive: true, force: true });
  await rm(join(pd.data, 'views'), { recursive: true, force: true });
  await rm(join(pd.dir, '.dagctl'), { recursive: true, force: true });
  const r = await runPipelineCli(pd, buckets, [], threads, dist);
  if (r.code !== 0) throw new Error(`dagctl run exited ${String(r.code)}: ${r.stderr.slice(-2000)}`);
  const steps: Record<string, number> = {};
  const stepOf: Record<string, string> = { 'normalize-pageviews': 'normalize', 'normalize-equivs': 'components', 'dedupe-pageviews': 'dedupe', 'equiv-components': 'components', rollup: 'rollup' };
  for (const t of r.tasks) {
    const k = stepOf[t.name] ?? t.name;
    steps[k] = (steps[k] ?? 0) + (t.durationMs ?? 0);
  }
  return { wallMs: r.wallMs, peakRssKb: r.peakRssKb, cpuMs: r.cpuMs, steps, via: r.via };
}

async function runDuckdb(pd: PipelineData, out: string, threads: number): Promise<EngineRun> {
  await rm(out, { recursive: true, force: true });
  const p = await spawnMeasured(process.execPath, [resolve('dist/bench/peers/duckdb-pipeline.js'), pd.data, out, String(threads)]);
  if (p.code !== 0) throw new Error(`duckdb pipeline exited ${String(p.code)}: ${p.stderr.slice(-2000)}`);
  const j = JSON.parse(p.stdout.trim().split('\n').pop() ?? '{}') as { steps: Record<string, number>; maxRssKb: number; cpuMs: number };
  return { wallMs: p.wallMs, peakRssKb: Math.max(p.peakRssKb, j.maxRssKb), cpuMs: j.cpuMs, steps: j.steps };
}

/** The venv's python, provisioned by scripts/provision/pyspark.sh; a reason string when not. */
async function pysparkPython(): Promise<{ python: string } | { skip: string }> {
  if (process.env.DAGCTL_PYSPARK_PYTHON !== undefined) return { python: process.env.DAGCTL_PYSPARK_PYTHON };
  try {
    const { stdout } = await run('bash', [resolve('scripts/provision/pyspark.sh'), 'start'], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
    const m = /DAGCTL_PYSPARK_PYTHON=(\S+)/.exec(stdout);
    return m?.[1] === undefined ? { skip: `scripts/provision/pyspark.sh printed no DAGCTL_PYSPARK_PYTHON (${stdout.trim()})` } : { python: m[1] };
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    return { skip: `scripts/provision/pyspark.sh failed: ${(err.stderr ?? err.message ?? String(e)).trim().split('\n').slice(-3).join(' | ')}` };
  }
}

async function runSpark(python: string, pd: PipelineData, out: string, threads: number, buckets: number): Promise<EngineRun> {
  await rm(out, { recursive: true, force: true });
  const limitS = Number(process.env.DAGCTL_BENCH_SPARK_TIMEOUT_S ?? 3600);
  const p = await spawnMeasured(python, [resolve('bench/peers/spark_pipeline.py'), pd.data, out, String(threads), String(buckets)], { ...process.env, PYSPARK_PYTHON: python }, limitS * 1000);
  if (p.code === null) throw new Error(`pyspark pipeline did not finish within ${limitS} s (DAGCTL_BENCH_SPARK_TIMEOUT_S); last output: ${p.stderr.slice(-400)}`);
  if (p.code !== 0) throw new Error(`pyspark pipeline exited ${String(p.code)}: ${p.stderr.slice(-2000)}`);
  const j = JSON.parse(p.stdout.trim().split('\n').pop() ?? '{}') as { steps: Record<string, number> };
  return { wallMs: p.wallMs, peakRssKb: p.peakRssKb, cpuMs: p.cpuMs, steps: j.steps };
}

interface Duck { rows(sql: string): Promise<unknown[][]> }
async function openDuck(): Promise<Duck> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  return { async rows(sql) { return (await con.runAndReadAll(sql)).getRows(); } };
}

/** Compares the views: pageviews must be identical; uniques' relative error vs the exact count. */
async function compare(duck: Duck, views: Record<string, string>, exactFrom: { distinct: string; ids: string }): Promise<{ lines: string[]; metrics: Record<string, number>; ok: boolean }> {
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  let ok = true;
  await duck.rows(`CREATE OR REPLACE TABLE exact AS
    WITH j AS (SELECT d.url, coalesce(i.person, d.person) AS person, d.ts FROM read_parquet('${exactFrom.distinct}') d LEFT JOIN read_parquet('${exactFrom.ids}') i ON i.id = d.person)
    SELECT url, g AS granularity, ts - ts % s AS bucket, count(*) AS pageviews, count(DISTINCT person) AS uniques
    FROM j CROSS JOIN (VALUES ('h', 3600), ('d', 86400), ('w', 604800), ('m', 2419200)) AS gs(g, s) GROUP BY ALL`);
  const groups = Number((await duck.rows('SELECT count(*) FROM exact'))[0]?.[0] ?? 0);
  for (const [engine, glob] of Object.entries(views)) {
    const [row] = await duck.rows(`
      WITH v AS (SELECT url, granularity, bucket, pageviews, uniques FROM read_parquet('${glob}'))
      SELECT count(*) FILTER (WHERE v.pageviews IS DISTINCT FROM x.pageviews) AS mismatched,
             quantile_cont(abs(v.uniques - x.uniques) / x.uniques, 0.5), quantile_cont(abs(v.uniques - x.uniques) / x.uniques, 0.99),
             max(abs(v.uniques - x.uniques) / x.uniques)
      FROM v FULL OUTER JOIN exact x USING (url, granularity, bucket)`);
    const [mismatched, p50, p99, max] = (row ?? []).map(Number) as [number, number, number, number];
    metrics[`${engine}.pageviews_mismatched`] = mismatched;
    metrics[`${engine}.uniques_p99_rel_err`] = p99;
    if (mismatched > 0) ok = false;
    let line = `  ${engine.padEnd(8)} pageviews ${mismatched === 0 ? `identical in all ${fmt(groups)} (url, granularity, bucket) rows` : `DIFFER in ${fmt(mismatched)} of ${fmt(groups)} rows`}; uniques vs exact: rel. error p50 ${(p50 * 100).toFixed(2)}%, p99 ${(p99 * 100).toFixed(2)}%, max ${(max * 100).toFixed(2)}%`;
    if (engine === 'dagctl') {
      const bound = 3 * (1.04 / Math.sqrt(1 << 14));
      if (p99 > bound) ok = false;
      line += p99 <= bound ? ` (p99 within 3σ = ${(bound * 100).toFixed(2)}%)` : ` — OUTSIDE 3σ = ${(bound * 100).toFixed(2)}%`;
    }
    lines.push(line);
  }
  return { lines, metrics, ok };
}

export async function benchPeers(): Promise<BenchResult> {
  const argv = process.argv.slice(2);
  const N = argv.includes('--10m') ? 10_000_000 : Number(process.env.DAGCTL_BENCH_ROWS ?? 1_000_000);
  const T = Number(process.env.DAGCTL_BENCH_THREADS ?? 2);
  const R = Math.max(1, Number(process.env.DAGCTL_BENCH_REPEAT ?? 3));
  const B = 8;
  const lines: string[] = [];
  const metrics: Record<string, number> = { rows: N, threads: T };
  const g0 = performance.now();
  const pd = await preparePipelineData(N);
  lines.push(`peers: SuperWebAnalytics pipeline (normalize → dedupe → components → rollup h/d/w/m), ${fmt(N)} pageviews + ${fmt(pd.equivRows)} equivs, ${T} threads each, dagctl/DuckDB median of ${R} (generated in ${sec(performance.now() - g0)})`);
  try {
    const duckOut = join(pd.dir, 'duckdb');
    const dag: EngineRun[] = [], ddb: EngineRun[] = [], base: EngineRun[] = [];
    const baseDist = process.env.DAGCTL_BENCH_BASE_DIST;
    for (let i = 0; i < R; i++) {
      // interleaved, so load on the shared machine hits all alike
      if (baseDist !== undefined) base.push(await runDagctl(pd, T, B, baseDist));
      dag.push(await runDagctl(pd, T, B));
      ddb.push(await runDuckdb(pd, duckOut, T));
      process.stderr.write(`peers: round ${i + 1}/${R}: dagctl ${sec(dag.at(-1)!.wallMs)}, duckdb ${sec(ddb.at(-1)!.wallMs)}\n`);
    }
    const engines: Array<{ name: string; runs: EngineRun[] }> = [{ name: 'dagctl', runs: dag }, { name: 'duckdb', runs: ddb }];
    if (base.length > 0) engines.push({ name: 'dagctl-base', runs: base });
    // Each build runs as its users run it: through the launcher that runs it, else node with or without the launcher's settings (bench/lib/dagctl-command.ts).
    lines.push(`  dagctl runs via ${dag[0]?.via ?? '?'}${base.length > 0 ? `, dagctl-base via ${base[0]?.via ?? '?'}` : ''}`);
    const py = argv.includes('--no-spark') ? { skip: '--no-spark' } : await pysparkPython();
    const sparkOut = join(pd.dir, 'spark');
    if ('python' in py) {
      try {
        engines.push({ name: 'pyspark', runs: [await runSpark(py.python, pd, sparkOut, T, B)] });
      } catch (e) {
        lines.push(`  pyspark: failed, left out: ${e instanceof Error ? e.message.slice(0, 400) : String(e)}`);
      }
    } else {
      lines.push(`  pyspark: skipped (${py.skip})`);
    }
    const dWall = median(dag.map((r) => r.wallMs));
    const dRss = Math.max(...dag.map((r) => r.peakRssKb));
    const dCpu = median(dag.map((r) => r.cpuMs));
    for (const { name, runs } of engines) {
      const wall = median(runs.map((r) => r.wallMs));
      const rss = Math.max(...runs.map((r) => r.peakRssKb));
      const cpu = median(runs.map((r) => r.cpuMs));
      const steps = ['normalize', 'dedupe', 'components', 'rollup'].map((s) => `${s} ${sec(median(runs.map((r) => r.steps[s] ?? 0)))}`).join(', ');
      metrics[`${name}.wall_ms`] = wall;
      metrics[`${name}.peak_rss_mb`] = rss / 1024;
      metrics[`${name}.cpu_ms`] = cpu;
      let line = `  ${name.padEnd(8)} wall ${sec(wall).padStart(8)} (runs ${runs.map((r) => sec(r.wallMs)).join(', ')}), CPU ${sec(cpu)}, peak RSS ${mb(rss).padStart(8)}; Σ per step: ${steps}`;
      if (name !== 'dagctl') {
        metrics[`${name}.time_ratio`] = wall / dWall;
        metrics[`${name}.rss_ratio`] = rss / dRss;
        metrics[`${name}.cpu_ratio`] = cpu / dCpu;
        line += ` → ${name}/dagctl: time ×${(wall / dWall).toFixed(2)}, CPU ×${(cpu / dCpu).toFixed(2)}, peak RSS ×${(rss / dRss).toFixed(2)}`;
      }
      lines.push(line);
    }
    lines.push(`  goals (peer time or RSS ÷ dagctl's): DuckDB time ×${(metrics['duckdb.time_ratio'] ?? NaN).toFixed(2)} (goal > 1), PySpark time ×${(metrics['pyspark.time_ratio'] ?? NaN).toFixed(1)} (goal ≥ 10), DuckDB peak RSS ×${(metrics['duckdb.rss_ratio'] ?? NaN).toFixed(2)} (goal ≥ 1)`);
    const duck = await openDuck();
    const views: Record<string, string> = { dagctl: `${pd.data}/views/pageviews-over-time/*.parquet`, duckdb: `${duckOut}/view.parquet` };
    if (engines.some((e) => e.name === 'pyspark')) views.pyspark = `${sparkOut}/view/*.parquet`;
    const cmp = await compare(duck, views, { distinct: `${duckOut}/distinct.parquet`, ids: `${duckOut}/ids.parquet` });
    lines.push(...cmp.lines);
    Object.assign(metrics, cmp.metrics);
    const [idDiff] = await duck.rows(`SELECT count(*) FROM read_parquet('${pd.data}/batch/person-ids/*.parquet') a FULL OUTER JOIN read_parquet('${duckOut}/ids.parquet') b USING (id) WHERE coalesce(a.person, id) IS DISTINCT FROM coalesce(b.person, id)`);
    const idMismatch = Number(idDiff?.[0] ?? 0);
    metrics['person_ids_mismatched'] = idMismatch;
    lines.push(`  person-ids: dagctl vs DuckDB ${idMismatch === 0 ? 'identical' : `DIFFER for ${fmt(idMismatch)} ids`}`);
    if (!cmp.ok || idMismatch > 0) throw new Error(`outputs differ across engines:\n${lines.join('\n')}`);
  } finally {
    if (process.env.DAGCTL_BENCH_KEEP === undefined) await rm(pd.dir, { recursive: true, force: true });
    else lines.push(`  kept ${pd.dir}`);
  }
  return { name: 'peers', lines, metrics };
}

