/**
 * `dagctl gen` throughput (goal ≥ 1,000,000 rows/s): generate() of N pageviews (DAGCTL_BENCH_GEN_ROWS,
 * default 1,000,000; 8 days, persons N/10, seed 11 — bench/pipeline.ts's data) into a temporary
 * local folder, median of 3, wall and CPU; split into row generation alone (gen/columns.ts
 * pageviewBatches, no encoding) and the rest (Parquet encode + write). Peer in the same run: DuckDB (1 thread)
 * rewriting the same rows from the generated Parquet to Parquet — what "sample data never takes
 * longer than processing it" is measured against — by wall time and by CPU time (process CPU,
 * DuckDB's threads included).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../gen/generate.js';
import { pageviewBatches, PageviewTables } from '../gen/columns.js';
import { openObjectStore } from '../storage/open.js';
import { median, type BenchResult } from './types.js';

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

export async function benchGen(): Promise<BenchResult> {
  const N = Number(process.env.DAGCTL_BENCH_GEN_ROWS ?? 1_000_000);
  const persons = Math.max(1000, Math.floor(N / 10));
  const days = 8;
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const wall: number[] = [], cpu: number[] = [], rowsOnly: number[] = [], duck: number[] = [], duckCpu: number[] = [];
  const base = await mkdtemp(join(tmpdir(), 'dagctl-gen-'));
  try {
    for (let rep = 0; rep < 3; rep++) {
      const dir = join(base, `r${rep}`);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await generate('pageviews', { store: await openObjectStore(pathToFileURL(dir).href), rows: N, seed: 11, start: '2024-03-01', days, persons });
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      const tables = new PageviewTables(11, persons);
      const t1 = performance.now();
      for (let d = 0; d < days; d++) {
        const date = new Date(Date.parse('2024-03-01T00:00:00Z') + d * 86_400_000).toISOString().slice(0, 10);
        const n = Math.floor(N / days) + (d < N % days ? 1 : 0);
        for (const batch of pageviewBatches({ seed: 11, date, rows: n, persons }, 100_000, tables)) void batch;
      }
      rowsOnly.push(performance.now() - t1);
      try {
        const { DuckDBInstance } = await import('@duckdb/node-api');
        const con = await (await DuckDBInstance.create(':memory:')).connect();
        await con.run('SET threads TO 1');
        const c2 = process.cpuUsage();
        const t2 = performance.now();
        await con.run(`COPY (SELECT * FROM read_parquet('${dir}/date=*/*.parquet')) TO '${join(base, `duck${rep}.parquet`)}' (FORMAT parquet)`);
        duck.push(performance.now() - t2);
        const dc = process.cpuUsage(c2);
        duckCpu.push((dc.user + dc.system) / 1000);
      } catch {
        /* DuckDB unavailable: no peer line */
      }
      if (rep > 0) await rm(join(base, `r${rep - 1}`), { recursive: true, force: true });
    }
    const w = median(wall), r = median(rowsOnly);
    metrics['gen.rows_s'] = (N / w) * 1000;
    metrics['gen.cpu_rows_s'] = (N / median(cpu)) * 1000;
    metrics['gen.rowgen_share'] = r / w;
    lines.push(`gen: ${fmt(N)} pageviews, ${days} days, ${fmt(persons)} persons, median of 3: ${(w / 1000).toFixed(2)} s wall → ${fmt(metrics['gen.rows_s'])} rows/s (goal ≥ 1,000,000); ${fmt(metrics['gen.cpu_rows_s'])} rows per CPU-second; row generation alone ${(r / 1000).toFixed(2)} s (${(100 * r / w).toFixed(0)}%), encode + write the rest`);
    if (duck.length > 0) {
      const d = median(duck);
      metrics['gen.ratio_vs_duckdb_rewrite'] = d / w;
      const dc = median(duckCpu), gc = median(cpu);
      metrics['gen.cpu_ratio_vs_duckdb_rewrite'] = dc / gc;
      lines.push(`  peer: DuckDB (1 thread) rewriting the same rows Parquet → Parquet ${(d / 1000).toFixed(2)} s → gen is ${(w / d).toFixed(1)}× its time; CPU ${(dc / 1000).toFixed(2)} vs gen's ${(gc / 1000).toFixed(2)} s → gen is ${(gc / dc).toFixed(1)}× its CPU time (the ratio a loaded machine distorts least)`);
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  return { name: 'gen', lines, metrics };
}
