/**
 * Strict UTF-8 for the Parquet readers' string columns: bytes that are not UTF-8 are never turned
 * into U+FFFD silently. A decode (ParquetCodec.decode `invalidUtf8`) either
 *   - 'error' (the default): fails with PARQUET_INVALID_UTF8 naming the column, the row (from the
 *     file's first row), the row group and the bytes (hex); storage/dataset/read.ts adds the file;
 *   - 'mark': keeps the row, its value decoded with U+FFFD in place of the bad bytes, and marks the
 *     row with a non-enumerable `INVALID_UTF8` property listing such columns (invalidUtf8Columns),
 *     for an operator that rejects rows with a reason (normalize). Spreading a row drops the mark.
 *
 *   decodeUtf8(bytes)                 → string; throws InvalidUtf8 (no position: the caller locates it)
 *   decodeUtf8Lossy(bytes)            → string with U+FFFD (what 'mark' keeps)
 *   pageUtf8(page)                    → whether a raw page's values are all UTF-8 (raw readers
 *                                        fall back to the row decoder when not)
 *   markInvalid(row, column)          — adds `column` to the row's mark
 *   invalidUtf8Columns(row)           → the marked columns, or undefined
 *   invalidUtf8Error(column, row, rowGroup, bytes) → the PARQUET_INVALID_UTF8 error
 *   withUtf8File(e, file)             → e, or for a PARQUET_INVALID_UTF8 without a file, a copy
 *                                        naming `file` (for a raw reader that knows the file)
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { DagctlError, isDagctlError } from '../../core/errors.js';
import type { Row } from '../types.js';
import type { ByteArrayPage } from './page-types.js';

export type InvalidUtf8Policy = 'error' | 'mark';

/** The row property (a symbol, not enumerable) naming a marked row's columns that were not UTF-8. */
export const INVALID_UTF8: unique symbol = Symbol('dagctl.invalidUtf8');

// ignoreBOM: a value's leading U+FEFF is part of the value (test/contracts/text-faithful.test.ts).
const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LOSSY = new TextDecoder('utf-8', { ignoreBOM: true });

/** Thrown by decodeUtf8 inside a decoder that does not know the position yet. */
export class InvalidUtf8 extends Error {
  constructor() {
    super('invalid UTF-8');
  }
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return FATAL.decode(bytes);
  } catch {
    throw new InvalidUtf8();
  }
}

/**
 * Whether every value of a raw BYTE_ARRAY page (string-column.ts) is UTF-8. An all-ASCII buffer
 * (one simdutf pass) holds only ASCII values. Otherwise, when the whole buffer is UTF-8, a value is
 * UTF-8 exactly when it starts and ends on a character boundary (its first byte and the byte after
 * it are not continuation bytes): the whole buffer alone is not enough, since a value ending in a
 * truncated sequence can be completed by the next value's length prefix (0xC3, then a length of
 * 133: 0x85). When the buffer is not UTF-8 (a PLAIN length prefix ≥ 128 is not), value by value.
 */
export function pageUtf8(p: ByteArrayPage): boolean {
  const d = p.data, n = d.length, { start, len, count } = p;
  if (isAscii(d)) return true;
  if (!isUtf8(d)) {
    for (let i = 0; i < count; i++) if (!isUtf8(d.subarray(start[i], start[i]! + len[i]!))) return false;
    return true;
  }
  for (let i = 0; i < count; i++) {
    const s = start[i]!, e = s + len[i]!;
    // (No read past the end: an out-of-bounds typed-array read makes this loop several times slower.)
    if (s < e && ((d[s]! & 0xc0) === 0x80 || (e < n && (d[e]! & 0xc0) === 0x80))) return false;
  }
  return true;
}

export function decodeUtf8Lossy(bytes: Uint8Array): string {
  return LOSSY.decode(bytes);
}

export function markInvalid(row: Row, column: string): void {
  const r = row as Row & { [INVALID_UTF8]?: string[] };
  const cols = r[INVALID_UTF8];
  if (cols === undefined) Object.defineProperty(r, INVALID_UTF8, { value: [column], enumerable: false, writable: true, configurable: true });
  else if (!cols.includes(column)) cols.push(column);
}

export function invalidUtf8Columns(row: Row): readonly string[] | undefined {
  return (row as Row & { [INVALID_UTF8]?: string[] })[INVALID_UTF8];
}

export function invalidUtf8Error(column: string, row: number, rowGroup: number, bytes: Uint8Array): DagctlError {
  const hex = Buffer.from(bytes.subarray(0, 48)).toString('hex');
  return new DagctlError(
    'PARQUET_INVALID_UTF8',
    `string column "${column}", row ${row} (row group ${rowGroup}): the value is not UTF-8 (bytes ${hex}${bytes.length > 48 ? '…' : ''}); fix or re-encode the file's text, or remove the file`,
    { column, row, rowGroup, bytes: hex },
  );
}

export function withUtf8File(e: unknown, file: string): unknown {
  if (!isDagctlError(e, 'PARQUET_INVALID_UTF8') || e.details.file !== undefined) return e;
  return new DagctlError('PARQUET_INVALID_UTF8', `${file}: ${e.message}`, { ...e.details, file }, { cause: e });
}
