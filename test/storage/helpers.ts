/**
 * Test helpers for storage tests: temp dirs and a DuckDB oracle (devDependency, tests only).
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export async function tempDir(tag: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), `dagctl-${tag}-`));
}

let conn: Promise<DuckDBConnection> | undefined;
export function duck(): Promise<DuckDBConnection> {
  conn ??= DuckDBInstance.create(':memory:').then((i) => i.connect());
  return conn;
}

/** Rows of a query as JS values (BIGINT → bigint, BLOB → Buffer). */
export async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  const r = await (await duck()).runAndReadAll(sql);
  return r.getRowObjectsJS();
}

export function sqlPath(p: string): string {
  return `'${p.replace(/'/g, "''")}'`;
}
