/**
 * The hyparquet-read codecs: hyparquet decodes; hyparquet-writer (`hyparquet*` codecs) or dagctl's
 * flat writer (`flat*` codecs, storage/parquet/flat, the default) encodes. Pure JS, no native code.
 *
 * For hyparquet-writer, rows are transposed into one typed array per column (BigInt64Array,
 * Int32Array, Float64Array for non-nullable numeric columns; plain arrays with nulls otherwise).
 * Row groups hold ROW_GROUP_ROWS rows, which bounds decode memory: `decode` reads one row group at a
 * time (rowStart/rowEnd over the footer's row groups), column by column (whole int64 columns
 * converted to numbers at once), and builds rows per batch of `batchSize` (storage/row-builder.ts).
 * BYTE_ARRAY columns without a UTF8/STRING annotation decode as Uint8Array (utf8: false); string
 * columns decode strictly (utf8.ts: PARQUET_INVALID_UTF8 naming column and row, or `invalidUtf8:
 * 'mark'`).
 */
import { isUtf8 } from 'node:buffer';
import { parquetMetadata, parquetRead } from 'hyparquet';
import type { ColumnSource } from 'hyparquet-writer';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DagctlError, isDagctlError } from '../../core/errors.js';
import type { ColumnBatch, Field, ParquetCodec, Row, Schema, Value } from '../types.js';
import { writeFlatColumns, writeFlatParquet } from './flat/file.js';
import { schemaFromElements } from './schema-map.js';
import { snappyDecompressWasm } from './page-kernel.js';
import { type ColumnData, RowBuilder } from '../row-builder.js';
import { checkSchema, checkValue, type Compression, exactArrayBuffer, int64ToBigint } from './values.js';
import { decodeUtf8, decodeUtf8Lossy, InvalidUtf8, invalidUtf8Error, markInvalid, type InvalidUtf8Policy } from './utf8.js';

export const ROW_GROUP_ROWS = 65_536;
const DEFAULT_BATCH = 8_192;
/** Pages through the WebAssembly kernel instead of hyparquet's byte-at-a-time decoder (~3× faster). */
const SNAPPY = { SNAPPY: snappyDecompressWasm };

/**
 * `writer`: 'flat' (storage/parquet/flat, dagctl's own writer for flat schemas; always writes
 * statistics, `statistics` is ignored) or 'hyparquet-writer' (the library, the default here; the
 * `hyparquet*` codecs). Both read with hyparquet.
 */
export function createHyparquetCodec(opts: { compression?: Compression; name?: string; statistics?: boolean; writer?: 'flat' | 'hyparquet-writer' } = {}): ParquetCodec {
  const compression = opts.compression ?? 'SNAPPY';
  const statistics = opts.statistics ?? true;
  const flat = opts.writer === 'flat';
  return {
    name: opts.name ?? 'hyparquet',
    async encode(schema, rows) {
      checkSchema(schema);
      if (flat) return writeFlatParquet(schema, rows, { compression, rowGroupRows: ROW_GROUP_ROWS });
      const columnData = schema.map((f) => column(f, rows));
      try {
        const ab = parquetWriteBuffer({ columnData, codec: compression, rowGroupSize: ROW_GROUP_ROWS, statistics });
        return new Uint8Array(ab);
      } catch (e) {
        throw new DagctlError('PARQUET_INVALID', `hyparquet-writer failed: ${String(e)}`, {}, { cause: e });
      }
    },
    ...(flat
      ? {
          async encodeColumns(schema: Schema, batch: ColumnBatch): Promise<Uint8Array> {
            checkSchema(schema);
            return writeFlatColumns(schema, batch, { compression, rowGroupRows: ROW_GROUP_ROWS });
          },
        }
      : {}),
    decode(bytes, o = {}) {
      return decodeRows(bytes, o.columns, o.batchSize ?? DEFAULT_BATCH, o.invalidUtf8 ?? 'error');
    },
    async readSchema(bytes) {
      return schemaFromElements(metadataOf(bytes).schema);
    },
    async rowCount(bytes) {
      return Number(metadataOf(bytes).num_rows);
    },
  };
}

function column(f: Field, rows: Row[]): ColumnSource {
  const n = rows.length;
  const nullable = f.nullable === true;
  const get = (i: number): Value => {
    const v = rows[i]?.[f.name];
    checkValue(f, v);
    return v ?? null;
  };
  switch (f.type) {
    case 'int64': {
      if (!nullable) {
        // Safe-integer numbers are stored as their two 32-bit halves through an Int32Array view
        // (two's complement: lo = v mod 2^32, hi = floor(v / 2^32)) — no BigInt per value.
        const data = new BigInt64Array(n);
        const words = new Int32Array(data.buffer);
        for (let i = 0; i < n; i++) {
          const v = rows[i]?.[f.name];
          if (typeof v === 'number' && Number.isSafeInteger(v)) {
            words[2 * i] = v | 0;
            words[2 * i + 1] = Math.floor(v / 4294967296);
          } else {
            checkValue(f, v);
            data[i] = int64ToBigint(v as number | bigint, f.name);
          }
        }
        return { name: f.name, data, type: 'INT64', nullable };
      }
      const data: (bigint | null)[] = new Array<bigint | null>(n);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        data[i] = v === null ? null : int64ToBigint(v as number | bigint, f.name);
      }
      return { name: f.name, data, type: 'INT64', nullable };
    }
    case 'int32':
    case 'double': {
      if (!nullable) {
        const data = f.type === 'int32' ? new Int32Array(n) : new Float64Array(n);
        for (let i = 0; i < n; i++) data[i] = get(i) as number;
        return { name: f.name, data, type: f.type === 'int32' ? 'INT32' : 'DOUBLE', nullable };
      }
      break;
    }
    case 'string': {
      // Strings go in as UTF-8 views of one buffer: hyparquet-writer would otherwise run a new
      // TextEncoder per value (an allocation and a native call each: ~15% of the encode time, plus
      // garbage). Views of one buffer write the same bytes (statistics compare bytes in UTF-8 order,
      // which is the order it uses for strings).
      const strs = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i]?.[f.name];
        if (typeof v === 'string') strs[i] = v;
        else {
          checkValue(f, v); // throws unless a null in a nullable column
          strs[i] = null;
        }
      }
      // Repetitive columns (URLs) stay strings: hyparquet-writer dictionary-encodes them, keyed by the
      // string itself (cached hashes), and encodes only the distinct values.
      return { name: f.name, data: repetitive(strs) ? strs : utf8Views(strs), type: 'STRING', nullable };
    }
    default:
      break;
  }
  const data: Value[] = new Array<Value>(n);
  for (let i = 0; i < n; i++) data[i] = get(i);
  const type = f.type === 'bytes' ? 'BYTE_ARRAY' : f.type === 'boolean' ? 'BOOLEAN' : f.type === 'int32' ? 'INT32' : 'DOUBLE';
  return { name: f.name, data, type, nullable };
}

/** Whether a sample of the values (256, spread over the column) holds under half distinct values. */
function repetitive(strs: Array<string | null>): boolean {
  const n = strs.length, k = Math.min(n, 256);
  if (k === 0) return false;
  const seen = new Set<string | null>();
  for (let i = 0; i < k; i++) seen.add(strs[Math.floor((i * n) / k)]!);
  return seen.size * 2 < k;
}

/**
 * UTF-8 bytes of each string, as subarrays of one buffer encoded at once. When the encoded length
 * equals the joined string's length every value is ASCII, so each value's byte length is its
 * length; otherwise (any non-ASCII value) values are encoded one by one — that also keeps a lone
 * surrogate from pairing up with its neighbour in the joined string.
 */
function utf8Views(strs: Array<string | null>): Array<Uint8Array | null> {
  const n = strs.length;
  let total = 0;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = strs[i];
    if (s === null || s === undefined) continue;
    total += s.length;
    parts.push(s);
  }
  let buf = Buffer.from(parts.join(''), 'utf8');
  if (buf.byteLength !== total) {
    // Some value is not ASCII: each value is encoded on its own (Buffer.write: a lone surrogate
    // becomes U+FFFD, as TextEncoder does) into one buffer of at most 3 bytes per UTF-16 unit.
    buf = Buffer.allocUnsafe(total * 3);
    const out = new Array<Uint8Array | null>(n);
    const plain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const s = strs[i];
      if (s === null || s === undefined) {
        out[i] = null;
        continue;
      }
      const len = buf.write(s, off, 'utf8');
      out[i] = plain.subarray(off, off + len);
      off += len;
    }
    return out;
  }
  const plain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Array<Uint8Array | null>(n);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const s = strs[i];
    if (s === null || s === undefined) {
      out[i] = null;
      continue;
    }
    out[i] = plain.subarray(off, off + s.length);
    off += s.length;
  }
  return out;
}

function metadataOf(bytes: Uint8Array): ReturnType<typeof parquetMetadata> {
  try {
    return parquetMetadata(exactArrayBuffer(bytes));
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `not a readable parquet file: ${String(e)}`, {}, { cause: e });
  }
}

async function* decodeRows(bytes: Uint8Array, columns: string[] | undefined, batchSize: number, invalidUtf8: InvalidUtf8Policy): AsyncIterable<Row[]> {
  const file = exactArrayBuffer(bytes);
  const metadata = metadataOf(bytes);
  const schema: Schema = schemaFromElements(metadata.schema);
  const wanted = columns ?? schema.map((f) => f.name);
  const fields = wanted.map((c) => {
    const f = schema.find((x) => x.name === c);
    if (f === undefined) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `no column ${c} in parquet file`, { column: c });
    return f;
  });
  let start = 0;
  for (const [rgi, rg] of metadata.row_groups.entries()) {
    const n = Number(rg.num_rows);
    const end = start + n;
    // Columnar: collect each column's decoded chunks (onChunk), convert whole columns, then build
    // rows with one generated literal per schema — instead of hyparquet's row objects (a keyed
    // store per value) followed by a per-row int64 BigInt → number pass.
    const chunks = new Map<string, Array<{ rowStart: number; data: ArrayLike<unknown> }>>();
    // Strings are decoded strictly (utf8.ts): a value that is not UTF-8 fails the decode, or with
    // 'mark' is kept lossy and its row marked, once its position is known (invalidCells).
    let sawInvalid = false;
    const stringFromBytes = invalidUtf8 === 'error'
      ? (b: Uint8Array | undefined): string | undefined => b && decodeUtf8(b)
      : (b: Uint8Array | undefined): string | undefined => {
          if (b === undefined) return b;
          try {
            return decodeUtf8(b);
          } catch {
            sawInvalid = true;
            return decodeUtf8Lossy(b);
          }
        };
    try {
      await parquetRead({
        file, metadata, columns: wanted, rowStart: start, rowEnd: end, utf8: false, compressors: SNAPPY, parsers: { stringFromBytes },
        onChunk: (c) => {
          let list = chunks.get(c.columnName);
          if (list === undefined) chunks.set(c.columnName, (list = []));
          list.push({ rowStart: c.rowStart, data: c.columnData as ArrayLike<unknown> });
        },
      });
    } catch (e) {
      if (e instanceof InvalidUtf8) {
        const bad = (await invalidCells(file, metadata, fields, start, end))[0];
        if (bad !== undefined) throw invalidUtf8Error(bad.column, bad.row, rgi, bad.bytes);
      }
      if (isDagctlError(e)) throw e;
      throw new DagctlError('PARQUET_INVALID', `hyparquet failed to decode: ${String(e)}`, {}, { cause: e });
    }
    const cols: ColumnData[] = fields.map((f) => ({ kind: 'values', values: columnValues(f, chunks.get(f.name) ?? [], start, n) }));
    const b = new RowBuilder(wanted, cols);
    const marks = sawInvalid ? await invalidCells(file, metadata, fields, start, end) : [];
    const first = start;
    start = end;
    for (let i = 0; i < n; i += batchSize) {
      const rows = b.rows(i, Math.min(n, i + batchSize));
      for (const m of marks) if (m.row - first >= i && m.row - first < i + rows.length) markInvalid(rows[m.row - first - i]!, m.column);
      yield rows;
    }
  }
}

/**
 * The string values of rows [start, end) that are not UTF-8, in row order: the row group read
 * again with the strings left as bytes (only when a decode met one, so never on the hot path).
 */
async function invalidCells(file: ArrayBuffer, metadata: ReturnType<typeof parquetMetadata>, fields: Field[], start: number, end: number): Promise<Array<{ column: string; row: number; bytes: Uint8Array }>> {
  const strings = fields.filter((f) => f.type === 'string').map((f) => f.name);
  const out: Array<{ column: string; row: number; bytes: Uint8Array }> = [];
  if (strings.length === 0) return out;
  await parquetRead({
    file, metadata, columns: strings, rowStart: start, rowEnd: end, utf8: false, compressors: SNAPPY, parsers: { stringFromBytes: (b: Uint8Array | undefined) => b },
    onChunk: (c) => {
      const data = c.columnData as ArrayLike<unknown>;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        const row = c.rowStart + i;
        if (v instanceof Uint8Array && row >= start && row < end && !isUtf8(v)) out.push({ column: c.columnName, row, bytes: v });
      }
    },
  });
  return out.sort((a, b) => a.row - b.row || strings.indexOf(a.column) - strings.indexOf(b.column));
}

/** One row group's values of field `f` (n rows from `start`), int64 as numbers, nulls as null. */
function columnValues(f: Field, chunks: Array<{ rowStart: number; data: ArrayLike<unknown> }>, start: number, n: number): ArrayLike<Value> {
  const only = chunks.length === 1 ? chunks[0]! : undefined;
  if (f.type === 'int64') {
    const src = only !== undefined && only.rowStart === start && only.data.length === n ? only.data : gather(chunks, start, n);
    let out: Float64Array | Value[] = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = src[i];
      if (v === null || v === undefined) {
        if (out instanceof Float64Array) out = Array.from(out, (x, j) => (j < i ? x : null));
        out[i] = null;
        continue;
      }
      const x = Number(v);
      if (!Number.isSafeInteger(x)) throw new DagctlError('PARQUET_INVALID', `column ${f.name}: ${String(v)} is not a safe integer`, { field: f.name, value: String(v) });
      out[i] = x;
    }
    return out;
  }
  if (only !== undefined && only.rowStart === start && only.data.length === n && (ArrayBuffer.isView(only.data) || f.nullable !== true)) return only.data as ArrayLike<Value>;
  const src = gather(chunks, start, n);
  const out = new Array<Value>(n);
  for (let i = 0; i < n; i++) out[i] = (src[i] as Value | undefined) ?? null;
  return out;
}

/** Concatenates decoded chunks into one array of n values (absent rows: undefined). */
function gather(chunks: Array<{ rowStart: number; data: ArrayLike<unknown> }>, start: number, n: number): ArrayLike<unknown> {
  const out = new Array<unknown>(n);
  for (const c of chunks) {
    const off = c.rowStart - start;
    for (let i = 0; i < c.data.length; i++) if (off + i >= 0 && off + i < n) out[off + i] = c.data[i];
  }
  return out;
}
