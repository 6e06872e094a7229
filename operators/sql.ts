/**
 * sql: the user's SQL (`params.query`) run by DuckDB over the task's inputs, each input a table (a
 * view over its Parquet files) named after its dataset — `"pageviews-norm"` and, where the name
 * has dashes, also `pageviews_norm`. One instance over the whole input by default;
 * `perPartition: true` runs one instance per date partition of the first input (which then holds
 * only that partition). The query's result is the output: BOOLEAN, integer types (int64), FLOAT,
 * DOUBLE and DECIMAL (double), VARCHAR (string) and BLOB (bytes) columns keep their type, every
 * other type is cast to VARCHAR by DuckDB; an integer outside ±2^53 fails the instance rather than
 * losing digits. Results stream in DuckDB's chunks.
 *
 * DuckDB (@duckdb/node-api, its binary inside its npm package) is imported only when an sql
 * instance runs. Inputs must be Parquet (chain read-records before it for CSV / JSON lines); a
 * DuckDB error fails the instance with OPERATOR_FAILED showing DuckDB's message and the query. The query
 * is planned once: when every result column is a native type it streams from that plan; else it
 * runs again wrapped in the casts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DagctlError, errorMessage } from '../core/errors.js';
import { defaultCodec } from '../storage/parquet/registry.js';
import type { ColumnType, Row, Schema, Value } from '../storage/types.js';
import type { InputHandle, OperatorDef, StageResult } from './types.js';
import { sqlDescriptor, type SqlParams } from './sql-descriptor.js';

const quoteIdent = (s: string): string => `"${s.replaceAll('"', '""')}"`;
const quoteStr = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** The input's Parquet files in `dir` (its own files when it has them, else its rows encoded). */
async function materialize(input: InputHandle, dir: string, k: number): Promise<string[]> {
  if (input.format !== undefined && input.format !== 'parquet') {
    throw new DagctlError('OPERATOR_INPUT_INVALID', `sql: input ${input.name} is a ${input.format} dataset; read it with read-records (or parse-access-log) first`, { dataset: input.name });
  }
  const out: string[] = [];
  const raw = input.rawFiles?.();
  if (raw !== undefined) {
    for (const [i, f] of raw.entries()) {
      const p = path.join(dir, `in${k}-${i}.parquet`);
      await writeFile(p, await f.read());
      out.push(p);
    }
    return out;
  }
  const schema = await input.schema();
  if (schema === null) return out;
  const rows: Row[] = [];
  for await (const b of input.batches()) rows.push(...b);
  const p = path.join(dir, `in${k}.parquet`);
  await writeFile(p, await defaultCodec().encode(schema, rows));
  return [p];
}

export const sql: OperatorDef<SqlParams> = {
  ...sqlDescriptor,
  async run(ctx): Promise<StageResult> {
    const { DuckDBInstance, DuckDBTypeId } = await import('@duckdb/node-api');
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-sql-'));
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const con = await instance.connect();
    try {
      for (const [k, input] of ctx.inputs.entries()) {
        const files = await materialize(input, dir, k);
        const names = [input.name, ...(input.name.includes('-') ? [input.name.replaceAll('-', '_')] : [])];
        const schema = await input.schema();
        const empty = schema === null ? 'SELECT NULL AS _empty WHERE false' : `SELECT ${schema.map((f) => `NULL::${duckType(f.type)} AS ${quoteIdent(f.name)}`).join(', ')} WHERE false`;
        const body = files.length === 0 ? empty : `SELECT * FROM read_parquet([${files.map(quoteStr).join(', ')}])`;
        for (const n of names) await con.run(`CREATE VIEW ${quoteIdent(n)} AS ${body}`);
      }
      const fail = (e: unknown): never => {
        throw new DagctlError('OPERATOR_FAILED', `sql: DuckDB: ${errorMessage(e)}\n  in query: ${ctx.params.query}`, { query: ctx.params.query });
      };
      const prepared = await con.prepare(ctx.params.query).catch(fail);
      const schema: Schema = [];
      const selects: string[] = [];
      let native = true;
      for (let c = 0; c < prepared.columnCount; c++) {
        const name = prepared.columnName(c);
        const id = prepared.columnTypeId(c);
        const type: ColumnType =
          id === DuckDBTypeId.BOOLEAN ? 'boolean'
          : INT_TYPES.has(id) ? 'int64'
          : id === DuckDBTypeId.FLOAT || id === DuckDBTypeId.DOUBLE || id === DuckDBTypeId.DECIMAL ? 'double'
          : id === DuckDBTypeId.BLOB ? 'bytes'
          : 'string';
        if (!NATIVE.has(id)) native = false;
        schema.push({ name, type, nullable: true });
        selects.push(`CAST(${quoteIdent(name)} AS ${duckType(type)}) AS ${quoteIdent(name)}`);
      }
      if (new Set(schema.map((f) => f.name)).size !== schema.length) throw new DagctlError('OPERATOR_PARAMS_INVALID', `sql: the query's result has duplicate column names (${schema.map((f) => f.name).join(', ')}): alias them`, { query: ctx.params.query });
      const out = ctx.outputs[0]!.open(schema);
      // Columns DuckDB already returns as dagctl's types stream from the prepared statement (planned
      // once); other types (DECIMAL, DATE, LIST…) are cast by DuckDB first.
      const result = await (native ? prepared.stream() : con.stream(`SELECT ${selects.join(', ')} FROM (${ctx.params.query.replace(/;\s*$/, '')})`)).catch(fail);
      let rows = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const n = chunk.rowCount;
        const batch: Row[] = Array.from({ length: n }, () => ({}));
        schema.forEach((f, c) => {
          const values = chunk.getColumnValues(c);
          for (let i = 0; i < n; i++) batch[i]![f.name] = toValue(values[i], f.type, f.name);
        });
        rows += n;
        await out.write(batch);
      }
      return { metrics: { rowsOut: rows } };
    } finally {
      con.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

const INT_TYPES = new Set<number>([2, 3, 4, 5, 6, 7, 8, 9, 16, 32]); // TINYINT…BIGINT, U*, HUGEINT, UHUGEINT (DuckDBTypeId)
/** Result types read as dagctl values without a cast: BOOLEAN, the integers, FLOAT, DOUBLE, VARCHAR, BLOB. */
const NATIVE = new Set<number>([1, ...INT_TYPES, 10, 11, 17, 18]);

function duckType(t: ColumnType): string {
  return t === 'boolean' ? 'BOOLEAN' : t === 'int64' || t === 'int32' ? 'HUGEINT' : t === 'double' ? 'DOUBLE' : t === 'bytes' ? 'BLOB' : 'VARCHAR';
}

function toValue(v: unknown, type: ColumnType, column: string): Value {
  if (v === null || v === undefined) return null;
  if (type === 'int64') {
    const n = typeof v === 'bigint' ? Number(v) : Number(v);
    if (!Number.isSafeInteger(n) || (typeof v === 'bigint' && BigInt(n) !== v)) throw new DagctlError('OPERATOR_FAILED', `sql: column ${column} holds ${String(v)}, outside the integers dagctl stores exactly (±2^53)`, { column });
    return n;
  }
  if (type === 'double') return Number(v);
  if (type === 'boolean') return v === true;
  if (type === 'bytes') return v instanceof Uint8Array ? v : new Uint8Array((v as { bytes: Uint8Array }).bytes);
  return String(v);
}
