/**
 * The flat Parquet writer: dagctl rows of a flat schema (int32, int64, double, boolean, string,
 * bytes; nullable or not) → one Parquet file, built in a single growing buffer.
 *
 * Layout: row groups of `rowGroupRows` rows; per column chunk an optional dictionary page (strings
 * whose sample repeats) and one data page v1 (RLE definition levels when nullable, then PLAIN or
 * RLE_DICTIONARY values), each page Snappy-compressed (the WebAssembly page kernel,
 * page-kernel.ts snappyCompressWasm) or stored as is; chunk
 * statistics (null_count, min_value/max_value) and TypeDefinedOrder column orders in the footer,
 * so DuckDB prunes row groups by them. String columns carry STRING/UTF8 annotations; bytes columns
 * none (read back as BLOB / Uint8Array).
 *
 * writeFlatColumns writes the same file from column-at-a-time input (flat/columns.ts).
 *
 * Preconditions: checkSchema(schema) passed (non-empty, unique names); little-endian host (checked).
 */
import { endianness } from 'node:os';
import { DagctlError } from '../../../core/errors.js';
import type { ColumnBatch, ColumnType, Field, Row, Schema } from '../../types.js';
import { snappyCompressWasm } from '../page-kernel.js';
import type { Compression } from '../values.js';
import { encodeColumn, ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY, type EncodedColumn } from './column.js';
import { encodeColumnValues } from './columns.js';
import { ByteSink } from './sink.js';
import { CompactWriter, T_BINARY, T_I32, T_STRUCT } from './thrift.js';

const PHYSICAL: Record<ColumnType, number> = { boolean: 0, int32: 1, int64: 2, double: 5, string: 6, bytes: 6 };
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const CODEC_UNCOMPRESSED = 0;
const CODEC_SNAPPY = 1;
const MAGIC = Buffer.from('PAR1', 'latin1');
export const CREATED_BY = 'dagctl flat writer 1';

interface ChunkMeta {
  type: number;
  name: string;
  encodings: number[];
  numValues: number;
  uncompressed: number;
  compressed: number;
  dataOffset: number;
  dictOffset?: number;
  nulls: number;
  min?: Uint8Array;
  max?: Uint8Array;
}

interface GroupMeta { columns: ChunkMeta[]; rows: number; offset: number }

// Scratch buffers (page payloads), reused across calls: writeFlatParquet runs to completion
// synchronously, so no two writes share them, and a large write's buffers need not be regrown
// (and collected) by the next. They keep the largest page seen (a few MB at most).
const page = new ByteSink(1 << 16);
const dict = new ByteSink(1 << 12);
// The file itself is a sink of its own per write (the caller keeps and stores it), sized from the
// previous file this thread wrote (an operator's files are alike): one allocation for most files,
// where a sink grown from 64 KiB doubled through every size up to it (~3x the file in dead buffers
// waiting for a mark-compact). Capacity past the file is never touched: not resident.
let lastFileBytes = 1 << 16;

export function writeFlatParquet(schema: Schema, rows: Row[], opts: { compression: Compression; rowGroupRows: number }): Uint8Array {
  return writeFlat(schema, rows.length, (f, start, end) => encodeColumn(f, rows, start, end, page, dict), opts);
}

/** The file writeFlatParquet writes for the rows `batch` holds, byte for byte (flat/columns.ts). */
export function writeFlatColumns(schema: Schema, batch: ColumnBatch, opts: { compression: Compression; rowGroupRows: number }): Uint8Array {
  const cols = schema.map((f) => {
    const c = batch.columns[f.name];
    if (c === undefined) throw new DagctlError('PARQUET_INVALID', `column ${f.name}: missing from the column batch`, { column: f.name });
    const n = c.type === 'string' ? Math.min(c.start.length, c.len.length) : c.values.length;
    if (n < batch.rows) throw new DagctlError('PARQUET_INVALID', `column ${f.name}: ${n} values for ${batch.rows} rows`, { column: f.name });
    return c;
  });
  return writeFlat(schema, batch.rows, (f, start, end, i) => encodeColumnValues(f, cols[i]!, start, end, page, dict), opts);
}

function writeFlat(schema: Schema, rowCount: number, encode: (f: Field, start: number, end: number, index: number) => EncodedColumn, opts: { compression: Compression; rowGroupRows: number }): Uint8Array {
  if (endianness() !== 'LE') throw new DagctlError('PARQUET_INVALID', 'the flat parquet writer needs a little-endian host');
  const snappy = opts.compression === 'SNAPPY';
  const out = new ByteSink(Math.max(1 << 16, lastFileBytes + (lastFileBytes >>> 4)));
  out.bytes(MAGIC);
  const groups: GroupMeta[] = [];
  for (let start = 0; start < rowCount; start += opts.rowGroupRows) {
    const end = Math.min(rowCount, start + opts.rowGroupRows);
    const group: GroupMeta = { columns: [], rows: end - start, offset: out.pos };
    for (const [i, f] of schema.entries()) {
      page.reset();
      dict.reset();
      const enc = encode(f, start, end, i);
      const chunkStart = out.pos;
      let uncompressed = 0;
      let dictOffset: number | undefined;
      if (enc.dictCount > 0) {
        dictOffset = out.pos;
        uncompressed += writePage(out, snappy, dict.view(), PAGE_DICTIONARY, enc.dictCount, ENC_PLAIN);
      }
      const dataOffset = out.pos;
      uncompressed += writePage(out, snappy, page.view(), PAGE_DATA, end - start, enc.encoding);
      const chunk: ChunkMeta = {
        type: PHYSICAL[f.type], name: f.name, numValues: end - start, uncompressed, compressed: out.pos - chunkStart,
        encodings: enc.dictCount > 0 ? [ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY] : [ENC_PLAIN, ENC_RLE], dataOffset, nulls: enc.nulls,
      };
      if (dictOffset !== undefined) chunk.dictOffset = dictOffset;
      if (enc.min !== undefined) chunk.min = enc.min;
      if (enc.max !== undefined) chunk.max = enc.max;
      group.columns.push(chunk);
    }
    groups.push(group);
  }
  const footerStart = out.pos;
  writeFooter(new CompactWriter(out), schema, rowCount, groups, snappy ? CODEC_SNAPPY : CODEC_UNCOMPRESSED);
  out.u32le(out.pos - footerStart);
  out.bytes(MAGIC);
  lastFileBytes = out.pos;
  return new Uint8Array(out.buf.buffer, out.buf.byteOffset, out.pos);
}

/** Writes one page (header + possibly compressed payload); returns its uncompressed size. */
function writePage(out: ByteSink, snappy: boolean, payload: Uint8Array, type: number, numValues: number, encoding: number): number {
  // The compressed body is a view of the kernel's memory: copied into `out` before any other kernel call.
  const body = snappy ? snappyCompressWasm(payload) : payload;
  const headerStart = out.pos;
  const w = new CompactWriter(out);
  w.begin();
  w.i32(1, type);
  w.i32(2, payload.length);
  w.i32(3, body.length);
  if (type === PAGE_DATA) {
    w.struct(5);
    w.i32(1, numValues);
    w.i32(2, encoding);
    w.i32(3, ENC_RLE); // definition levels
    w.i32(4, ENC_RLE); // repetition levels (none: flat schema)
    w.end();
  } else {
    w.struct(7);
    w.i32(1, numValues);
    w.i32(2, ENC_PLAIN);
    w.end();
  }
  w.end();
  const header = out.pos - headerStart;
  out.bytes(body);
  return header + payload.length;
}

function writeFooter(w: CompactWriter, schema: Schema, numRows: number, groups: GroupMeta[], codec: number): void {
  w.begin();
  w.i32(1, 2); // format version
  w.list(2, T_STRUCT, schema.length + 1);
  w.begin();
  w.string(4, 'schema');
  w.i32(5, schema.length);
  w.end();
  for (const f of schema) {
    w.begin();
    w.i32(1, PHYSICAL[f.type]);
    w.i32(3, f.nullable === true ? 1 : 0); // OPTIONAL : REQUIRED
    w.string(4, f.name);
    if (f.type === 'string') {
      w.i32(6, 0); // converted_type UTF8
      w.struct(10); // logicalType: STRING
      w.struct(1);
      w.end();
      w.end();
    }
    w.end();
  }
  w.i64(3, numRows);
  w.list(4, T_STRUCT, groups.length);
  for (const g of groups) {
    w.begin();
    w.list(1, T_STRUCT, g.columns.length);
    let total = 0, compressed = 0;
    for (const c of g.columns) {
      total += c.uncompressed;
      compressed += c.compressed;
      w.begin();
      w.i64(2, c.dictOffset ?? c.dataOffset); // file_offset: the chunk's first page
      w.struct(3);
      w.i32(1, c.type);
      w.list(2, T_I32, c.encodings.length);
      for (const e of c.encodings) w.elemI32(e);
      w.list(3, T_BINARY, 1);
      w.elemString(c.name);
      w.i32(4, codec);
      w.i64(5, c.numValues);
      w.i64(6, c.uncompressed);
      w.i64(7, c.compressed);
      w.i64(9, c.dataOffset);
      if (c.dictOffset !== undefined) w.i64(11, c.dictOffset);
      w.struct(12);
      w.i64(3, c.nulls);
      if (c.max !== undefined) w.binary(5, c.max);
      if (c.min !== undefined) w.binary(6, c.min);
      w.end();
      w.end();
      w.end();
    }
    w.i64(2, total);
    w.i64(3, g.rows);
    w.i64(5, g.offset);
    w.i64(6, compressed);
    w.end();
  }
  w.string(6, CREATED_BY);
  w.list(7, T_STRUCT, schema.length);
  for (let i = 0; i < schema.length; i++) {
    w.begin();
    w.struct(1); // TYPE_ORDER: min/max follow the type's defined order
    w.end();
    w.end();
  }
  w.end();
}
