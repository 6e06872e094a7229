/**
 * Value conversion at the Parquet codec boundary, shared by every codec.
 *
 * Inside dagctl int64 columns are JS numbers; Parquet libraries use bigint. Codecs call
 * `int64ToBigint` when encoding and `int64ToNumber` when decoding, and both throw PARQUET_INVALID
 * for integers outside Number.MAX_SAFE_INTEGER (silent rounding would corrupt ids and timestamps).
 * `checkValue` validates one row value against its field before encoding, so a bad row fails with
 * a clear code instead of a library-specific crash halfway through a file.
 */
import { DagctlError } from '../../core/errors.js';
import type { Field, Schema, Value } from '../types.js';

export function int64ToBigint(v: number | bigint, field: string): bigint {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw unsafe(field, v);
    return v;
  }
  if (!Number.isSafeInteger(v)) throw unsafe(field, v);
  return BigInt(v);
}

export function int64ToNumber(v: bigint | number, field: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw unsafe(field, v);
  if (typeof v === 'bigint' && BigInt(n) !== v) throw unsafe(field, v);
  return n;
}

function unsafe(field: string, v: number | bigint): DagctlError {
  return new DagctlError('PARQUET_INVALID', `column ${field}: ${String(v)} is not a safe integer`, { field, value: String(v) });
}

/** Throws PARQUET_INVALID when `v` does not fit `f` (type, nullability). */
export function checkValue(f: Field, v: Value | undefined): void {
  if (v === null || v === undefined) {
    if (f.nullable === true) return;
    throw new DagctlError('PARQUET_INVALID', `column ${f.name} is not nullable`, { field: f.name });
  }
  let ok: boolean;
  switch (f.type) {
    case 'string':
      ok = typeof v === 'string';
      break;
    case 'int64':
      ok = (typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint';
      break;
    case 'int32':
      ok = typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
      break;
    case 'double':
      ok = typeof v === 'number';
      break;
    case 'boolean':
      ok = typeof v === 'boolean';
      break;
    case 'bytes':
      ok = v instanceof Uint8Array;
      break;
  }
  if (!ok) {
    throw new DagctlError('PARQUET_INVALID', `column ${f.name}: value does not fit type ${f.type}`, { field: f.name, type: f.type, value: String(v) });
  }
}

/** Throws PARQUET_INVALID for an empty schema or duplicate column names. */
export function checkSchema(schema: Schema): void {
  if (schema.length === 0) throw new DagctlError('PARQUET_INVALID', 'schema has no columns');
  const seen = new Set<string>();
  for (const f of schema) {
    if (f.name === '' || seen.has(f.name)) throw new DagctlError('PARQUET_INVALID', `bad or duplicate column name "${f.name}"`, { field: f.name });
    seen.add(f.name);
  }
}

/** A view of bytes as a plain Uint8Array (not a Buffer subclass), so rows compare equal across codecs. */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** An ArrayBuffer holding exactly `bytes` (no copy when bytes spans its whole buffer). */
export function exactArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const buf = bytes.buffer;
  if (buf instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buf.byteLength) return buf;
  return bytes.slice().buffer;
}

export type Compression = 'SNAPPY' | 'UNCOMPRESSED';
