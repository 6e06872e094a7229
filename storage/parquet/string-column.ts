/**
 * A REQUIRED BYTE_ARRAY (string) column of one Parquet row group as raw bytes: per page, the
 * values' (start, length) into a byte buffer — never a JS string. Handles what column-scan.ts
 * (PLAIN only) gives up on: dictionary-encoded chunks (dictionary page PLAIN, data pages
 * RLE_DICTIONARY / PLAIN_DICTIONARY indices, which become (start, length) into the dictionary's
 * bytes, so a repeated value is not copied) as well as PLAIN pages, data pages v1 and v2,
 * SNAPPY or UNCOMPRESSED. Returns null for anything else (nullable or nested columns, other codecs
 * or encodings): callers fall back to the row decoder. Values are the stored bytes (UTF-8 for
 * STRING columns, not validated here). Malformed pages are PARQUET_INVALID.
 * With `rows` (ascending row indices within the group: the only rows the caller will look at), a
 * data page holding none of them is not decompressed (its entry has `count` and no values), and a
 * dictionary-encoded page decodes the indices of those rows only (the others' start is -1, length
 * 0); the dictionary page and PLAIN pages holding a wanted row are read whole. A one-key read
 * of a few rows (serving/view.ts) then costs the dictionary, not every row of the group.
 * Kept beside column-scan.ts (PLAIN-only, probed in place by partial-recompute), reusing its page type.
 */
import { DagctlError } from '../../core/errors.js';
import type { ByteArrayPage, ColumnFile } from './page-types.js';
import { ENC_PLAIN, ENC_PLAIN_DICTIONARY, ENC_RLE_DICTIONARY, PAGE_DATA, PAGE_DATA_V2, PAGE_DICTIONARY, PAGE_INDEX, readPageHeader, snappy, splitPlain } from './pages.js';

const invalid = (msg: string, e?: unknown): DagctlError => new DagctlError('PARQUET_INVALID', msg, {}, e === undefined ? undefined : { cause: e });


/**
 * The pages of REQUIRED BYTE_ARRAY `column` in row group `rg` of `file` (opened from `bytes` by
 * column-scan.ts openColumnFile), or null when not supported.
 */
export function stringColumnPages(file: ColumnFile, bytes: Uint8Array, rgi: number, column: string, rows?: Int32Array): ByteArrayPage[] | null {
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
    if (h.encoding !== ENC_PLAIN && h.encoding !== ENC_RLE_DICTIONARY && h.encoding !== ENC_PLAIN_DICTIONARY) return null;
    // The wanted rows in this page: [w0, w1) of `rows`.
    let w0 = 0, w1 = 0;
    if (rows !== undefined) {
      while (w0 < rows.length && rows[w0]! < values) w0++;
      w1 = w0;
      while (w1 < rows.length && rows[w1]! < values + h.numValues) w1++;
      if (w1 === w0) {
        pages.push({ data: NONE, start: NO_ROWS, len: NO_ROWS, count: h.numValues });
        values += h.numValues;
        continue;
      }
    }
    const data = chunk.codec === 'SNAPPY' && h.compressedValues ? snappy(body, h.uncompressed) : body;
    if (h.encoding === ENC_PLAIN) pages.push(splitPlain(data, h.numValues, column));
    else {
      if (dict === null) throw invalid(`column ${column}: dictionary-encoded page without a dictionary`);
      pages.push(fromDictionary(dict, data, h.numValues, column, rows === undefined ? null : { rows, from: w0, to: w1, base: values }));
    }
    values += h.numValues;
  }
  if (values !== total) throw invalid(`column ${column}: ${values} values in pages, ${total} in footer`);
  return pages;
}

const NONE = new Uint8Array(0), NO_ROWS = new Int32Array(0);

/** The error of a page's dictionary indices in `column`. */
function indexError(column: string): (why: string) => DagctlError {
  return (why) => invalid(`column ${column}: dictionary indices ${why}`);
}

/** The indices' bit width (data's first byte) for n values, checked. */
function indexWidth(data: Uint8Array, n: number, bad: (why: string) => DagctlError): number {
  if (data.length < 1 && n > 0) throw bad('truncated');
  const width = data[0] ?? 0;
  if (width > 32) throw bad(`bit width ${width}`);
  return width;
}

/** Where runHeader's header ended (set by each call). */
let headerEnd = 0;

/** The ULEB128 run header at data[p..] (its end in headerEnd). */
function runHeader(data: Uint8Array, p: number, bad: (why: string) => DagctlError): number {
  let header = 0, mul = 1;
  for (;;) {
    if (p >= data.length) throw bad('truncated');
    const b = data[p++]!;
    header += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
    mul *= 128;
  }
  headerEnd = p;
  return header;
}

/** The `width`-bit value (up to 32 bits, LSB first) at bit offset `bit` of data[p..], a byte at a time. */
function bitsAt(data: Uint8Array, p: number, bit: number, width: number): number {
  let v = 0;
  for (let got = 0; got < width;) {
    const byte = data[p + (bit >> 3)]!;
    const off = bit & 7;
    const take = Math.min(8 - off, width - got);
    v += ((byte >> off) & ((1 << take) - 1)) * 2 ** got;
    got += take;
    bit += take;
  }
  return v;
}

/**
 * Dictionary indices (u8 bit width, then the RLE / bit-packed hybrid) → the entries' (start, len);
 * with `only`, just at rows[from, to) (page row = rows[j] - base; the others start at -1): runs holding
 * none of them are stepped over, not decoded (fromDictionaryAt). Every row: each run goes to a small
 * loop of its own (fillRun, unpackRun, unpackWideRun), so a page's decoding optimizes as a few
 * small functions, each seeing one kind of run.
 */
export function fromDictionary(dict: ByteArrayPage, data: Uint8Array, n: number, column: string, only: { rows: Int32Array; from: number; to: number; base: number } | null): ByteArrayPage {
  if (only !== null) return fromDictionaryAt(dict, data, n, column, only);
  const start = new Int32Array(n), len = new Int32Array(n);
  const bad = indexError(column);
  const width = indexWidth(data, n, bad);
  const bytesPer = (width + 7) >> 3;
  let p = 1, i = 0;
  while (i < n) {
    const header = runHeader(data, p, bad);
    p = headerEnd;
    let badIndex: number;
    if ((header & 1) === 0) {
      const count = Math.floor(header / 2);
      if (p + bytesPer > data.length) throw bad('truncated');
      let v = 0;
      for (let k = 0; k < bytesPer; k++) v += data[p + k]! * 2 ** (8 * k);
      p += bytesPer;
      const m = Math.min(count, n - i);
      badIndex = fillRun(dict, start, len, i, m, v);
      i += m;
    } else {
      const count = Math.floor(header / 2) * 8;
      const bytes = Math.floor(header / 2) * width;
      if (p + bytes > data.length) throw bad('truncated');
      const m = Math.min(count, n - i);
      badIndex = width <= 24 ? unpackRun(dict, data, p, width, start, len, i, m) : unpackWideRun(dict, data, p, width, start, len, i, m);
      p += bytes;
      i += m;
    }
    if (badIndex >= 0) throw bad(`index ${badIndex} past ${dict.count} entries`);
  }
  return { data: dict.data, start, len, count: n };
}

/** Rows [i, i + m) take dictionary entry v; v itself when it is past the dictionary (nothing written), else -1. */
function fillRun(dict: ByteArrayPage, start: Int32Array, len: Int32Array, i: number, m: number, v: number): number {
  if (m <= 0) return -1;
  if (v >= dict.count) return v;
  const s = dict.start[v]!, l = dict.len[v]!;
  start.fill(s, i, i + m);
  len.fill(l, i, i + m);
  return -1;
}

/**
 * Rows [i, i + m) from a bit-packed run (LSB first) of `width` ≤ 24 bits at data[p..]; the first
 * index past the dictionary (rows from it on not written), else -1. One 32-bit little-endian
 * window per value (offset ≤ 7 + width ≤ 24 bits fits). The first `inside` values' windows lie
 * within data (value k's starts at byte p + ⌊k·width/8⌋, and it is inside while that is
 * ≤ data.length − 4); the last few, at the page's end, are read from a zero-padded copy of the
 * page's last bytes by the same loop (unpackWindows), so the loop needs no bounds checks and has
 * no second path that its first, on-stack optimization never saw (that deoptimized once per page
 * end: "insufficient type feedback").
 */
function unpackRun(dict: ByteArrayPage, data: Uint8Array, p: number, width: number, start: Int32Array, len: Int32Array, i: number, m: number): number {
  const room = data.length - 4 - p;
  const inside = room < 0 ? 0 : width === 0 ? m : Math.min(m, Math.floor((8 * room + 7) / width) + 1);
  const bad = unpackWindows(dict, data, p, 0, width, start, len, i, inside);
  if (bad >= 0 || inside === m) return bad;
  // Value `inside` starts within the page's last 3 bytes, and the run's bits end at the page's end
  // at the latest: every remaining window starts in those bytes, so 8 padded bytes hold them all.
  const bit = inside * width, from = p + (bit >> 3);
  tailPad.fill(0);
  tailPad.set(data.subarray(from, Math.min(data.length, from + 4)));
  return unpackWindows(dict, tailPad, 0, bit & 7, width, start, len, i + inside, m - inside);
}

/** The page's last bytes, zero-padded, for unpackRun's last values (one per thread; the caller copies from it at once). */
const tailPad = new Uint8Array(8);

/** Rows [i, i + m) from `width`-bit values starting `bit` bits into data[p..], each read as a 32-bit window that must lie within data; the first index past the dictionary, else -1. */
function unpackWindows(dict: ByteArrayPage, data: Uint8Array, p: number, bit: number, width: number, start: Int32Array, len: Int32Array, i: number, m: number): number {
  const mask = width === 0 ? 0 : 0xffffffff >>> (32 - width);
  const entries = dict.count, ds = dict.start, dl = dict.len;
  for (let k = 0; k < m; k++) {
    const at = p + (bit >> 3);
    const w = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    const v = (w >>> (bit & 7)) & mask;
    if (v >= entries) return v;
    start[i + k] = ds[v]!;
    len[i + k] = dl[v]!;
    bit += width;
  }
  return -1;
}

/** unpackRun for widths of 25..32 bits, a byte at a time. */
function unpackWideRun(dict: ByteArrayPage, data: Uint8Array, p: number, width: number, start: Int32Array, len: Int32Array, i: number, m: number): number {
  for (let k = 0; k < m; k++) {
    const v = bitsAt(data, p, k * width, width);
    if (v >= dict.count) return v;
    start[i + k] = dict.start[v]!;
    len[i + k] = dict.len[v]!;
  }
  return -1;
}

/** fromDictionary at rows[from, to) only (page row = rows[j] - base); the other rows start at -1. */
function fromDictionaryAt(dict: ByteArrayPage, data: Uint8Array, n: number, column: string, only: { rows: Int32Array; from: number; to: number; base: number }): ByteArrayPage {
  const start = new Int32Array(n), len = new Int32Array(n);
  const bad = indexError(column);
  const width = indexWidth(data, n, bad);
  const bytesPer = (width + 7) >> 3;
  const put = (i: number, v: number): void => {
    if (v >= dict.count) throw bad(`index ${v} past ${dict.count} entries`);
    start[i] = dict.start[v]!;
    len[i] = dict.len[v]!;
  };
  // Rows not decoded start at -1 (serving/view-rows.ts PageRows refuses them).
  start.fill(-1);
  let p = 1, i = 0, j = only.from;
  while (i < n) {
    const header = runHeader(data, p, bad);
    p = headerEnd;
    // Step over a run holding no wanted row; decode only the wanted rows of one that does.
    const rle = (header & 1) === 0;
    const count = rle ? Math.floor(header / 2) : Math.floor(header / 2) * 8;
    const bytes = rle ? bytesPer : Math.floor(header / 2) * width;
    if (p + bytes > data.length) throw bad('truncated');
    const m = Math.min(count, n - i);
    while (j < only.to && only.rows[j]! - only.base < i) j++;
    if (rle && j < only.to && only.rows[j]! - only.base < i + m) {
      let v = 0;
      for (let k = 0; k < bytesPer; k++) v += data[p + k]! * 2 ** (8 * k);
      for (; j < only.to && only.rows[j]! - only.base < i + m; j++) put(only.rows[j]! - only.base, v);
    } else if (!rle) {
      for (; j < only.to && only.rows[j]! - only.base < i + m; j++) {
        const r = only.rows[j]! - only.base;
        put(r, bitsAt(data, p, (r - i) * width, width));
      }
    }
    p += bytes;
    i += m;
  }
  return { data: dict.data, start, len, count: n };
}
