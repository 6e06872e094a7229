/**
 * Row helpers shared by the operators: schema inference (InputHandle carries no schema yet — see
 * docs/operators.md "Contract gaps"), canonical keys and a total order on rows (for deterministic
 * survivors and outputs), and a bucketed writer that buffers per bucket and flushes in chunks so a
 * map instance's memory stays bounded by the chunk size, not by its input.
 */
import { DagctlError } from '../../core/errors.js';
import type { ColumnType, Row, Schema, Value } from '../../storage/types.js';
import type { ShuffleWriter } from '../types.js';

/** Infers a schema from sample rows: column order of the first row, types from non-null values. */
export function inferSchema(rows: Row[], overrides: Record<string, ColumnType> = {}): Schema {
  const first = rows[0];
  if (first === undefined) return [];
  const schema: Schema = [];
  for (const name of Object.keys(first)) {
    let type: ColumnType | undefined = overrides[name];
    let nullable = false;
    let allInt = true;
    let seen: string | undefined;
    for (const r of rows) {
      const v = r[name];
      if (v === null || v === undefined) {
        nullable = true;
        continue;
      }
      seen ??= v instanceof Uint8Array ? 'bytes' : typeof v;
      if (typeof v === 'number' && !Number.isInteger(v)) allInt = false;
    }
    if (type === undefined) {
      if (seen === 'string') type = 'string';
      else if (seen === 'boolean') type = 'boolean';
      else if (seen === 'bytes') type = 'bytes';
      else if (seen === 'number' || seen === 'bigint') type = allInt ? 'int64' : 'double';
      else type = 'string';
    }
    schema.push(nullable ? { name, type, nullable: true } : { name, type });
  }
  return schema;
}

function encodeValue(v: Value | undefined): unknown {
  if (v instanceof Uint8Array) return { b: Buffer.from(v).toString('base64') };
  if (typeof v === 'bigint') return { i: v.toString() };
  return v ?? null;
}

/** Canonical string of the given columns' values (JSON array; bytes/bigint tagged). */
export function keyOf(row: Row, columns: string[]): string {
  return JSON.stringify(columns.map((c) => encodeValue(row[c])));
}

/** Canonical string of a whole row: columns sorted by name. Equal rows ⇔ equal strings. */
export function canonicalRow(row: Row): string {
  return keyOf(row, Object.keys(row).sort());
}

/** Total order on values: null first, then numbers, strings (UTF-16 order), booleans, bytes. */
export function compareValues(a: Value | undefined, b: Value | undefined): number {
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' || typeof a === 'bigint') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  if (typeof a === 'boolean') return Number(a) - Number(b as boolean);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  return 0;
}
function rank(v: Value | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number' || typeof v === 'bigint') return 1;
  if (typeof v === 'string') return 2;
  if (typeof v === 'boolean') return 3;
  return 4;
}

/** Reads a string column, throwing OPERATOR_INPUT_INVALID when absent or not a string. */
export function str(row: Row, col: string): string {
  const v = row[col];
  if (typeof v !== 'string') throw new DagctlError('OPERATOR_INPUT_INVALID', `column ${col} is not a string`, { column: col, value: String(v) });
  return v;
}

/** Reads an integer column (number or bigint), throwing OPERATOR_INPUT_INVALID otherwise. */
export function int(row: Row, col: string): number {
  const v = row[col];
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new DagctlError('OPERATOR_INPUT_INVALID', `column ${col} is not an integer`, { column: col, value: String(v) });
  return v;
}

/** Buffers rows per bucket and writes a bucket's chunk once it reaches `chunk` rows. */
export class BucketedWriter {
  private readonly pending: Row[][];
  rows = 0;
  constructor(private readonly w: ShuffleWriter, private readonly chunk = 4096) {
    this.pending = Array.from({ length: w.buckets }, () => []);
  }
  async add(bucket: number, row: Row): Promise<void> {
    const p = this.pending[bucket]!;
    p.push(row);
    this.rows++;
    if (p.length >= this.chunk) {
      this.pending[bucket] = [];
      await this.w.write(bucket, p);
    }
  }
  async flush(): Promise<void> {
    for (let b = 0; b < this.pending.length; b++) {
      const p = this.pending[b]!;
      if (p.length > 0) {
        this.pending[b] = [];
        await this.w.write(b, p);
      }
    }
  }
}

/** Buffers output rows and writes them in chunks. */
export class ChunkedWriter {
  private pending: Row[] = [];
  rows = 0;
  constructor(private readonly w: { write(rows: Row[]): Promise<void> }, private readonly chunk = 4096) {}
  async add(row: Row): Promise<void> {
    this.pending.push(row);
    this.rows++;
    if (this.pending.length >= this.chunk) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const p = this.pending;
    this.pending = [];
    await this.w.write(p);
  }
}
