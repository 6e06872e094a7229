/**
 * The `parquetjs-lite` codec: row-oriented writer and reader from the parquetjs family.
 *
 * Role in dagctl: the compatibility writer. It is never the default (slower than hyparquet, see
 * docs/storage.md); selected with DAGCTL_PARQUET_CODEC=parquetjs-lite it writes conservative
 * files (format version 1, PLAIN encoding, v1 data pages) that old readers accept. It reads back
 * only files written by parquet.js: on other writers' files it can return wrong values silently,
 * so it refuses them with PARQUET_INVALID and readers fall back to hyparquet
 * (storage/parquet/registry.ts). Decoding reads one row group at a time (cursor.nextRowGroup). INT64 arrives as bigint and is converted to number; BYTE_ARRAY arrives as Buffer
 * and is returned as a plain Uint8Array. String columns are read as bytes (their UTF8 annotation is
 * dropped from the reader's schema, so parquetjs does not decode them lossily) and decoded strictly
 * like the other readers' (utf8.ts: PARQUET_INVALID_UTF8, or `invalidUtf8: 'mark'`).
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type * as Parquetjs from 'parquetjs-lite';
import type { ParquetFieldOptions } from 'parquetjs-lite';
import { DagctlError, isDagctlError } from '../../core/errors.js';
import type { ColumnType, Field, ParquetCodec, Row, Schema, Value } from '../types.js';
import { checkSchema, checkValue, type Compression, int64ToBigint, int64ToNumber } from './values.js';
import { decodeUtf8, decodeUtf8Lossy, InvalidUtf8, invalidUtf8Error, markInvalid, type InvalidUtf8Policy } from './utf8.js';

// parquetjs-lite is CommonJS whose exports Node's ESM loader cannot name statically: require it,
// on first use (it is not the default codec; loading it costs every CLI command start-up time).
let loaded: typeof Parquetjs | null = null;
const lib = (): typeof Parquetjs => (loaded ??= createRequire(import.meta.url)('parquetjs-lite') as typeof Parquetjs);
const ROW_GROUP_ROWS = 65_536;
const DEFAULT_BATCH = 8_192;

const TO_PARQUETJS: Record<ColumnType, string> = {
  string: 'UTF8',
  int64: 'INT64',
  int32: 'INT32',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  bytes: 'BYTE_ARRAY',
};

export function createParquetjsCodec(opts: { compression?: Compression } = {}): ParquetCodec {
  const compression = opts.compression ?? 'SNAPPY';
  return {
    name: 'parquetjs-lite',
    async encode(schema, rows) {
      checkSchema(schema);
      const fields: Record<string, ParquetFieldOptions> = {};
      for (const f of schema) fields[f.name] = { type: TO_PARQUETJS[f.type], optional: f.nullable === true, compression };
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
      try {
        const { ParquetSchema, ParquetWriter } = lib();
        const writer = await ParquetWriter.openStream(new ParquetSchema(fields), sink, { rowGroupSize: ROW_GROUP_ROWS });
        for (const r of rows) await writer.appendRow(toParquetjsRow(schema, r));
        await writer.close();
      } catch (e) {
        if (isDagctlError(e)) throw e;
        throw new DagctlError('PARQUET_INVALID', `parquetjs-lite failed to encode: ${String(e)}`, {}, { cause: e });
      }
      return new Uint8Array(Buffer.concat(chunks));
    },
    decode(bytes, o = {}) {
      return decodeRows(bytes, o.columns, o.batchSize ?? DEFAULT_BATCH, o.invalidUtf8 ?? 'error');
    },
    async readSchema(bytes) {
      const reader = await open(bytes);
      try {
        return schemaOf(reader.getSchema().fields);
      } finally {
        await reader.close();
      }
    },
    async rowCount(bytes) {
      const reader = await open(bytes);
      try {
        const n = reader.getRowCount();
        return typeof n === 'object' ? n.toNumber() : Number(n);
      } finally {
        await reader.close();
      }
    },
  };
}

function toParquetjsRow(schema: Schema, r: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema) {
    const v = r[f.name];
    checkValue(f, v);
    if (v === null || v === undefined) continue; // parquetjs: an absent key is a null
    if (f.type === 'int64') out[f.name] = int64ToBigint(v as number | bigint, f.name);
    else if (v instanceof Uint8Array) out[f.name] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    else out[f.name] = v;
  }
  return out;
}

async function open(bytes: Uint8Array): Promise<InstanceType<typeof Parquetjs.ParquetReader>> {
  try {
    // parquetjs-lite rejects files whose footer says format version 2 (hyparquet-writer, DuckDB,
    // Arrow), although it decodes their v1 data pages fine: open the envelope ourselves and
    // present the footer as version 1. Unsupported encodings still fail loudly when decoding.
    const envelope = await lib().ParquetEnvelopeReader.openBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    await envelope.readHeader();
    const metadata = await envelope.readFooter();
    // Measured (test/storage/parquet.test.ts): parquetjs-lite silently misdecodes some files of
    // other writers (RLE booleans from hyparquet-writer, INT32 dictionaries from DuckDB). Wrong
    // rows are worse than an error, so it only reads files parquet.js wrote; registry.ts falls
    // back to hyparquet for the rest.
    if (!String(metadata.created_by ?? '').startsWith('parquet.js')) {
      await envelope.close();
      throw new DagctlError('PARQUET_INVALID', `parquetjs-lite only reads files written by parquet.js (this one: ${String(metadata.created_by)})`, { createdBy: metadata.created_by });
    }
    metadata.version = 1;
    return new (lib().ParquetReader)(metadata, envelope);
  } catch (e) {
    if (isDagctlError(e)) throw e;
    throw new DagctlError('PARQUET_INVALID', `parquetjs-lite cannot open file: ${String(e)}`, {}, { cause: e });
  }
}

function schemaOf(fields: Record<string, { name: string; primitiveType?: string; originalType?: string; repetitionType: string; isNested?: boolean }>): Schema {
  return Object.values(fields).map((f): Field => {
    if (f.isNested === true || f.repetitionType === 'REPEATED') throw new DagctlError('PARQUET_INVALID', `column ${f.name}: nested columns are not supported`);
    const t = f.primitiveType;
    const o = f.originalType;
    let type: ColumnType | undefined;
    if (t === 'BYTE_ARRAY') type = o === 'UTF8' || o === 'JSON' || o === 'ENUM' ? 'string' : o === undefined ? 'bytes' : undefined;
    else if (t === 'INT64' && (o === undefined || o === 'INT_64')) type = 'int64';
    else if (t === 'INT32' && (o === undefined || o === 'INT_32' || o === 'INT_16' || o === 'INT_8')) type = 'int32';
    else if (t === 'DOUBLE' || t === 'FLOAT') type = 'double';
    else if (t === 'BOOLEAN') type = 'boolean';
    if (type === undefined) throw new DagctlError('PARQUET_INVALID', `column ${f.name}: unsupported type ${String(t)}/${String(o)}`);
    return { name: f.name, type, nullable: f.repetitionType !== 'REQUIRED' };
  });
}

async function* decodeRows(bytes: Uint8Array, columns: string[] | undefined, batchSize: number, invalidUtf8: InvalidUtf8Policy): AsyncIterable<Row[]> {
  const reader = await open(bytes);
  try {
    const fields = reader.getSchema().fields;
    const schema = schemaOf(fields);
    // parquetjs converts a UTF8 (or JSON/ENUM) column's bytes with Buffer#toString (JSON.parse for
    // JSON) before we see them, turning bytes that are not UTF-8 into U+FFFD silently. Without the
    // annotation it hands back the bytes, which fromParquetjsRow decodes strictly (utf8.ts). The
    // schema object is this reader's own (built from the footer when opening).
    for (const f of schema) {
      const pf = fields[f.name];
      if (f.type === 'string' && pf !== undefined) delete pf.originalType;
    }
    const wanted = schema.filter((f) => columns === undefined || columns.includes(f.name));
    for (const c of columns ?? []) {
      if (!schema.some((f) => f.name === c)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `no column ${c} in parquet file`, { column: c });
    }
    const cursor = reader.getCursor(wanted.map((f) => f.name));
    let row = 0, rgi = 0;
    for (;;) {
      let group: Record<string, unknown>[] | null;
      try {
        group = await cursor.nextRowGroup();
      } catch (e) {
        throw new DagctlError('PARQUET_INVALID', `parquetjs-lite failed to decode: ${String(e)}`, {}, { cause: e });
      }
      if (group === null) break;
      const rows = group.map((g) => fromParquetjsRow(wanted, g, row++, rgi, invalidUtf8));
      rgi++;
      for (let i = 0; i < rows.length; i += batchSize) yield rows.slice(i, i + batchSize);
    }
  } finally {
    await reader.close();
  }
}

function fromParquetjsRow(fields: Field[], g: Record<string, unknown>, row: number, rowGroup: number, invalidUtf8: InvalidUtf8Policy): Row {
  const out: Row = {};
  let bad: string[] | null = null;
  for (const f of fields) {
    const v = g[f.name];
    let x: Value;
    if (v === undefined || v === null) x = null;
    else if (f.type === 'int64') x = int64ToNumber(v as bigint, f.name);
    else if (v instanceof Uint8Array) {
      if (f.type !== 'string') x = new Uint8Array(v);
      else {
        try {
          x = decodeUtf8(v);
        } catch (e) {
          if (!(e instanceof InvalidUtf8)) throw e;
          if (invalidUtf8 === 'error') throw invalidUtf8Error(f.name, row, rowGroup, v);
          x = decodeUtf8Lossy(v);
          (bad ??= []).push(f.name);
        }
      }
    } else if (f.type === 'string') {
      // Never reached while decodeRows strips the annotation: a string here was decoded lossily.
      throw new DagctlError('PARQUET_INVALID', `parquetjs-lite returned column ${f.name} already decoded (${typeof v}); strict UTF-8 cannot be checked`, { column: f.name });
    } else x = v as Value;
    out[f.name] = x;
  }
  if (bad !== null) for (const c of bad) markInvalid(out, c);
  return out;
}
