/**
 * Serving-test support: a workspace where a real `dagctl run` of normalize → dedupe → rollup
 * (granularities h/d/w/m) has published a pageviews-over-time view over generated data spanning
 * several 28-day m buckets, and DuckDB oracles over rollup's input rows (the distinct pageviews).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCurrent } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { duckRows, sqlPath } from '../storage/helpers.js';
import { addDays, pipelineDag, runCli, workspace, type Workspace } from '../integration/support.js';

export const ROLLUP_DAG = pipelineDag({ name: 'serving', view: 'pageviews-over-time', buckets: 2, granularities: ['h', 'd', 'w', 'm'] });

export interface ServingWorkspace extends Workspace {
  viewUri: string;
}

/** Generated pageviews over `days` days from 2024-03-01, the DAG run once (its view published). */
export async function servingWorkspace(opts: { rows: number; days: number; seed: number }): Promise<ServingWorkspace> {
  const ws = await workspace({ rows: opts.rows, days: opts.days, seed: opts.seed });
  await writeFile(ws.dag, ROLLUP_DAG);
  await runDag(ws);
  return { ...ws, viewUri: `${ws.dataUri}/views/pageviews-over-time` };
}

export async function runDag(ws: Workspace): Promise<void> {
  const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
}

/** Appends generated days to the master dataset (a later batch). */
export const appendDays = addDays;

/** DuckDB's list literal of the published files of a dataset under the workspace's data. */
export async function parquetList(dataUri: string, dataset: string): Promise<string> {
  const uri = `${dataUri}/${dataset}`;
  const cur = await readCurrent(await openObjectStore(uri));
  assert.ok(cur !== null, `${dataset} was not published`);
  const dir = fileURLToPath(uri);
  return `[${cur.manifest.files.map((f) => sqlPath(join(dir, f.path))).join(', ')}]`;
}

/** Exact pageviews and distinct persons of `url` over [from, to) by DuckDB over rollup's input rows. */
export async function oracle(distinct: string, url: string, from: number, to: number): Promise<{ pageviews: number; uniques: number }> {
  const [r] = await duckRows(`SELECT count(*) AS pv, count(DISTINCT person) AS u FROM read_parquet(${distinct}) WHERE url = ${sqlPath(url)} AND ts >= ${from} AND ts < ${to}`);
  return { pageviews: Number(r?.pv), uniques: Number(r?.u) };
}

/** The HLL bound the view tests use: p = 14 (~0.8% standard error), 2% and one unit for tiny sets. */
export function withinHll(got: number, exact: number): boolean {
  return Math.abs(got - exact) <= Math.max(1, 0.02 * exact);
}

/** docs/hll_reader.py, the standalone Python reader of the sketch format. */
const READER = resolve('docs/hll_reader.py');

export function pyReader(args: string[], input?: string): { code: number | null; out: { count: number; estimate: number; p: number | null; mode: string | null; sketches: number } | null; stderr: string } {
  const r = spawnSync('python3', [READER, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, out: r.status === 0 ? (JSON.parse(r.stdout) as { count: number; estimate: number; p: number; mode: string; sketches: number }) : null, stderr: r.stderr };
}

