/**
 * `dagctl demo` — the fresh-machine main job: generate SuperWebAnalytics-like master data under
 * ./data (only what is absent), run dags/superwebanalytics.yaml on the embedded executor, and show
 * the top of the pageviews-over-time view. Running it again re-uses memoized work.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../gen/generate.js';
import type { GenKind } from '../../gen/kinds.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { listSource } from '../../storage/dataset/source.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { str, type CliIO, type CommandDef } from '../command.js';
import { runCommand } from './run.js';

const SAMPLE: Array<{ kind: GenKind; dir: string; rows: number }> = [
  { kind: 'pageviews', dir: 'master/pageviews', rows: 300_000 },
  { kind: 'equivs', dir: 'master/equivs', rows: 20_000 },
  { kind: 'ages', dir: 'master/ages', rows: 40_000 },
];

export const demoCommand: CommandDef = {
  name: 'demo',
  summary: 'Generate sample data (if absent) and run dags/superwebanalytics.yaml',
  usage: 'dagctl demo [--data DIR] [--dag FILE] [--concurrency N]',
  options: { data: { type: 'string' }, dag: { type: 'string' }, concurrency: { type: 'string' } },
  allowPositionals: false,
  async run(args, io) {
    const dataDir = resolve(io.cwd, str(args, 'data') ?? 'data');
    const dataUri = pathToFileURL(dataDir).href;
    const dagFile = resolve(io.cwd, str(args, 'dag') ?? 'dags/superwebanalytics.yaml');
    for (const s of SAMPLE) await ensureSample(io, dataUri, s);

    const runArgs = { values: { param: [`data=${dataUri}`], concurrency: str(args, 'concurrency') }, positionals: [dagFile] };
    const code = await runCommand.run(runArgs, io);
    if (code !== 0) return code;
    await showView(io, `${dataUri}/views/pageviews-over-time`);
    io.stdout.write(`\nNext: \`dagctl status\`, \`dagctl plan ${dagFile} --param data=${dataUri} --workers 4\`, or run the demo again (memoized).\n`);
    return 0;
  },
};

async function ensureSample(io: CliIO, dataUri: string, s: { kind: GenKind; dir: string; rows: number }): Promise<void> {
  const uri = `${dataUri}/${s.dir}`;
  const store = await openObjectStore(uri);
  const existing = existsSync(new URL(uri)) ? await listSource(store, { format: 'parquet', partitionBy: 'date' }) : [];
  if (existing.length > 0) {
    io.stdout.write(`data: ${s.dir} present (${existing.length} files)\n`);
    return;
  }
  io.stdout.write(`data: generating ${s.rows.toLocaleString('en-US')} ${s.kind} rows into ${s.dir} … `);
  const res = await generate(s.kind, { store, rows: s.rows, seed: 42, start: '2024-01-01', days: 28, persons: 20_000 });
  io.stdout.write(`${res.files} files, ${(res.bytes / 1e6).toFixed(1)} MB\n`);
}

async function showView(io: CliIO, uri: string): Promise<void> {
  const store = await openObjectStore(uri);
  const cur = await readCurrent(store);
  if (cur === null) return;
  const totals = new Map<string, { pv: number; uniques: number }>();
  for await (const batch of readRows(store, cur.manifest.files, defaultCodec(), { columns: ['url', 'granularity', 'pageviews', 'uniques'] })) {
    for (const r of batch) {
      if (r.granularity !== 'm') continue;
      const k = String(r.url);
      const t = totals.get(k) ?? { pv: 0, uniques: 0 };
      t.pv += Number(r.pageviews);
      t.uniques = Math.max(t.uniques, Number(r.uniques));
      totals.set(k, t);
    }
  }
  const top = [...totals.entries()].sort((a, b) => b[1].pv - a[1].pv).slice(0, 8);
  io.stdout.write(`\nview pageviews-over-time, version ${cur.pointer.version} (${cur.manifest.rows.toLocaleString('en-US')} rows); top URLs over the 28-day buckets:\n`);
  for (const [url, t] of top) io.stdout.write(`  ${String(t.pv).padStart(8)} views  ${String(t.uniques).padStart(7)} uniques (largest bucket)  ${url}\n`);
}
