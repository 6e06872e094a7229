/**
 * The shuffle file format ("DGSH"): dagctl's own columnar binary format for the transient files a
 * stage hands to the next one (`_work/<task>/<stage>/rN/bucket=NNN/part-…​.dgsh`). These files are
 * written and read only by dagctl, within one run (then kept only for memoization), so they need
 * none of Parquet's generality — Spark does not use Parquet for its shuffle either. What they need is
 * to be cheap to write and read from JS:
 *   - numbers are typed arrays (int64 as float64: dagctl's int64 values are safe integers, so the
 *     round trip is exact and no BigInt is ever built), read back as zero-copy views;
 *   - strings are UTF-8 with one dictionary per file: each distinct string is encoded and decoded
 *     once (URLs repeat a lot), and every row holding it gets the same JS string back — which also
 *     makes Map lookups on it cheap (V8 caches a string's hash in the string); columns whose first
 *     rows are mostly distinct (person ids) skip the dictionary;
 *   - each string column is one UTF-8 encode / decode of all its values joined, sliced by length;
 *   - rows are built lazily, one batch at a time (storage/row-builder.ts: one generated object
 *     literal per schema instead of a row of keyed stores).
 *
 * Layout (little-endian; every section starts at a multiple of 8 bytes, so typed arrays are views):
 *   header   'DGSH' u8 version u8×3 0 | u32 columns | u32 schemaBytes
 *            version 1: a file of its own; version 2 (SHARED_VERSION): a section of a shared object
 *            (storage/shuffle/writer.ts), same layout. Readers before version 2 existed reject it
 *            with their "unsupported version" SHUFFLE_INVALID instead of reading past the section
 *            (they would ignore the entry's offset); readers here read both.
 *            schema JSON (storage/types.ts Schema), padded
 *   blocks   until the end of the file, each: u32 rows | u32 blockBytes | one section per column.
 *            Writers encode a block per chunk of rows as it arrives (storage/shuffle/writer.ts), so
 *            they buffer compact bytes, not row objects; dictionaries are per block.
 *   column   u32 bodyBytes | u32 flags (bit 0: a null mask follows; bit 1: plain strings) — then,
 *            padded to 8 each:
 *     [null mask: u8 per row, 1 = null]
 *     int64, double: f64 per row · int32: i32 per row · boolean: u8 per row
 *     string (dictionary): u32 dictCount | u32 utf8Bytes | u32 UTF-16 length per entry | the
 *             entries' UTF-8, concatenated | u32 index per row (index = dictCount means null)
 *     string (plain, when the first rows are mostly distinct: a dictionary would share nothing):
 *             u32 utf8Bytes | u32 0 | u32 UTF-16 length per row (0xffffffff = null) | UTF-8
 *     bytes:  u32 offsets (rows + 1) | the values' bytes, concatenated
 * Preconditions: values fit their fields (checked as for Parquet: PARQUET_INVALID otherwise).
 * A file that is not DGSH or is truncated is SHUFFLE_INVALID.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { DagctlError } from '../../core/errors.js';
import { checkSchema, checkValue, int64ToNumber } from '../parquet/values.js';
import { type ColumnData, RowBuilder } from '../row-builder.js';
import type { Field, Row, Schema, Value } from '../types.js';

const MAGIC = [0x44, 0x47, 0x53, 0x48] as const; // 'DGSH'
const VERSION = 1;
/** The version byte of a section of a shared object: older readers refuse it (see the banner). */
export const SHARED_VERSION = 2;
const FLAG_NULLS = 1;
const FLAG_PLAIN = 2;
const NULL_LEN = 0xffffffff;

/** True when `bytes` starts like a shuffle file (readers dispatch on this, not on file names). */
export function isShuffleFile(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2] && bytes[3] === MAGIC[3];
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** Collects 8-aligned sections, concatenated once at the end. */
class Sections {
  readonly parts: Uint8Array[] = [];
  size = 0;
  add(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.byteLength;
    const pad = pad8(b.byteLength) - b.byteLength;
    if (pad > 0) {
      this.parts.push(new Uint8Array(pad));
      this.size += pad;
    }
  }
  /** Appends another (already aligned) section list as is. */
  append(o: Sections): void {
    for (const p of o.parts) this.parts.push(p);
    this.size += o.size;
  }
  u32s(...xs: number[]): void {
    this.add(new Uint8Array(Uint32Array.from(xs).buffer));
  }
  typed(a: ArrayBufferView): void {
    this.add(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  /**
   * One section made of `parts` back to back (no padding between them, padded at the end): the
   * parts are copied once, by the final concatenation, not first into a section of their own.
   */
  run(parts: readonly Uint8Array[], bytes: number): void {
    for (const p of parts) this.parts.push(p);
    this.size += bytes;
    const pad = pad8(bytes) - bytes;
    if (pad > 0) {
      this.parts.push(new Uint8Array(pad));
      this.size += pad;
    }
  }
}

/** Rows per block when a whole row list is encoded at once (encodeShuffle). */
export const BLOCK_ROWS = 8192;

/** The file header: magic, version (SHARED_VERSION for a section of a shared object), the schema. */
export function encodeHeader(schema: Schema, opts: { shared?: boolean } = {}): Uint8Array {
  checkSchema(schema);
  const out = new Sections();
  const head = new Uint8Array(8);
  head.set(MAGIC);
  head[4] = opts.shared === true ? SHARED_VERSION : VERSION;
  out.add(head);
  const schemaJson = Buffer.from(JSON.stringify(schema.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable === true }))), 'utf8');
  out.u32s(schema.length, schemaJson.byteLength);
  out.add(schemaJson);
  return Buffer.concat(out.parts, out.size);
}

/** One block of rows (all columns of `schema`); a file is a header followed by blocks. */
export function encodeBlock(schema: Schema, rows: Row[]): Uint8Array {
  const n = rows.length;
  const cols = new Sections();
  for (const f of schema) {
    const body = new Sections();
    const flags = encodeColumn(f, rows, n, body);
    cols.u32s(body.size, flags);
    cols.append(body);
  }
  const out = new Sections();
  out.u32s(n, cols.size);
  out.append(cols);
  return Buffer.concat(out.parts, out.size);
}

/**
 * A column of encodeRawBlock, already in the format's terms (for writers that hold UTF-8 bytes,
 * not JS strings): a string column as a dictionary (`lens`: UTF-16 length per entry, `utf8`: the
 * entries' UTF-8 concatenated, `idx`: entry per row) or plain (`lens`: UTF-16 length per row,
 * `utf8`: the rows' UTF-8 concatenated), an int64/double column as doubles, or an int32 column.
 * No nulls.
 */
export type RawShuffleColumn =
  | { kind: 'dict'; lens: Uint32Array; utf8: Uint8Array; idx: Uint32Array }
  | { kind: 'plain'; lens: Uint32Array; utf8: Uint8Array }
  | { kind: 'f64'; values: Float64Array }
  | { kind: 'i32'; values: Int32Array };

/**
 * The block encodeBlock writes for the same rows, from columns given as bytes (schema order;
 * REQUIRED string, int64, double or int32 fields). The caller vouches that each string's bytes are UTF-8
 * of its stated UTF-16 length (decoders check the totals). One allocation, no JS string.
 */
export function encodeRawBlock(schema: Schema, n: number, cols: readonly RawShuffleColumn[]): Uint8Array {
  if (cols.length !== schema.length) throw new DagctlError('INTERNAL', `encodeRawBlock: ${cols.length} columns for a schema of ${schema.length}`);
  const bodies: number[] = [];
  let size = 8;
  for (let c = 0; c < cols.length; c++) {
    const col = cols[c]!, f = schema[c]!;
    const ok = col.kind === 'f64' ? f.type === 'int64' || f.type === 'double' : col.kind === 'i32' ? f.type === 'int32' : f.type === 'string';
    if (!ok || f.nullable === true) throw new DagctlError('INTERNAL', `encodeRawBlock: a ${col.kind} column for field ${f.name} (${f.type})`);
    let body: number;
    if (col.kind === 'dict') {
      if (col.idx.length !== n) throw new DagctlError('INTERNAL', 'encodeRawBlock: index length');
      body = 8 + pad8(col.lens.length * 4) + pad8(col.utf8.byteLength) + pad8(n * 4);
    } else if (col.kind === 'plain') {
      if (col.lens.length !== n) throw new DagctlError('INTERNAL', 'encodeRawBlock: lengths');
      body = 8 + pad8(n * 4) + pad8(col.utf8.byteLength);
    } else {
      if (col.values.length !== n) throw new DagctlError('INTERNAL', 'encodeRawBlock: values length');
      body = pad8(col.values.byteLength);
    }
    bodies.push(body);
    size += 8 + body;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, n, true);
  dv.setUint32(4, size - 8, true);
  let off = 8;
  const put = (a: ArrayBufferView): void => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += pad8(a.byteLength);
  };
  for (let c = 0; c < cols.length; c++) {
    const col = cols[c]!;
    dv.setUint32(off, bodies[c]!, true);
    dv.setUint32(off + 4, col.kind === 'plain' ? FLAG_PLAIN : 0, true);
    off += 8;
    if (col.kind === 'dict') {
      dv.setUint32(off, col.lens.length, true);
      dv.setUint32(off + 4, col.utf8.byteLength, true);
      off += 8;
      put(col.lens);
      put(col.utf8);
      put(col.idx);
    } else if (col.kind === 'plain') {
      dv.setUint32(off, col.utf8.byteLength, true);
      off += 8;
      put(col.lens);
      put(col.utf8);
    } else put(col.values);
  }
  return out;
}

/** A whole file: header + blocks of BLOCK_ROWS rows. */
export function encodeShuffle(schema: Schema, rows: Row[]): Uint8Array {
  const parts = [encodeHeader(schema)];
  for (let i = 0; i < rows.length; i += BLOCK_ROWS) parts.push(encodeBlock(schema, rows.slice(i, i + BLOCK_ROWS)));
  return Buffer.concat(parts);
}

/**
 * Whether a string column's values look mostly distinct (over its first rows): then a dictionary
 * would cost a Map entry per row and share nothing (person ids), so the column is stored plain.
 */
function mostlyDistinct(rows: Row[], name: string): boolean {
  const k = Math.min(rows.length, 256);
  const seen = new Set<unknown>();
  for (let i = 0; i < k; i++) seen.add(rows[i]![name]);
  return seen.size * 2 > k;
}

function encodeDictStrings(f: Field, rows: Row[], n: number, body: Sections): number {
  const name = f.name;
  const dict = new Map<string, number>();
  const entries: string[] = [];
  const idx = new Uint32Array(n);
  const nulls: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = rows[i]![name];
    if (typeof v === 'string') {
      let d = dict.get(v);
      if (d === undefined) {
        d = entries.length;
        dict.set(v, d);
        entries.push(v);
      }
      idx[i] = d;
    } else {
      checkValue(f, v);
      nulls.push(i);
    }
  }
  for (const i of nulls) idx[i] = entries.length; // null = one past the dictionary
  const lens = new Uint32Array(entries.length);
  for (let i = 0; i < entries.length; i++) lens[i] = entries[i]!.length;
  const utf8 = Buffer.from(entries.join(''), 'utf8');
  body.u32s(entries.length, utf8.byteLength);
  body.typed(lens);
  body.add(utf8);
  body.typed(idx);
  return 0;
}

/** Plain strings: u32 utf8Bytes | u32 0 | UTF-16 length per row (NULL_LEN: null) | the UTF-8. */
function encodePlainStrings(f: Field, rows: Row[], n: number, body: Sections): number {
  const name = f.name;
  const lens = new Uint32Array(n);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = rows[i]![name];
    if (typeof v === 'string') {
      lens[i] = v.length;
      parts.push(v);
    } else {
      checkValue(f, v);
      lens[i] = NULL_LEN;
    }
  }
  const utf8 = Buffer.from(parts.join(''), 'utf8');
  body.u32s(utf8.byteLength, 0);
  body.typed(lens);
  body.add(utf8);
  return FLAG_PLAIN;
}

/** Appends column `f` of `rows` to `body`; returns its flags. */
function encodeColumn(f: Field, rows: Row[], n: number, body: Sections): number {
  const name = f.name;
  if (f.type === 'string') return mostlyDistinct(rows, name) ? encodePlainStrings(f, rows, n, body) : encodeDictStrings(f, rows, n, body);
  // Non-string columns: a null mask only when some value is null.
  let mask: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const v = rows[i]![name];
    checkValue(f, v);
    if (v === null || v === undefined) (mask ??= new Uint8Array(n))[i] = 1;
  }
  if (mask !== null) body.add(mask);
  switch (f.type) {
    case 'int64':
    case 'double': {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i]![name];
        if (typeof v === 'number') a[i] = v;
        else if (typeof v === 'bigint') a[i] = int64ToNumber(v, name);
      }
      body.typed(a);
      break;
    }
    case 'int32': {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = (rows[i]![name] as number | null | undefined) ?? 0;
      body.typed(a);
      break;
    }
    case 'boolean': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = rows[i]![name] === true ? 1 : 0;
      body.add(a);
      break;
    }
    case 'bytes': {
      // The values go into the block as they are (Sections.run): the block's concatenation is
      // their only copy (a bytes value is often a whole chunk: rollup's, equiv-components' edges).
      const offsets = new Uint32Array(n + 1);
      const values: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = rows[i]![name];
        if (v instanceof Uint8Array && v.byteLength > 0) {
          total += v.byteLength;
          values.push(v);
        }
        offsets[i + 1] = total;
      }
      body.typed(offsets);
      body.run(values, total);
      break;
    }
  }
  return mask === null ? 0 : FLAG_NULLS;
}


/** One block of a parsed file: its row count and where each column's section starts. */
interface Block {
  rows: number;
  /** Offset of each column's 8-byte section header. */
  at: number[];
}

/** A file's header and block index (validated against the file's length). */
interface Parsed {
  buf: Uint8Array;
  schema: Schema;
  blocks: Block[];
  rows: number;
}

function invalid(message: string, details: Record<string, unknown> = {}): DagctlError {
  return new DagctlError('SHUFFLE_INVALID', `shuffle file: ${message}`, details);
}

function parse(bytes: Uint8Array): Parsed {
  if (!isShuffleFile(bytes)) throw invalid('bad magic (not a DGSH shuffle file)');
  if (bytes[4] !== VERSION && bytes[4] !== SHARED_VERSION) throw invalid(`unsupported version ${String(bytes[4])}`, { version: bytes[4] });
  // Typed-array views need 8-byte alignment: copy once when the store handed back an unaligned view
  // (a real copy: a Buffer's slice() is another view at the same offset).
  const buf = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  const len = buf.byteLength;
  const u32 = (off: number): number => {
    if (off + 4 > len) throw invalid('truncated', { offset: off, bytes: len });
    return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
  };
  const ncols = u32(8), schemaBytes = u32(12);
  if (16 + schemaBytes > len) throw invalid('truncated schema', { bytes: len });
  let schema: Schema;
  try {
    schema = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 16, schemaBytes).toString('utf8')) as Schema;
  } catch (e) {
    throw new DagctlError('SHUFFLE_INVALID', 'shuffle file: corrupt schema', {}, { cause: e });
  }
  if (!Array.isArray(schema) || schema.length !== ncols) throw invalid('schema does not match the column count', { columns: ncols });
  const blocks: Block[] = [];
  let rows = 0;
  let off = 16 + pad8(schemaBytes);
  while (off < len) {
    const n = u32(off), size = u32(off + 4);
    const end = off + 8 + size;
    if (end > len) throw invalid('truncated block', { offset: off, bytes: len });
    const at: number[] = [];
    let c = off + 8;
    for (let k = 0; k < ncols; k++) {
      at.push(c);
      c += 8 + u32(c);
      if (c > end) throw invalid('truncated column', { column: schema[k]?.name, bytes: len });
    }
    blocks.push({ rows: n, at });
    rows += n;
    off = end;
  }
  return { buf, schema, blocks, rows };
}

/**
 * A decoded column of one block, strings left as stored: 'dict' (dictionary + index per row, the
 * entry at dict.length - 1 is null), 'plain' (all values' UTF-16 text joined into one string, the
 * UTF-16 length per row, NULL_LEN for null — no string per row until one is sliced out), or
 * 'values' (values[i], typed arrays where the format has them).
 */
export type ShuffleColumn =
  | { kind: 'dict'; dict: Array<string | null>; idx: Uint32Array }
  | { kind: 'plain'; joined: string; lens: Uint32Array }
  | { kind: 'values'; values: ArrayLike<Value> };

/** UTF-16 length of a null value of a 'plain' string column. */
export const PLAIN_NULL = NULL_LEN;

/** One block's columns (schema order) for columnar consumers; typed arrays may view `bytes`. */
export interface ShuffleBlock {
  rows: number;
  columns: ShuffleColumn[];
}

/** A shuffle file decoded block by block into columns, without row objects. */
export function decodeShuffleBlocks(bytes: Uint8Array): { schema: Schema; blocks: ShuffleBlock[] } {
  const p = parse(bytes);
  const blocks = p.blocks.map((b) => ({ rows: b.rows, columns: p.schema.map((_, c) => decodeColumnRaw(p, b, c)) }));
  return { schema: p.schema, blocks };
}

/**
 * A decoded column of one block with strings left as UTF-8 bytes (views of the file's bytes, no
 * JS string): 'dict' (the entries' byte ranges into utf8; idx[i] === start.length is null),
 * 'plain' (each row's byte range into utf8; len -1 is null), or 'values' as in ShuffleColumn.
 */
export type ShuffleBytesColumn =
  | { kind: 'dict'; utf8: Uint8Array; start: Int32Array; len: Int32Array; idx: Uint32Array }
  | { kind: 'plain'; utf8: Uint8Array; start: Int32Array; len: Int32Array }
  | { kind: 'values'; values: ArrayLike<Value> };

/** A shuffle file decoded block by block into columns, strings as UTF-8 byte ranges. */
export function decodeShuffleBlocksBytes(bytes: Uint8Array): { schema: Schema; blocks: Array<{ rows: number; columns: ShuffleBytesColumn[] }> } {
  const p = parse(bytes);
  const blocks = p.blocks.map((b) => ({ rows: b.rows, columns: p.schema.map((_, c) => decodeColumnBytes(p, b, c)) }));
  return { schema: p.schema, blocks };
}

/**
 * Byte ranges of values given by UTF-16 lengths (NULL_LEN: null, range length -1) in UTF-8 text:
 * ASCII text maps units to bytes one to one; other text (checked UTF-8) is walked by lead bytes.
 */
function byteRanges(utf8: Uint8Array, units: Uint32Array, column: string): { start: Int32Array; len: Int32Array } {
  const n = units.length;
  const start = new Int32Array(n), len = new Int32Array(n);
  const end = utf8.length;
  let p = 0;
  if (isAscii(utf8)) {
    for (let i = 0; i < n; i++) {
      const u = units[i]!;
      start[i] = p;
      if (u === NULL_LEN) len[i] = -1;
      else {
        len[i] = u;
        p += u;
      }
    }
  } else {
    if (!isUtf8(utf8)) throw invalid('string bytes are not UTF-8', { column });
    for (let i = 0; i < n; i++) {
      const u = units[i]!;
      start[i] = p;
      if (u === NULL_LEN) {
        len[i] = -1;
        continue;
      }
      let k = 0;
      while (k < u && p < end) {
        const b = utf8[p]!;
        if (b < 0x80) { p++; k++; } else if (b < 0xe0) { p += 2; k++; } else if (b < 0xf0) { p += 3; k++; } else { p += 4; k += 2; }
      }
      if (k !== u) throw invalid('string lengths do not match the column bytes', { column });
      len[i] = p - start[i]!;
    }
  }
  if (p !== end) throw invalid('string lengths do not match the column bytes', { column });
  return { start, len };
}

function decodeColumnBytes(p: Parsed, block: Block, c: number): ShuffleBytesColumn {
  const f = p.schema[c]!;
  if (f.type !== 'string') return decodeColumnRaw(p, block, c) as ShuffleBytesColumn;
  const buf = p.buf, n = block.rows;
  const base = buf.byteOffset;
  const dv = new DataView(buf.buffer, base, buf.byteLength);
  let off = block.at[c]!;
  const flags = dv.getUint32(off + 4, true);
  off += 8;
  if ((flags & FLAG_PLAIN) !== 0) {
    const utf8Bytes = dv.getUint32(off, true);
    off += 8;
    const lens = new Uint32Array(buf.buffer, base + off, n);
    off += pad8(n * 4);
    const utf8 = new Uint8Array(buf.buffer, base + off, utf8Bytes);
    return { kind: 'plain', utf8, ...byteRanges(utf8, lens, f.name) };
  }
  const count = dv.getUint32(off, true), utf8Bytes = dv.getUint32(off + 4, true);
  off += 8;
  const lens = new Uint32Array(buf.buffer, base + off, count);
  off += pad8(count * 4);
  const utf8 = new Uint8Array(buf.buffer, base + off, utf8Bytes);
  off += pad8(utf8Bytes);
  const idx = new Uint32Array(buf.buffer, base + off, n);
  for (let i = 0; i < n; i++) if (idx[i]! > count) throw invalid('string index past its dictionary', { column: f.name });
  return { kind: 'dict', utf8, ...byteRanges(utf8, lens, f.name), idx };
}

function decodeColumn(p: Parsed, block: Block, c: number): ColumnData {
  const raw = decodeColumnRaw(p, block, c);
  if (raw.kind !== 'plain') return raw;
  const { joined, lens } = raw;
  const n = lens.length;
  const values = new Array<string | null>(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const len = lens[i]!;
    if (len === NULL_LEN) {
      values[i] = null;
      continue;
    }
    values[i] = joined.slice(s, s + len);
    s += len;
  }
  return { kind: 'values', values };
}

function decodeColumnRaw(p: Parsed, block: Block, c: number): ShuffleColumn {
  const f = p.schema[c]!;
  const buf = p.buf, n = block.rows;
  const base = buf.byteOffset;
  const dv = new DataView(buf.buffer, base, buf.byteLength);
  let off = block.at[c]!;
  const flags = dv.getUint32(off + 4, true);
  off += 8;
  if (f.type === 'string' && (flags & FLAG_PLAIN) !== 0) {
    const utf8Bytes = dv.getUint32(off, true);
    off += 8;
    const lens = new Uint32Array(buf.buffer, base + off, n);
    off += pad8(n * 4);
    const joined = Buffer.from(buf.buffer, base + off, utf8Bytes).toString('utf8');
    let s = 0;
    for (let i = 0; i < n; i++) {
      const len = lens[i]!;
      if (len !== NULL_LEN) s += len;
    }
    if (s !== joined.length) throw invalid('string lengths do not match the column bytes', { column: f.name });
    return { kind: 'plain', joined, lens };
  }
  if (f.type === 'string') {
    const count = dv.getUint32(off, true), utf8Bytes = dv.getUint32(off + 4, true);
    off += 8;
    const lens = new Uint32Array(buf.buffer, base + off, count);
    off += pad8(count * 4);
    // One UTF-8 decode for the whole dictionary; entries are slices of it.
    const joined = Buffer.from(buf.buffer, base + off, utf8Bytes).toString('utf8');
    off += pad8(utf8Bytes);
    const dict = new Array<string | null>(count + 1);
    let s = 0;
    for (let i = 0; i < count; i++) {
      const e = s + lens[i]!;
      dict[i] = joined.slice(s, e);
      s = e;
    }
    if (s !== joined.length) throw invalid('string dictionary does not match its lengths', { column: f.name });
    dict[count] = null;
    return { kind: 'dict', dict, idx: new Uint32Array(buf.buffer, base + off, n) };
  }
  let mask: Uint8Array | null = null;
  if ((flags & FLAG_NULLS) !== 0) {
    mask = new Uint8Array(buf.buffer, base + off, n);
    off += pad8(n);
  }
  let values: ArrayLike<Value>;
  switch (f.type) {
    case 'int64':
    case 'double':
      values = new Float64Array(buf.buffer, base + off, n);
      break;
    case 'int32':
      values = new Int32Array(buf.buffer, base + off, n);
      break;
    case 'boolean': {
      const raw = new Uint8Array(buf.buffer, base + off, n);
      const a = new Array<boolean>(n);
      for (let i = 0; i < n; i++) a[i] = raw[i] === 1;
      values = a;
      break;
    }
    case 'bytes': {
      const offsets = new Uint32Array(buf.buffer, base + off, n + 1);
      const start = base + off + pad8((n + 1) * 4);
      const a = new Array<Uint8Array>(n);
      // Copies: values must not pin the whole file, and are plain Uint8Arrays (as from Parquet).
      for (let i = 0; i < n; i++) a[i] = new Uint8Array(buf.buffer.slice(start + offsets[i]!, start + offsets[i + 1]!));
      values = a;
      break;
    }
  }
  if (mask === null) return { kind: 'values', values };
  const withNulls = new Array<Value>(n);
  for (let i = 0; i < n; i++) withNulls[i] = mask[i] === 1 ? null : values[i]!;
  return { kind: 'values', values: withNulls };
}

export function readShuffleSchema(bytes: Uint8Array): Schema {
  return parse(bytes).schema;
}

export function shuffleRowCount(bytes: Uint8Array): number {
  return parse(bytes).rows;
}

/** Rows of a shuffle file in batches of at most `batchSize` (per block), projected to `columns` (in that order). */
export function* decodeShuffle(bytes: Uint8Array, columns?: string[], batchSize = 8192): Iterable<Row[]> {
  const p = parse(bytes);
  const names = columns ?? p.schema.map((f) => f.name);
  const index = names.map((name) => {
    const c = p.schema.findIndex((f) => f.name === name);
    if (c === -1) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `no column ${name} in shuffle file`, { column: name });
    return c;
  });
  for (const block of p.blocks) {
    const b = new RowBuilder(names, index.map((c) => decodeColumn(p, block, c)));
    for (let i = 0; i < block.rows; i += batchSize) yield b.rows(i, Math.min(block.rows, i + batchSize));
  }
}
