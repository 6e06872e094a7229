/**
 * Row helpers shared by the operators: the output schema from an input's Parquet schema (with
 * optional `columnTypes` overrides), a cheap injective key string per row (bucket routing and hash
 * maps), the canonical row and a total order on values (for deterministic survivors), and writers
 * that buffer per bucket and flush in chunks so a map instance's memory stays bounded by the chunk
 * size, not by its input. The writers' `push` is synchronous and says when a chunk is full, so the
 * per-row path costs no promise/microtask: `if (w.push(b, row)) await w.drain()`.
 */
import { DagctlError } from '../../core/errors.js';
import type { ColumnType, Row, Schema, Value } from '../../storage/types.js';
import type { InputHandle, ShuffleWriter } from '../types.js';

/**
 * The schema rows of `input` are written back with: its Parquet schema (exact types: int32 stays
 * int32, an all-null column keeps its type), `overrides` applied by column name; null when the
 * input has no files (then it has no rows either).
 */
export async function schemaOf(input: InputHandle, overrides: Record<string, ColumnType> = {}): Promise<Schema | null> {
  const s = await input.schema();
  if (s === null) return null;
  return s.map((f) => {
    const t = overrides[f.name];
    return t === undefined ? { ...f } : { ...f, type: t };
  });
}

/**
 * Key string of the given columns' values, injective (each value is self-delimiting: strings are
 * length-prefixed, numbers end with ';', null is 'z', bytes base64). Replaces JSON.stringify of an
 * array of values: one concatenation chain per row instead of an array, a JSON walk and escapes.
 */
export function keyOf(row: Row, columns: readonly string[]): string {
  let k = '';
  for (let i = 0; i < columns.length; i++) {
    const v = row[columns[i]!];
    if (typeof v === 'string') k += 's' + v.length + ':' + v;
    else if (typeof v === 'number') k += 'n' + v + ';';
    else if (v === null || v === undefined) k += 'z';
    else if (typeof v === 'bigint') k += 'n' + v + ';';
    else if (typeof v === 'boolean') k += v ? 't' : 'f';
    else k += 'b' + Buffer.from(v).toString('base64') + ';';
  }
  return k;
}

function encodeValue(v: Value | undefined): unknown {
  if (v instanceof Uint8Array) return { b: Buffer.from(v).toString('base64') };
  if (typeof v === 'bigint') return { i: v.toString() };
  return v ?? null;
}

/** Canonical string of a whole row (JSON of the values, columns sorted by name): the documented
 * tie-break order of dedupe. Equal rows ⇔ equal strings. */
export function canonicalRow(row: Row): string {
  return JSON.stringify(Object.keys(row).sort().map((c) => encodeValue(row[c])));
}

/** Total order on values: null first, then numbers, strings (UTF-16 order), booleans, bytes. */
export function compareValues(a: Value | undefined, b: Value | undefined): number {
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' || typeof a === 'bigint') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  if (typeof a === 'boolean') return Number(a) - Number(b);
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

/** Buffers rows per bucket; `push` returns true once some bucket holds a full chunk (then drain). */
export class BucketedWriter {
  private readonly pending: Row[][];
  private full: number[] = [];
  rows = 0;
  constructor(private readonly w: ShuffleWriter, private readonly chunk = 8192) {
    this.pending = Array.from({ length: w.buckets }, () => []);
  }
  push(bucket: number, row: Row): boolean {
    const p = this.pending[bucket]!;
    p.push(row);
    this.rows++;
    if (p.length === this.chunk) this.full.push(bucket);
    return this.full.length > 0;
  }
  /** Writes the full chunks. */
  async drain(): Promise<void> {
    const full = this.full;
    this.full = [];
    for (const b of full) {
      const p = this.pending[b]!;
      this.pending[b] = [];
      await this.w.write(b, p);
    }
  }
  async add(bucket: number, row: Row): Promise<void> {
    if (this.push(bucket, row)) await this.drain();
  }
  async flush(): Promise<void> {
    this.full = [];
    for (let b = 0; b < this.pending.length; b++) {
      const p = this.pending[b]!;
      if (p.length > 0) {
        this.pending[b] = [];
        await this.w.write(b, p);
      }
    }
  }
}

/** Buffers output rows and writes them in chunks; `push` returns true when a chunk is full. */
export class ChunkedWriter {
  private pending: Row[] = [];
  rows = 0;
  constructor(private readonly w: { write(rows: Row[]): Promise<void> }, private readonly chunk = 8192) {}
  push(row: Row): boolean {
    this.pending.push(row);
    this.rows++;
    return this.pending.length >= this.chunk;
  }
  async add(row: Row): Promise<void> {
    if (this.push(row)) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const p = this.pending;
    this.pending = [];
    await this.w.write(p);
  }
}
