/**
 * User-operator benchmarks (docs/operators-sdk.md), each against a peer measured in the same run:
 *  - per-instance overhead of an operator module (a TypeScript no-op loaded from the run's code
 *    bundle) vs the built-in noop, 1,600 bucket instances each on the embedded executor (goal
 *    ≤ 10%); as the built-ins are imported when a thread starts, so is the run's bundle (the
 *    pool's `preload`, awaited by `ready()`), from the machine's transpile cache
 *    (BENCH_USER_OPS_INSTANCES sets the count); wall time and process CPU time (all threads),
 *    the latter steadier on a loaded machine;
 *  - sql rows/s vs DuckDB alone running the same query on the same Parquet file (goal ≥ 0.8×);
 *  - exec start-up cost per instance: a Python script that writes nothing vs a module no-op.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunRecord } from '../scheduler/create-run.js';
import { driveRun } from '../scheduler/driver.js';
import { LocalRunStore } from '../scheduler/stores/local-run-store.js';
import { loadDag } from '../definitions/load.js';
import { EmbeddedExecutor } from '../workers/embedded/pool.js';
import { exec } from '../operators/exec/exec.js';
import { sql } from '../operators/sql.js';
import { defineOperator, z } from '../sdk/index.js';
import { runOperator } from '../sdk/testing.js';
import { defaultCodec } from '../storage/parquet/registry.js';
import type { Row, Schema } from '../storage/types.js';
import type { InputHandle, StageContext } from '../operators/types.js';
import { median, type BenchResult } from './types.js';

const INSTANCES = Number(process.env.BENCH_USER_OPS_INSTANCES ?? 1600);
const NOOP_TS = `import { defineOperator, z } from 'dagctl';
export default defineOperator({
  params: z.object({ buckets: z.number().int() }).strict(),
  inputs: { min: 0, max: 0 }, outputs: { min: 0, max: 0 },
  stages: () => [{ name: 'main', fanout: 'bucket' }],
  async run() { return {}; },
});
`;

/** Wall ms and process CPU ms (every thread of this process: driver and worker threads) of one run. */
async function runDag(dir: string, file: string): Promise<{ ms: number; cpuMs: number }> {
  const loaded = await loadDag(file);
  if (loaded.dag === undefined) throw new Error(JSON.stringify(loaded.issues));
  const store = new LocalRunStore(join(dir, `home-${Math.random().toString(36).slice(2)}`));
  const { record, state } = createRunRecord({ dag: loaded.dag, text: loaded.text, ctx: { sources: {}, history: [] } as never, options: { force: true, params: {}, executor: 'embedded' }, now: Date.now(), runId: `bench-${Math.random().toString(36).slice(2, 10)}`, bundle: loaded.bundle });
  await store.createRun(record, state);
  let forward: (e: Parameters<ConstructorParameters<typeof EmbeddedExecutor>[1]>[0]) => void = () => undefined;
  const executor = new EmbeddedExecutor(record, (e) => forward(e), { concurrency: 2 });
  await executor.ready();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const final = await driveRun({ store, record, makeExecutor: (onEvent) => { forward = onEvent; return executor; } });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await store.close();
  if (final.phase !== 'succeeded') throw new Error(`bench run ${final.phase}`);
  return { ms, cpuMs: (c.user + c.system) / 1000 };
}

/** Both operators run on the worker threads (a trivial built-in noop would run inline on the driver). */
const dagOf = (name: string, op: string, modules: string): string => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
${modules}
tasks:
  - { name: t, operator: ${op}, params: { buckets: ${INSTANCES}${op === 'noop' ? ', onThread: true' : ''} } }
`;

/** The sql operator's stage over one stored Parquet file (as the engine's handles give it), rows out counted. */
async function runSql(query: string, file: string, bytes: number, schema: Schema, rows: number): Promise<number> {
  let out = 0;
  const input: InputHandle = {
    name: 'pageviews', bytes, rows, files: 1, format: 'parquet',
    rawFiles: () => [{ path: 'pv.parquet', bytes, read: async () => new Uint8Array(await readFile(file)) }],
    schema: async () => schema,
    batches: () => { throw new Error('unused'); },
    lines: () => { throw new Error('unused'); },
  };
  const ctx = {
    params: { query, perPartition: false }, inputs: [input],
    outputs: [{ name: 'out', open: () => ({ write: async (r: Row[]) => { out += r.length; } }), previous: async () => null }],
    signal: new AbortController().signal, log: () => undefined,
  } as unknown as StageContext<{ query: string; perPartition: boolean }>;
  await sql.run(ctx);
  return out;
}

export async function benchUserOperators(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-userops-'));
  process.env.DAGCTL_BUNDLE_CACHE = join(dir, 'bundles');
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  try {
    await writeFile(join(dir, 'noop.ts'), NOOP_TS);
    await writeFile(join(dir, 'builtin.yaml'), dagOf('builtin', 'noop', ''));
    await writeFile(join(dir, 'module.yaml'), dagOf('module', 'mod-noop', 'operators: { mod-noop: ./noop.ts }'));
    const b: Array<{ ms: number; cpuMs: number }> = [], m: Array<{ ms: number; cpuMs: number }> = [];
    for (let i = 0; i < 5; i++) {
      b.push(await runDag(dir, join(dir, 'builtin.yaml')));
      m.push(await runDag(dir, join(dir, 'module.yaml')));
    }
    const perB = median(b.map((r) => r.ms)) / INSTANCES, perM = median(m.map((r) => r.ms)) / INSTANCES;
    metrics.builtinMsPerInstance = perB;
    metrics.moduleMsPerInstance = perM;
    lines.push(`module operator: ${perM.toFixed(3)} ms/instance vs built-in noop ${perB.toFixed(3)} ms/instance (${INSTANCES} instances, 2 threads, medians of 5, interleaved): overhead ${(100 * (perM / perB - 1)).toFixed(1)}% (goal ≤ 10%)`);
    // CPU time is what the operator costs the machine; on a loaded machine it is far steadier than wall time.
    const cpuB = median(b.map((r) => r.cpuMs)) / INSTANCES, cpuM = median(m.map((r) => r.cpuMs)) / INSTANCES;
    metrics.builtinCpuMsPerInstance = cpuB;
    metrics.moduleCpuMsPerInstance = cpuM;
    lines.push(`  CPU (all threads of the process): module ${cpuM.toFixed(3)} ms/instance vs built-in noop ${cpuB.toFixed(3)} ms/instance: overhead ${(100 * (cpuM / cpuB - 1)).toFixed(1)}%`);

    // sql vs DuckDB alone, same Parquet file and query.
    const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'person', type: 'string' }, { name: 'ts', type: 'int64' }];
    const rows: Row[] = Array.from({ length: 200_000 }, (_, i) => ({ url: `/p/${(i * 7919) % 5000}`, person: `u${(i * 104_729) % 20_000}`, ts: 1_700_000_000 + i }));
    const bytes = await defaultCodec().encode(schema, rows);
    const file = join(dir, 'pv.parquet');
    await writeFile(file, bytes);
    const query = 'SELECT url, count(*) AS views, count(DISTINCT person) AS persons FROM pageviews GROUP BY url';
    const s: number[] = [], d: number[] = [];
    const { DuckDBInstance } = await import('@duckdb/node-api');
    for (let i = 0; i < 7; i++) {
      let t0 = performance.now();
      const got = await runSql(query, file, bytes.length, schema, rows.length);
      s.push(performance.now() - t0);
      if (got !== 5000) throw new Error('sql bench: wrong row count');
      t0 = performance.now();
      const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
      const con = await inst.connect();
      const res = await con.runAndReadAll(`SELECT url, count(*) AS views, count(DISTINCT person) AS persons FROM read_parquet('${file}') GROUP BY url`);
      const n = res.getRows().length;
      con.closeSync();
      inst.closeSync();
      d.push(performance.now() - t0);
      if (n !== 5000) throw new Error('duckdb bench: wrong row count');
    }
    metrics.sqlRowsPerSec = rows.length / (median(s) / 1000);
    metrics.duckdbRowsPerSec = rows.length / (median(d) / 1000);
    lines.push(`sql operator: ${Math.round(metrics.sqlRowsPerSec).toLocaleString('en-US')} input rows/s vs DuckDB alone ${Math.round(metrics.duckdbRowsPerSec).toLocaleString('en-US')} rows/s on the same file and query (200k rows, medians of 7, interleaved, DuckDB start included in both): ${(metrics.sqlRowsPerSec / metrics.duckdbRowsPerSec).toFixed(2)}× (goal ≥ 0.8×)`);

    // exec start-up per instance vs a module no-op.
    await writeFile(join(dir, 'empty.py'), "import os\nopen(os.path.join(os.environ['DAGCTL_OUTPUT_DIR'], 'out.jsonl'), 'w').close()\n");
    const nothing = defineOperator({ params: z.object({}).strict(), async run(ctx) { ctx.outputs[0]!.open([{ name: 'a', type: 'string' }]); return {}; } });
    const e: number[] = [], n: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t0 = performance.now();
      await runOperator(exec, { command: ['python3', join(dir, 'empty.py')], columns: { a: 'string' } }, { inputs: [] });
      e.push(performance.now() - t0);
      t0 = performance.now();
      await runOperator(nothing, {}, { inputs: [{ rows: [] }] });
      n.push(performance.now() - t0);
    }
    metrics.execStartMs = median(e);
    metrics.moduleNoopMs = median(n);
    lines.push(`exec start-up: ${median(e).toFixed(1)} ms per instance (python3, nothing written) vs ${median(n).toFixed(2)} ms for a module no-op (medians of 7)`);
  } finally {
    delete process.env.DAGCTL_BUNDLE_CACHE;
    await rm(dir, { recursive: true, force: true });
  }
  return { name: 'user-operators', lines, metrics };
}
