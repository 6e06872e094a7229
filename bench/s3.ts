/**
 * S3 benchmark: what putting datasets on S3 costs against the local filesystem, measured in the
 * same run on the same data (this machine is shared and noisy: quote the ratios and medians).
 *  - partitions: PARTS date partitions × ROWS pageview rows written through DataFileWriter (one
 *    file each, create-only, sequentially as one task instance would) and read back through
 *    readRows — MB/s and rows/s, S3 ÷ local;
 *  - pipeline: dags/superwebanalytics.yaml through `dagctl run` (child process, 2 threads) on the
 *    same generated master data, every dataset on S3 vs every dataset on file:// — the run's own
 *    duration (status startedAt → finishedAt) and the process wall time, S3 ÷ local.
 * Medians of RUNS runs, S3 and local alternating so drift hits both.
 *
 * Server: with DAGCTL_S3_TEST=1 the S3 env in the environment is used (scripts/provision/s3.sh);
 * otherwise the bench starts its own server with scripts/provision/s3.sh start (a private state
 * dir, so it never touches a server someone else started) and stops it at the end, so
 * `npm run bench -- s3` works standalone. Data goes to the `dagctl-bench` bucket under a fresh
 * prefix, deleted afterwards.
 * Env: BENCH_S3_RUNS (3), BENCH_S3_PARTITIONS (20), BENCH_S3_ROWS (50000), BENCH_S3_PAGEVIEWS
 * (100000, pipeline input over 7 days).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { generate } from '../gen/generate.js';
import { dayRows, SCHEMAS } from '../gen/kinds.js';
import { readRows } from '../storage/dataset/read.js';
import { DataFileWriter } from '../storage/dataset/writer.js';
import { openObjectStore } from '../storage/open.js';
import { defaultCodec } from '../storage/parquet/registry.js';
import type { FileEntry, ObjectStore, Row } from '../storage/types.js';
import { median, type BenchResult } from './types.js';

const execFileP = promisify(execFile);
/** Repository root (this file runs as dist/bench/s3.js). */
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'dist/cli/bin.js');
const envInt = (name: string, dflt: number): number => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : dflt;
};
const RUNS = envInt('BENCH_S3_RUNS', 3);
const PARTS = envInt('BENCH_S3_PARTITIONS', 20);
const ROWS = envInt('BENCH_S3_ROWS', 50_000);
const PAGEVIEWS = envInt('BENCH_S3_PAGEVIEWS', 100_000);
const BUCKET = 'dagctl-bench';

/**
 * Starts a private S3 server unless one is configured. Returns its stop function (which also
 * restores the environment), or null when an existing server is used.
 */
async function ensureServer(log: (l: string) => void): Promise<(() => Promise<void>) | null> {
  if (process.env.DAGCTL_S3_TEST === '1') return null;
  const script = join(REPO, 'scripts/provision/s3.sh');
  const env = { ...process.env, DAGCTL_S3_STATE_DIR: join(REPO, '.tmp', `s3-bench-${process.pid}`) };
  log('bench s3: starting a private S3 server (scripts/provision/s3.sh start)');
  const { stdout } = await execFileP('bash', [script, 'start'], { env, maxBuffer: 1 << 20 });
  const saved = new Map<string, string | undefined>();
  // The S3 store and the CLI children read the server's address and credentials from the env.
  for (const line of stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] === undefined || m[2] === undefined) continue;
    if (!saved.has(m[1])) saved.set(m[1], process.env[m[1]]);
    process.env[m[1]] = m[2];
  }
  return async () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await execFileP('bash', [script, 'stop'], { env });
    await rm(env.DAGCTL_S3_STATE_DIR, { recursive: true, force: true });
  };
}

async function deleteAll(store: ObjectStore): Promise<void> {
  const keys = (await store.list('')).map((o) => o.key);
  for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((k) => store.delete(k)));
}

function closeStore(store: ObjectStore): void {
  const c = (store as { close?: unknown }).close;
  if (typeof c === 'function') (c as () => void).call(store);
}

interface PartitionTiming {
  writeMs: number;
  readMs: number;
  bytes: number;
  rows: number;
}

/** Writes `parts` partitions of `rows` into a fresh store root, then reads them all back. */
async function partitionsOnce(uri: string, rows: Row[], parts = PARTS): Promise<PartitionTiming> {
  const store = await openObjectStore(uri);
  try {
    const codec = defaultCodec();
    const files: FileEntry[] = [];
    const t0 = performance.now();
    for (let p = 0; p < parts; p++) {
      const date = new Date(Date.UTC(2024, 0, 1 + p)).toISOString().slice(0, 10);
      // One file per partition (maxRows above ROWS): the unit a task instance writes.
      const w = new DataFileWriter({ store, codec, schema: SCHEMAS.pageviews, folder: `date=${date}/`, salt: `bench|${p}`, maxRows: ROWS + 1 });
      await w.write(rows);
      files.push(...(await w.close()));
    }
    const writeMs = performance.now() - t0;
    const t1 = performance.now();
    let read = 0;
    for await (const batch of readRows(store, files, codec)) read += batch.length;
    const readMs = performance.now() - t1;
    if (read !== parts * rows.length) throw new Error(`read ${read} rows, wrote ${parts * rows.length}`);
    return { writeMs, readMs, bytes: files.reduce((n, f) => n + f.bytes, 0), rows: read };
  } finally {
    closeStore(store);
  }
}

/** `dagctl run FILE --json`: the run's own duration and the process wall time. */
function runCli(file: string, params: Record<string, string>, home: string): Promise<{ runMs: number; wallMs: number }> {
  const args = [BIN, 'run', file, '--json', '--concurrency', '2'];
  for (const [k, v] of Object.entries(params)) args.push('--param', `${k}=${v}`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, DAGCTL_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      try {
        const s = JSON.parse(out) as { phase?: string; durationMs?: number | null };
        if (code !== 0 || s.phase !== 'succeeded' || typeof s.durationMs !== 'number') throw new Error(`phase ${String(s.phase)}`);
        resolve({ runMs: s.durationMs, wallMs });
      } catch (e) {
        reject(new Error(`dagctl run failed (exit ${code}): ${String(e)}\n${out.slice(-1500)}\n${err.slice(-1500)}`));
      }
    });
  });
}

/**
 * The shipped DAG with only its master root split off (`params.master`), so every repetition
 * writes a fresh output root (no memoization) over the same generated master data.
 */
async function pipelineDag(dir: string): Promise<string> {
  const text = await readFile(join(REPO, 'dags/superwebanalytics.yaml'), 'utf8');
  const split = text.replaceAll('${params.data}/master/', '${params.master}/').replace(/^params:\n/m, 'params:\n  master: ../data/master\n');
  if (split === text || !split.includes('${params.master}/pageviews')) throw new Error('dags/superwebanalytics.yaml changed shape; update bench/s3.ts');
  const file = join(dir, 'superwebanalytics-split.yaml');
  await writeFile(file, split);
  return file;
}

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

export async function benchS3(): Promise<BenchResult> {
  const log = (l: string): void => void process.stderr.write(`${l}\n`);
  const stop = await ensureServer(log);
  const tmp = await mkdtemp(join(tmpdir(), 'dagctl-bench-s3-'));
  const localRoot = pathToFileURL(tmp).href;
  const s3Root = `s3://${BUCKET}/bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  try {
    // --- partitions ---------------------------------------------------------------------------
    const rows: Row[] = [];
    for (const chunk of dayRows({ kind: 'pageviews', seed: 1, date: '2024-01-01', rows: ROWS, persons: 20_000 })) rows.push(...chunk);
    const part: Record<'s3' | 'local', PartitionTiming[]> = { s3: [], local: [] };
    // Warm-up (untimed): JIT, codec and SDK module loading, the server's first bucket writes.
    for (const root of [localRoot, s3Root]) await partitionsOnce(`${root}/warmup`, rows.slice(0, 5000), 1);
    for (let i = 0; i < RUNS; i++) {
      for (const where of i % 2 === 0 ? (['local', 's3'] as const) : (['s3', 'local'] as const)) {
        const t = await partitionsOnce(`${where === 's3' ? s3Root : localRoot}/partitions-${i}`, rows);
        part[where].push(t);
        log(`bench s3: partitions ${where} run ${i + 1}: write ${f1(t.writeMs)} ms, read ${f1(t.readMs)} ms`);
      }
    }
    rows.length = 0;
    const bytes = part.local[0]?.bytes ?? 0;
    const totalRows = PARTS * ROWS;
    const m = (where: 's3' | 'local', k: 'writeMs' | 'readMs'): number => median(part[where].map((t) => t[k]));

    // --- pipeline -----------------------------------------------------------------------------
    const dag = await pipelineDag(tmp);
    for (const root of [localRoot, s3Root]) {
      const gen = [
        { kind: 'pageviews' as const, dir: 'master/pageviews', rows: PAGEVIEWS },
        { kind: 'equivs' as const, dir: 'master/equivs', rows: Math.ceil(PAGEVIEWS / 10) },
      ];
      for (const g of gen) {
        const store = await openObjectStore(`${root}/${g.dir}`);
        await generate(g.kind, { store, rows: g.rows, seed: 42, start: '2024-01-01', days: 7, persons: 10_000 }).finally(() => closeStore(store));
      }
    }
    const home = join(tmp, 'home');
    const pipe: Record<'s3' | 'local', Array<{ runMs: number; wallMs: number }>> = { s3: [], local: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const where of i % 2 === 0 ? (['local', 's3'] as const) : (['s3', 'local'] as const)) {
        const root = where === 's3' ? s3Root : localRoot;
        const r = await runCli(dag, { master: `${root}/master`, data: `${root}/out-${i}` }, home);
        pipe[where].push(r);
        log(`bench s3: superwebanalytics ${where} run ${i + 1}: ${f1(r.runMs)} ms (wall ${f1(r.wallMs)} ms)`);
      }
    }
    const pm = (where: 's3' | 'local', k: 'runMs' | 'wallMs'): number => median(pipe[where].map((t) => t[k]));

    const metrics: Record<string, number> = {
      'partitions.bytes': bytes,
      'partitions.rows': totalRows,
      'local.write.MBps': mbps(bytes, m('local', 'writeMs')),
      's3.write.MBps': mbps(bytes, m('s3', 'writeMs')),
      'local.write.rowsps': totalRows / (m('local', 'writeMs') / 1000),
      's3.write.rowsps': totalRows / (m('s3', 'writeMs') / 1000),
      'local.read.MBps': mbps(bytes, m('local', 'readMs')),
      's3.read.MBps': mbps(bytes, m('s3', 'readMs')),
      'local.read.rowsps': totalRows / (m('local', 'readMs') / 1000),
      's3.read.rowsps': totalRows / (m('s3', 'readMs') / 1000),
      'ratio.write': m('local', 'writeMs') / m('s3', 'writeMs'),
      'ratio.read': m('local', 'readMs') / m('s3', 'readMs'),
      'local.pipeline.ms': pm('local', 'runMs'),
      's3.pipeline.ms': pm('s3', 'runMs'),
      'ratio.pipeline': pm('s3', 'runMs') / pm('local', 'runMs'),
      'local.pipeline.wallMs': pm('local', 'wallMs'),
      's3.pipeline.wallMs': pm('s3', 'wallMs'),
      'ratio.pipeline.wall': pm('s3', 'wallMs') / pm('local', 'wallMs'),
    };
    const g = (k: string): number => metrics[k] ?? NaN;
    const lines = [
      `s3 bench: S3 (versitygw on loopback, ${process.env.AWS_ENDPOINT_URL ?? 'AWS'}) vs local filesystem, medians of ${RUNS} runs`,
      `  partitions: ${PARTS} × ${ROWS.toLocaleString('en-US')} pageview rows, ${f1(bytes / 1e6)} MB of Parquet, one file per partition`,
      `    write  local ${f1(g('local.write.MBps'))} MB/s ${Math.round(g('local.write.rowsps')).toLocaleString('en-US')} rows/s   S3 ${f1(g('s3.write.MBps'))} MB/s ${Math.round(g('s3.write.rowsps')).toLocaleString('en-US')} rows/s   S3/local ${f2(g('ratio.write'))}×`,
      `    read   local ${f1(g('local.read.MBps'))} MB/s ${Math.round(g('local.read.rowsps')).toLocaleString('en-US')} rows/s   S3 ${f1(g('s3.read.MBps'))} MB/s ${Math.round(g('s3.read.rowsps')).toLocaleString('en-US')} rows/s   S3/local ${f2(g('ratio.read'))}×`,
      `  pipeline: superwebanalytics, ${PAGEVIEWS.toLocaleString('en-US')} pageviews over 7 days, dagctl run --concurrency 2`,
      `    run    local ${f1(g('local.pipeline.ms') / 1000)} s   S3 ${f1(g('s3.pipeline.ms') / 1000)} s   S3 takes ${f2(g('ratio.pipeline'))}× local`,
      `    wall   local ${f1(g('local.pipeline.wallMs') / 1000)} s   S3 ${f1(g('s3.pipeline.wallMs') / 1000)} s   S3 takes ${f2(g('ratio.pipeline.wall'))}× local`,
    ];
    return { name: 's3', lines, metrics };
  } finally {
    await rm(tmp, { recursive: true, force: true });
    if (stop !== null) await stop(); // the server's data dir goes with it
    else {
      const store = await openObjectStore(s3Root);
      await deleteAll(store).finally(() => closeStore(store));
    }
  }
}
