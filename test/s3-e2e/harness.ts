/**
 * Shared fixtures of the end-to-end S3 suites: the dagctl CLI as a child process, master data
 * generated straight into a data root (s3:// or file://), reading any dataset back as sorted
 * canonical JSON rows, and a temp dir per suite.
 *
 * Preconditions: `npx tsc` has built dist/ (the CLI is dist/cli/bin.js); for s3:// roots, the
 * server env of scripts/provision/s3.sh (the suites call requireS3 from test/s3/env.ts first).
 * Everything the CLI does goes through a real process boundary, so these tests see exactly what a
 * user's `dagctl run … --param data=s3://…` does: env-configured S3 client, worker threads, the
 * local run store under DAGCTL_HOME.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { canonicalJson } from '../../core/hash.js';
import { generate } from '../../gen/generate.js';
import type { GenKind } from '../../gen/kinds.js';
import { loadDag } from '../../definitions/load.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { listSource } from '../../storage/dataset/source.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, ObjectStore } from '../../storage/types.js';

/** Repository root (this file runs as dist/test/s3-e2e/harness.js). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(REPO, 'dist/cli/bin.js');
export const DAGS = join(REPO, 'dags');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node dist/cli/bin.js ARGS` with DAGCTL_HOME=home and the parent's env (which carries the
 * S3 server's AWS_* variables) plus `env`. Rejects only on timeout (the child is killed): a
 * non-zero exit is a result the test asserts on.
 */
export function dagctl(args: string[], opts: { home: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO,
      env: { ...process.env, DAGCTL_HOME: opts.home, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dagctl ${args.join(' ')} timed out after ${opts.timeoutMs ?? 90_000} ms\n${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 90_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The JSON document a `--json` command printed on stdout. */
export function jsonOut<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`no JSON on stdout (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  }
}

/** The fields of `dagctl run --json` (scheduler/status-view.ts StatusView) the tests read. */
export interface RunStatus {
  runId: string;
  phase: string;
  counts: Record<string, number>;
  tasks: Array<{ instance: string; state: string; attempts: number; why?: string }>;
}

/** `dagctl run FILE --param … --json --concurrency 2`, asserting nothing: returns status + raw. */
export async function runDag(file: string, params: Record<string, string | number>, opts: { home: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; extra?: string[] }): Promise<{ status: RunStatus; cli: CliResult }> {
  const args = ['run', file, '--json', '--concurrency', '2', ...(opts.extra ?? [])];
  for (const [k, v] of Object.entries(params)) args.push('--param', `${k}=${v}`);
  const cli = await dagctl(args, opts);
  const doc = jsonOut<RunStatus & { error?: unknown }>(cli);
  if (doc.error !== undefined) throw new Error(`dagctl run failed: ${JSON.stringify(doc.error)}\n${cli.stderr.slice(-2000)}`);
  return { status: doc, cli };
}

/** Failed instances with their reasons, for assertion messages. */
export function failures(s: RunStatus): string {
  return JSON.stringify(s.tasks.filter((t) => t.state !== 'succeeded' && t.state !== 'skipped').slice(0, 10));
}

/** Small, fixed input: same seed and persons for every kind, so identifiers agree across kinds. */
export const GEN = { seed: 7, persons: 300, start: '2024-01-01', days: 3 } as const;

export interface GenSpec {
  kind: GenKind;
  /** Dataset folder under the data root, e.g. 'master/pageviews'. */
  dir: string;
  rows: number;
  start?: string;
  days?: number;
}

/** The SuperWebAnalytics master data (3,000 pageviews over 3 days) and birthday inputs. */
export const SWA_INPUT: GenSpec[] = [
  { kind: 'pageviews', dir: 'master/pageviews', rows: 3000 },
  { kind: 'equivs', dir: 'master/equivs', rows: 300 },
];
export const BIRTHDAY_INPUT: GenSpec[] = [
  { kind: 'ages', dir: 'master/ages', rows: 1500 },
  // The new batch: a later day of the same population (same seed and persons).
  { kind: 'ages', dir: 'incoming/ages', rows: 150, start: '2024-01-04', days: 1 },
];

/** Generates each spec under `root` with generate() in this process (straight into S3 or disk). */
export async function generateInto(root: string, specs: GenSpec[]): Promise<void> {
  for (const s of specs) {
    const store = await openObjectStore(`${root}/${s.dir}`);
    try {
      await generate(s.kind, { store, rows: s.rows, seed: GEN.seed, persons: GEN.persons, start: s.start ?? GEN.start, days: s.days ?? GEN.days });
    } finally {
      closeStore(store);
    }
  }
}

/** Releases an S3 store's sockets; a no-op for other stores. */
export function closeStore(store: ObjectStore): void {
  const c = (store as { close?: unknown }).close;
  if (typeof c === 'function') (c as () => void).call(store);
}

/** A dataset read back: its published version (null for sources) and rows as sorted canonical JSON. */
export interface DatasetRows {
  version: string | null;
  files: FileEntry[];
  rows: string[];
}

export async function readFiles(store: ObjectStore, files: FileEntry[]): Promise<string[]> {
  const rows: string[] = [];
  for await (const batch of readRows(store, files, defaultCodec())) for (const r of batch) rows.push(canonicalJson(r));
  return rows.sort();
}

/** Produced datasets: the published view (_CURRENT → manifest → files). Sources: every data file. */
export async function readDataset(uri: string, kind: 'published' | 'source'): Promise<DatasetRows> {
  const store = await openObjectStore(uri);
  try {
    if (kind === 'source') {
      const files = await listSource(store, { format: 'parquet' });
      return { version: null, files, rows: await readFiles(store, files) };
    }
    const cur = await readCurrent(store);
    if (cur === null) throw new Error(`${uri} has no _CURRENT`);
    return { version: cur.pointer.version, files: cur.manifest.files, rows: await readFiles(store, cur.manifest.files) };
  } finally {
    closeStore(store);
  }
}

/**
 * Every dataset of a DAG (as resolved with `params`), read back: name → rows. Produced datasets
 * (views and intermediates alike — every task output is published) through _CURRENT, sources
 * through a listing.
 */
export async function readAllDatasets(file: string, params: Record<string, string | number>): Promise<Map<string, DatasetRows>> {
  const overrides = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const loaded = await loadDag(file, { paramOverrides: overrides });
  if (loaded.dag === undefined) throw new Error(`cannot load ${file}: ${JSON.stringify(loaded.issues)}`);
  const out = new Map<string, DatasetRows>();
  for (const [name, ds] of Object.entries(loaded.dag.datasets).sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.set(name, await readDataset(ds.uri, ds.producer === undefined ? 'source' : 'published'));
  }
  return out;
}

/**
 * A one-task DAG publishing a view whose content depends on a param (`gran`: h, d, w or m), so
 * runs with different params publish different views of the same input. Retention 2; maxShrink 1
 * (no shrink guard): a coarser granularity legitimately has far fewer rows than a finer one.
 */
export const ROLLUP_DAG = `apiVersion: dagctl/v1
kind: Dag
metadata:
  name: rollup-view
params:
  data: ./data
  gran: d
datasets:
  pageviews:
    uri: \${params.data}/master/pageviews
    partitionBy: date
  pageviews-over-time:
    uri: \${params.data}/views/pageviews-over-time
    view: true
    retention: 2
    maxShrink: 1
tasks:
  - name: rollup
    operator: rollup
    inputs: [pageviews]
    outputs: [pageviews-over-time]
    params:
      granularities: ["\${params.gran}"]
      buckets: 2
`;

/** A temp dir (its file:// URI too) removed by `dispose`. */
export function tempDir(label: string): { dir: string; uri: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `dagctl-e2e-${label}-`));
  return { dir, uri: pathToFileURL(dir).href, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeText(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}
