/**
 * The `hyparquet` codec: hyparquet-writer encodes, hyparquet decodes. Pure JS, no native code.
 *
 * Encoding is column-oriented: rows are transposed into one typed array per column (BigInt64Array,
 * Int32Array, Float64Array for non-nullable numeric columns; plain arrays with nulls otherwise).
 * Row groups hold ROW_GROUP_ROWS rows, which bounds decode memory: `decode` reads one row group at a
 * time (rowStart/rowEnd over the footer's row groups) and yields it in batches of `batchSize`.
 * BYTE_ARRAY columns without a UTF8/STRING annotation decode as Uint8Array (utf8: false).
 */
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import type { ColumnSource } from 'hyparquet-writer';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DagctlError, isDagctlError } from '../../core/errors.js';
import type { Field, ParquetCodec, Row, Schema, Value } from '../types.js';
import { schemaFromElements } from './schema-map.js';
import { checkSchema, checkValue, type Compression, exactArrayBuffer, int64ToBigint, int64ToNumber } from './values.js';

export const ROW_GROUP_ROWS = 65_536;
const DEFAULT_BATCH = 8_192;

export function createHyparquetCodec(opts: { compression?: Compression; name?: string; statistics?: boolean } = {}): ParquetCodec {
  const compression = opts.compression ?? 'SNAPPY';
  const statistics = opts.statistics ?? true;
  return {
    name: opts.name ?? 'hyparquet',
    async encode(schema, rows) {
      checkSchema(schema);
      const columnData = schema.map((f) => column(f, rows));
      try {
        const ab = parquetWriteBuffer({ columnData, codec: compression, rowGroupSize: ROW_GROUP_ROWS, statistics });
        return new Uint8Array(ab);
      } catch (e) {
        throw new DagctlError('PARQUET_INVALID', `hyparquet-writer failed: ${String(e)}`, {}, { cause: e });
      }
    },
    decode(bytes, o = {}) {
      return decodeRows(bytes, o.columns, o.batchSize ?? DEFAULT_BATCH);
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
        const data = new BigInt64Array(n);
        for (let i = 0; i < n; i++) data[i] = int64ToBigint(get(i) as number | bigint, f.name);
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
    default:
      break;
  }
  const data: Value[] = new Array<Value>(n);
  for (let i = 0; i < n; i++) data[i] = get(i);
  const type = f.type === 'string' ? 'STRING' : f.type === 'bytes' ? 'BYTE_ARRAY' : f.type === 'boolean' ? 'BOOLEAN' : f.type === 'int32' ? 'INT32' : 'DOUBLE';
  return { name: f.name, data, type, nullable };
}

function metadataOf(bytes: Uint8Array): ReturnType<typeof parquetMetadata> {
  try {
    return parquetMetadata(exactArrayBuffer(bytes));
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `not a readable parquet file: ${String(e)}`, {}, { cause: e });
  }
}

async function* decodeRows(bytes: Uint8Array, columns: string[] | undefined, batchSize: number): AsyncIterable<Row[]> {
  const file = exactArrayBuffer(bytes);
  const metadata = metadataOf(bytes);
  const schema: Schema = schemaFromElements(metadata.schema);
  const wanted = columns ?? schema.map((f) => f.name);
  for (const c of wanted) {
    if (!schema.some((f) => f.name === c)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `no column ${c} in parquet file`, { column: c });
  }
  const int64 = schema.filter((f) => f.type === 'int64' && wanted.includes(f.name)).map((f) => f.name);
  let start = 0;
  for (const rg of metadata.row_groups) {
    const end = start + Number(rg.num_rows);
    let rows: Row[];
    try {
      rows = (await parquetReadObjects({ file, metadata, columns: wanted, rowStart: start, rowEnd: end, utf8: false })) as Row[];
    } catch (e) {
      if (isDagctlError(e)) throw e;
      throw new DagctlError('PARQUET_INVALID', `hyparquet failed to decode: ${String(e)}`, {}, { cause: e });
    }
    start = end;
    if (int64.length > 0) {
      for (const r of rows) for (const c of int64) {
        const v = r[c];
        if (v !== null && v !== undefined) r[c] = int64ToNumber(v as bigint, c);
      }
    }
    for (let i = 0; i < rows.length; i += batchSize) yield rows.slice(i, i + batchSize);
  }
}
