/**
 * Parquet codec benchmark: write and read rows/s of each dagctl codec on the same pageview rows
 * (gen/kinds.ts, url/person/ts), with DuckDB writing and reading the same rows in the same run as
 * the peer, and the ratios codec ÷ DuckDB. DuckDB (a devDependency) is imported dynamically: bench
 * only.
 *   write: JS rows → Parquet bytes (DuckDB: appender from the JS rows + COPY TO parquet, snappy)
 *   read:  Parquet bytes → JS row objects (DuckDB: read_parquet + materialize JS objects)
 * Each figure is the median of RUNS runs (the machine is shared: medians, not best cases). Env BENCH_PARQUET_ROWS overrides the row count.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dayRows } from '../gen/kinds.js';
import { getCodec } from '../storage/parquet/registry.js';
import type { Row, Schema } from '../storage/types.js';
import { median, type BenchResult } from './types.js';

const RUNS = 5;
const SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'person', type: 'string' },
  { name: 'ts', type: 'int64' },
];

async function best(fn: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

export async function benchParquet(): Promise<BenchResult> {
  const n = Number(process.env.BENCH_PARQUET_ROWS ?? '200000');
  const rows: Row[] = [];
  for (const c of dayRows({ kind: 'pageviews', seed: 1, date: '2024-01-01', rows: n, persons: 10_000 })) rows.push(...c);
  const dir = await fs.mkdtemp(join(tmpdir(), 'dagctl-bench-pq-'));
  const metrics: Record<string, number> = {};
  const lines: string[] = [`parquet codecs, ${n.toLocaleString('en-US')} pageview rows (url, person, ts), median of ${RUNS}`];
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const con = await (await DuckDBInstance.create(':memory:')).connect();
    const duckFile = join(dir, 'duck.parquet');
    const duckWriteMs = await best(async () => {
      await con.run('CREATE OR REPLACE TABLE t (url VARCHAR, person VARCHAR, ts BIGINT)');
      const app = await con.createAppender('t');
      for (const r of rows) {
        app.appendVarchar(r.url as string);
        app.appendVarchar(r.person as string);
        app.appendBigInt(BigInt(r.ts as number));
        app.endRow();
      }
      app.closeSync();
      await con.run(`COPY t TO '${duckFile}' (FORMAT parquet, COMPRESSION snappy)`);
    });
    const duckReadMs = await best(async () => {
      const res = await con.runAndReadAll(`SELECT * FROM read_parquet('${duckFile}')`);
      if (res.getRowObjectsJS().length !== n) throw new Error('duckdb row count');
    });
    const duckBytes = (await fs.stat(duckFile)).size;
    const duckW = n / (duckWriteMs / 1000);
    const duckR = n / (duckReadMs / 1000);
    metrics['duckdb.write_rows_s'] = Math.round(duckW);
    metrics['duckdb.read_rows_s'] = Math.round(duckR);
    lines.push(`  ${'duckdb'.padEnd(24)} write ${fmt(duckW)} rows/s  read ${fmt(duckR)} rows/s  ${fmt(duckBytes)} bytes`);
    for (const name of ['flat', 'flat-uncompressed', 'hyparquet', 'hyparquet-uncompressed', 'parquetjs-lite']) {
      const codec = getCodec(name);
      let bytes: Uint8Array = new Uint8Array();
      const w = await best(async () => {
        bytes = await codec.encode(SCHEMA, rows);
      });
      const r = await best(async () => {
        let count = 0;
        for await (const b of codec.decode(bytes)) count += b.length;
        if (count !== n) throw new Error(`${name} row count ${count}`);
      });
      // DuckDB reading this codec's file: the same oracle check the tests do, here as a sanity gate.
      const f = join(dir, `${name}.parquet`);
      await fs.writeFile(f, bytes);
      const check = await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${f}')`);
      if (check.getRowObjectsJS()[0]?.n !== n) throw new Error(`duckdb cannot read ${name} output`);
      const wr = n / (w / 1000);
      const rr = n / (r / 1000);
      metrics[`${name}.write_rows_s`] = Math.round(wr);
      metrics[`${name}.read_rows_s`] = Math.round(rr);
      metrics[`${name}.bytes`] = bytes.byteLength;
      metrics[`${name}.write_vs_duckdb`] = wr / duckW;
      metrics[`${name}.read_vs_duckdb`] = rr / duckR;
      lines.push(`  ${name.padEnd(24)} write ${fmt(wr)} rows/s (${ratio(wr / duckW)} DuckDB)  read ${fmt(rr)} rows/s (${ratio(rr / duckR)} DuckDB)  ${fmt(bytes.byteLength)} bytes`);
    }
    con.closeSync();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return { name: 'parquet', lines, metrics };
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function ratio(x: number): string {
  return `${x.toFixed(2)}×`;
}

// Run directly: node dist/bench/parquet.js
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const r = await benchParquet();
  for (const l of r.lines) console.log(l);
}
