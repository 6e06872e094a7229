/**
 * One column chunk of the flat writer from column-at-a-time input (storage/types.ts ColumnValues):
 * the same data page payload and statistics as flat/column.ts writes for the same values given as
 * rows — PLAIN strings (their UTF-8 bytes copied as they are, length-prefixed) and PLAIN int64 —
 * so a file written from columns is byte-identical to one written from the rows they hold (tested).
 * Strings are never dictionary-encoded here: callers pass ids (near-unique values), for which
 * column.ts gives its dictionary up too; a column whose rows would have been dictionary-encoded
 * comes out PLAIN — the same values, a different encoding.
 *
 * Preconditions: a REQUIRED field (nullable fields are PARQUET_INVALID); values[start..end) of
 * the field's type (string: byte ranges inside `data`; int64: safe integers, else PARQUET_INVALID);
 * a little-endian host (flat/file.ts checks).
 * Statistics of strings: UTF-8 byte order, which is what column.ts writes too (it compares JS
 * strings only when no value holds a char ≥ U+D800, where JS order equals byte order).
 */
import { DagctlError } from '../../../core/errors.js';
import type { ColumnValues, Field } from '../../types.js';
import { ENC_PLAIN, setInt64Stats, type EncodedColumn } from './column.js';
import type { ByteSink } from './sink.js';

const invalid = (f: Field, why: string): DagctlError => new DagctlError('PARQUET_INVALID', `column ${f.name}: ${why}`, { column: f.name });

/** Encodes values[start..end) of column `c` (field f) into `page`. */
export function encodeColumnValues(f: Field, c: ColumnValues, start: number, end: number, page: ByteSink): EncodedColumn {
  if (f.nullable === true) throw invalid(f, 'column input takes REQUIRED fields only');
  if (f.type !== c.type) throw invalid(f, `is ${f.type}, given ${c.type} values`);
  const col: EncodedColumn = { dictCount: 0, encoding: ENC_PLAIN, nulls: 0 };
  return c.type === 'string' ? strings(c, start, end, page, col) : int64s(f, c.values, start, end, page, col);
}

function strings(c: { data: Uint8Array; start: Int32Array; len: Int32Array }, from: number, to: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const { data, start, len } = c;
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += 4 + len[i]!;
  page.ensure(bytes);
  const buf = page.buf;
  let at = page.pos, lo = -1, hi = -1;
  for (let i = from; i < to; i++) {
    const s = start[i]!, n = len[i]!;
    buf[at] = n & 0xff;
    buf[at + 1] = (n >>> 8) & 0xff;
    buf[at + 2] = (n >>> 16) & 0xff;
    buf[at + 3] = n >>> 24;
    // Ids are short: a loop beats a native copy call per value.
    if (n <= 32) for (let k = 0; k < n; k++) buf[at + 4 + k] = data[s + k]!;
    else buf.set(data.subarray(s, s + n), at + 4);
    at += 4 + n;
    if (lo < 0) lo = hi = i;
    else if (compareBytes(data, s, n, data, start[lo]!, len[lo]!) < 0) lo = i;
    else if (compareBytes(data, s, n, data, start[hi]!, len[hi]!) > 0) hi = i;
  }
  page.pos = at;
  if (lo >= 0) {
    col.min = data.slice(start[lo], start[lo]! + len[lo]!);
    col.max = data.slice(start[hi], start[hi]! + len[hi]!);
  }
  return col;
}

/** Unsigned byte order of a[as, as + al) and b[bs, bs + bl): negative, 0 or positive. */
export function compareBytes(a: Uint8Array, as: number, al: number, b: Uint8Array, bs: number, bl: number): number {
  const n = al < bl ? al : bl;
  for (let k = 0; k < n; k++) {
    const d = a[as + k]! - b[bs + k]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

function int64s(f: Field, values: Float64Array, from: number, to: number, page: ByteSink, col: EncodedColumn): EncodedColumn {
  const count = to - from;
  const data = new BigInt64Array(count);
  const words = new Int32Array(data.buffer);
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = values[from + i]!;
    if (!Number.isSafeInteger(x)) throw invalid(f, `value ${x} at row ${from + i} is not a safe integer`);
    words[2 * i] = x | 0;
    words[2 * i + 1] = Math.floor(x / 4294967296);
    if (x < min) min = x;
    if (x > max) max = x;
  }
  page.bytes(new Uint8Array(data.buffer));
  if (count > 0) setInt64Stats(col, min, max);
  return col;
}
