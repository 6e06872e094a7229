/**
 * Parquet pages read in place from a column chunk's bytes, for the raw column readers that skip
 * hyparquet's row decoding (column-scan.ts: PLAIN pages probed in place; string-column.ts: string
 * columns as bytes + offsets, dictionary pages included): page headers (Thrift compact protocol —
 * only the fields those readers need, every other field skipped), Snappy page bodies
 * (page-kernel.ts, the WebAssembly kernel; hyparquet's decoder is its test oracle), and PLAIN
 * BYTE_ARRAY values split into (start, length). Malformed input is PARQUET_INVALID.
 */
import { DagctlError } from '../../core/errors.js';
import type { ByteArrayPage } from './page-types.js';
import { snappyDecompressWasm } from './page-kernel.js';

export const PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3;
export const ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE_DICTIONARY = 8;

const invalid = (msg: string, e?: unknown): DagctlError => new DagctlError('PARQUET_INVALID', msg, {}, e === undefined ? undefined : { cause: e });

export function snappy(body: Uint8Array, size: number): Uint8Array {
  try {
    return snappyDecompressWasm(body, size);
  } catch (e) {
    throw invalid(`snappy: ${String(e)}`, e);
  }
}

/** PLAIN BYTE_ARRAY: u32 little-endian length, then the bytes, per value. */
export function splitPlain(data: Uint8Array, n: number, column: string): ByteArrayPage {
  const start = new Int32Array(n), len = new Int32Array(n);
  const why = splitValues(data, n, start, len);
  if (why === 1) throw invalid(`column ${column}: page truncated`);
  if (why === 2) throw invalid(`column ${column}: value past end of page`);
  return { data, start, len, count: n };
}

/**
 * splitPlain's loop, a leaf of its own (so the page's caller is not optimized mid-loop before its
 * tail ever ran): 0, or 1 when a length prefix runs past the page, 2 when a value does.
 */
function splitValues(data: Uint8Array, n: number, start: Int32Array, len: Int32Array): number {
  const end = data.length;
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (p + 4 > end) return 1;
    const l = (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0;
    p += 4;
    if (p + l > end) return 2;
    start[i] = p;
    len[i] = l;
    p += l;
  }
  return 0;
}

export interface PageHeader {
  type: number;
  uncompressed: number;
  compressed: number;
  numValues: number;
  encoding: number;
  /** Bytes of (uncompressed) rep/def levels before the values (v2 pages); v1 REQUIRED: none. */
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
export function readPageHeader(u8: Uint8Array, pos: number): PageHeader {
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
