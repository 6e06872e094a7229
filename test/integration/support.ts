/**
 * Integration-test support: a temp workspace with generated master data, a small DAG file, the
 * CLI run as a child process (the real `dagctl` binary), and reading a published view back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../gen/generate.js';
import { canonicalJson } from '../../core/hash.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';

export const BIN = resolve('dist/cli/bin.js');

/**
 * normalize → dedupe (shuffle) → rollup (shuffle) into a view: every engine path, kept small. The
 * view is `views/<view>`; dedupe and rollup run with `buckets`, rollup with `granularities`.
 */
export function pipelineDag(o: { name: string; view: string; buckets: number; granularities: string[] }): string {
  return `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${o.name} }
params: { data: ./data }
defaults: { retries: 1, timeout: 2m, retryBackoff: 100ms }
datasets:
  pageviews: { uri: "\${params.data}/master/pageviews", partitionBy: date }
  normalized: { uri: "\${params.data}/batch/normalized", partitionBy: date }
  rejects: { uri: "\${params.data}/batch/rejects", partitionBy: date }
  distinct: { uri: "\${params.data}/batch/distinct" }
  ${o.view}: { uri: "\${params.data}/views/${o.view}", view: true }
tasks:
  - { name: normalize, operator: normalize, inputs: [pageviews], outputs: [normalized, rejects], params: { urlColumns: [url], idColumns: [person] } }
  - { name: dedupe, operator: dedupe, inputs: [normalized], outputs: [distinct], params: { key: [url, person, ts], buckets: ${o.buckets} } }
  - { name: rollup, operator: rollup, inputs: [distinct], outputs: [${o.view}], params: { granularities: [${o.granularities.join(', ')}], buckets: ${o.buckets} } }
`;
}

export const PIPELINE_DAG = pipelineDag({ name: 'pipeline', view: 'over-time', buckets: 3, granularities: ['h', 'd'] });

export interface Workspace {
  dir: string;
  dag: string;
  dataUri: string;
  home: string;
}

export async function workspace(opts: { rows: number; days: number; seed?: number }): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-it-'));
  const dag = join(dir, 'pipeline.yaml');
  await writeFile(dag, PIPELINE_DAG);
  const dataUri = pathToFileURL(join(dir, 'data')).href;
  await addDays({ dataUri }, { rows: opts.rows, days: opts.days, start: '2024-03-01', seed: opts.seed ?? 7 });
  return { dir, dag, dataUri, home: join(dir, '.dagctl') };
}

export async function addDays(ws: Pick<Workspace, 'dataUri'>, opts: { rows: number; days: number; start: string; seed: number }): Promise<void> {
  const store = await openObjectStore(`${ws.dataUri}/master/pageviews`);
  await generate('pageviews', { store, rows: opts.rows, seed: opts.seed, start: opts.start, days: opts.days, persons: 500 });
}

export function startRun(ws: Workspace, args: string[]): { child: ChildProcess; output: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ws.dir, env: { ...process.env, DAGCTL_HOME: ws.home, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const output = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
  return { child, output };
}

export async function runCli(ws: Workspace, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return startRun(ws, args).output;
}

/** The published view's rows, as sorted canonical JSON (hll sketches included). */
export async function viewRows(uri: string): Promise<string[]> {
  const store = await openObjectStore(uri);
  const cur = await readCurrent(store);
  if (cur === null) throw new Error(`no published view at ${uri}`);
  const out: string[] = [];
  for await (const b of readRows(store, cur.manifest.files, defaultCodec())) for (const r of b) out.push(canonicalJson(r));
  return out.sort();
}

/** Files under every `_work/` folder (task work areas) below the workspace's data. */
export async function workFiles(ws: Pick<Workspace, 'dir'>): Promise<string[]> {
  const entries = await readdir(join(ws.dir, 'data'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && join(e.parentPath, e.name).split('/').includes('_work')).map((e) => join(e.parentPath, e.name));
}
