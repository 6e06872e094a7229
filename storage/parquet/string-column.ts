/**
 * A REQUIRED BYTE_ARRAY (string) column of one Parquet row group as raw bytes: per page, the
 * values' (start, length) into a byte buffer — never a JS string. Handles what column-scan.ts
 * (PLAIN only) gives up on: dictionary-encoded chunks (dictionary page PLAIN, data pages
 * RLE_DICTIONARY / PLAIN_DICTIONARY indices, which become (start, length) into the dictionary's
 * bytes, so a repeated value is not copied) as well as PLAIN pages, data pages v1 and v2,
 * SNAPPY or UNCOMPRESSED. Returns null for anything else (nullable or nested columns, other codecs
 * or encodings): callers fall back to the row decoder. Values are the stored bytes (UTF-8 for
 * STRING columns, not validated here). Malformed pages are PARQUET_INVALID.
 * Kept beside column-scan.ts (PLAIN-only, probed in place by partial-recompute), reusing its page type.
 */
import { snappyUncompress } from 'hyparquet';
import { DagctlError } from '../../core/errors.js';
import type { ByteArrayPage, ColumnFile } from './column-scan.js';

const invalid = (msg: string, e?: unknown): DagctlError => new DagctlError('PARQUET_INVALID', msg, {}, e === undefined ? undefined : { cause: e });

const PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3;
const ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE_DICTIONARY = 8;

/**
 * The pages of REQUIRED BYTE_ARRAY `column` in row group `rg` of `file` (opened from `bytes` by
 * column-scan.ts openColumnFile), or null when not supported.
 */
export function stringColumnPages(file: ColumnFile, bytes: Uint8Array, rgi: number, column: string): ByteArrayPage[] | null {
  const { metadata } = file;
  const rg = metadata.row_groups[rgi];
  const el = metadata.schema.find((s) => s.name === column && s.num_children === undefined);
  if (rg === undefined || el === undefined || el.type !== 'BYTE_ARRAY' || el.repetition_type !== 'REQUIRED') return null;
  const chunk = rg.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column)?.meta_data;
  if (chunk === undefined || (chunk.codec !== 'SNAPPY' && chunk.codec !== 'UNCOMPRESSED')) return null;
  const dictAt = chunk.dictionary_page_offset === undefined ? 0 : Number(chunk.dictionary_page_offset);
  const begin = dictAt > 0 ? Math.min(dictAt, Number(chunk.data_page_offset)) : Number(chunk.data_page_offset);
  const end = begin + Number(chunk.total_compressed_size);
  if (end > bytes.length) throw invalid(`column ${column}: chunk past end of file`);
  const total = Number(chunk.num_values);
  const pages: ByteArrayPage[] = [];
  let dict: ByteArrayPage | null = null;
  let pos = begin, values = 0;
  while (pos < end && values < total) {
    const h = readPageHeader(bytes, pos);
    pos = h.next;
    const body = bytes.subarray(pos, pos + h.compressed);
    pos += h.compressed;
    if (h.type === PAGE_INDEX) continue;
    if (h.type === PAGE_DICTIONARY) {
      if (h.encoding !== ENC_PLAIN && h.encoding !== ENC_PLAIN_DICTIONARY) return null;
      dict = splitPlain(chunk.codec === 'SNAPPY' ? snappy(body, h.uncompressed) : body, h.numValues, column);
      continue;
    }
    if (h.type !== PAGE_DATA && h.type !== PAGE_DATA_V2) return null;
    if (h.levelBytes !== 0) return null;
    const data = chunk.codec === 'SNAPPY' && h.compressedValues ? snappy(body, h.uncompressed) : body;
    if (h.encoding === ENC_PLAIN) pages.push(splitPlain(data, h.numValues, column));
    else if (h.encoding === ENC_RLE_DICTIONARY || h.encoding === ENC_PLAIN_DICTIONARY) {
      if (dict === null) throw invalid(`column ${column}: dictionary-encoded page without a dictionary`);
      pages.push(fromDictionary(dict, data, h.numValues, column));
    } else return null;
    values += h.numValues;
  }
  if (values !== total) throw invalid(`column ${column}: ${values} values in pages, ${total} in footer`);
  return pages;
}

function snappy(body: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  try {
    snappyUncompress(body, out);
  } catch (e) {
    throw invalid(`snappy: ${String(e)}`, e);
  }
  return out;
}

/** PLAIN BYTE_ARRAY: u32 little-endian length, then the bytes, per value. */
function splitPlain(data: Uint8Array, n: number, column: string): ByteArrayPage {
  const start = new Int32Array(n), len = new Int32Array(n);
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (p + 4 > data.length) throw invalid(`column ${column}: page truncated`);
    const l = (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0;
    p += 4;
    if (p + l > data.length) throw invalid(`column ${column}: value past end of page`);
    start[i] = p;
    len[i] = l;
    p += l;
  }
  return { data, start, len, count: n };
}

/** Dictionary indices (u8 bit width, then the RLE / bit-packed hybrid) → the entries' (start, len). */
function fromDictionary(dict: ByteArrayPage, data: Uint8Array, n: number, column: string): ByteArrayPage {
  const start = new Int32Array(n), len = new Int32Array(n);
  const bad = (why: string): DagctlError => invalid(`column ${column}: dictionary indices ${why}`);
  if (data.length < 1 && n > 0) throw bad('truncated');
  const width = data[0] ?? 0;
  if (width > 32) throw bad(`bit width ${width}`);
  const bytesPer = (width + 7) >> 3;
  const put = (i: number, v: number): void => {
    if (v >= dict.count) throw bad(`index ${v} past ${dict.count} entries`);
    start[i] = dict.start[v]!;
    len[i] = dict.len[v]!;
  };
  let p = 1, i = 0;
  while (i < n) {
    // ULEB128 run header.
    let header = 0, mul = 1;
    for (;;) {
      if (p >= data.length) throw bad('truncated');
      const b = data[p++]!;
      header += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      mul *= 128;
    }
    if ((header & 1) === 0) {
      const count = Math.floor(header / 2);
      if (p + bytesPer > data.length) throw bad('truncated');
      let v = 0;
      for (let k = 0; k < bytesPer; k++) v += data[p + k]! * 2 ** (8 * k);
      p += bytesPer;
      const m = Math.min(count, n - i);
      for (let k = 0; k < m; k++) put(i + k, v);
      i += m;
    } else {
      const count = Math.floor(header / 2) * 8;
      const bytes = Math.floor(header / 2) * width;
      if (p + bytes > data.length) throw bad('truncated');
      // Bit-packed, LSB first.
      let bit = 0;
      const m = Math.min(count, n - i);
      for (let k = 0; k < m; k++) {
        let v = 0;
        for (let got = 0; got < width;) {
          const byte = data[p + (bit >> 3)]!;
          const off = bit & 7;
          const take = Math.min(8 - off, width - got);
          v += ((byte >> off) & ((1 << take) - 1)) * 2 ** got;
          got += take;
          bit += take;
        }
        put(i + k, v);
      }
      p += bytes;
      i += m;
    }
  }
  return { data: dict.data, start, len, count: n };
}

interface PageHeader {
  type: number;
  uncompressed: number;
  compressed: number;
  numValues: number;
  encoding: number;
  levelBytes: number;
  compressedValues: boolean;
  next: number;
}

/**
 * The Thrift compact-protocol PageHeader at `pos`: fields 1 type, 2 uncompressed size,
 * 3 compressed size, 5 DataPageHeader {1 num_values, 2 encoding}, 7 DictionaryPageHeader
 * {1 num_values, 2 encoding}, 8 DataPageHeaderV2 {1 num_values, 4 encoding, 5/6 level byte
 * lengths, 7 is_compressed}; everything else is skipped.
 */
function readPageHeader(u8: Uint8Array, pos: number): PageHeader {
  const r = new Compact(u8, pos);
  const h: PageHeader = { type: -1, uncompressed: 0, compressed: 0, numValues: 0, encoding: -1, levelBytes: 0, compressedValues: true, next: 0 };
  r.struct((id, t) => {
    if (id === 1 && t === T_I32) h.type = r.int();
    else if (id === 2 && t === T_I32) h.uncompressed = r.int();
    else if (id === 3 && t === T_I32) h.compressed = r.int();
    else if ((id === 5 || id === 7) && t === T_STRUCT) {
      r.struct((f, ft) => {
        if (f === 1 && ft === T_I32) h.numValues = r.int();
        else if (f === 2 && ft === T_I32) h.encoding = r.int();
        else r.skip(ft);
      });
    } else if (id === 8 && t === T_STRUCT) {
      r.struct((f, ft) => {
        if (f === 1 && ft === T_I32) h.numValues = r.int();
        else if (f === 4 && ft === T_I32) h.encoding = r.int();
        else if ((f === 5 || f === 6) && ft === T_I32) h.levelBytes += r.int();
        else if (f === 7 && (ft === T_TRUE || ft === T_FALSE)) h.compressedValues = ft === T_TRUE;
        else r.skip(ft);
      });
    } else r.skip(t);
  });
  if (h.type < 0 || h.compressed < 0 || h.uncompressed < 0) throw invalid('bad page header');
  h.next = r.pos;
  return h;
}

const T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7, T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12;

/** Minimal Thrift compact-protocol reader (what page headers need, plus skipping). */
class Compact {
  constructor(private readonly u8: Uint8Array, public pos: number) {}
  private byte(): number {
    const b = this.u8[this.pos++];
    if (b === undefined) throw invalid('page header past end of file');
    return b;
  }
  private varint(): number {
    let v = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    throw invalid('bad varint in page header');
  }
  int(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  struct(field: (id: number, type: number) => void): void {
    let last = 0;
    for (;;) {
      const b = this.byte();
      if (b === 0) return;
      const delta = b >> 4, type = b & 0x0f;
      const id = delta === 0 ? this.int() : last + delta;
      last = id;
      field(id, type);
    }
  }
  skip(type: number): void {
    switch (type) {
      case T_TRUE: case T_FALSE: return;
      case T_BYTE: this.pos++; return;
      case T_I16: case T_I32: case T_I64: this.varint(); return;
      case T_DOUBLE: this.pos += 8; return;
      case T_BINARY: this.pos += this.varint(); return;
      case T_STRUCT: this.struct((_, t) => this.skip(t)); return;
      case T_LIST: case T_SET: {
        const b = this.byte();
        const n = (b >> 4) === 15 ? this.varint() : b >> 4;
        for (let i = 0; i < n; i++) this.skip((b & 0x0f) === T_TRUE ? T_BYTE : b & 0x0f);
        return;
      }
      case T_MAP: {
        const n = this.varint();
        if (n === 0) return;
        const kv = this.byte();
        for (let i = 0; i < n; i++) { this.skip(kv >> 4); this.skip(kv & 0x0f); }
        return;
      }
      default: throw invalid(`bad thrift type ${type} in page header`);
    }
  }
}
