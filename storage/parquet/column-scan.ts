/**
 * Column-at-a-time reads of one Parquet file, for operators that filter on one column before
 * materializing the others (late materialization; partial-recompute's Bloom-join fetch):
 *
 *   const f = openColumnFile(bytes)
 *   f.byteArrayPages(rg, 'person') → raw pages of a REQUIRED BYTE_ARRAY column, or null
 *   await f.numbers(rg, ['age', 'ts']) → those columns of row group rg as Float64Arrays
 *   await f.numbersAt(rg, ['age', 'ts'], rows, n) → the same, only at rows[0..n) (ascending)
 *
 * byteArrayPages never builds JS strings: each page is decompressed once and the values are
 * addressed as (start, length) into its bytes (UTF-8 for STRING columns), so a probe can hash the
 * raw bytes; dictionary-encoded pages address the dictionary page's bytes (string-column.ts). It
 * returns null for nullable or nested columns and other codecs or encodings: callers then fall
 * back to the row decoder (storage/dataset/read).
 * numbers() decodes REQUIRED PLAIN INT32/INT64 columns (no logical type) itself, page by page
 * into Float64Arrays, and any other column with hyparquet (typed arrays, no row objects); int64
 * values must be safe integers, and every row of the group a number: a null, a date, bytes or a
 * missing column is PARQUET_INVALID with details { column, rowGroup, row? } (the caller adds the file). numbersAt() is numbers() gathered at some
 * rows (a late scan's hits): PLAIN integer pages go to the page kernel (page-kernel.ts
 * gatherPlainInts: each decompressed where it is read, only the hit rows decoded — and checked: an
 * unsafe int64 elsewhere in the group is not read); any other layout goes through numbers() and
 * is gathered.
 * The page and file types are in page-types.ts.
 */
// hyparquet's footer parser alone at load; its row reader only when a column needs it (numbers()'s
// other layouts), so a reader of PLAIN pages (`dagctl query`) does not load it.
import { parquetMetadata } from 'hyparquet/src/metadata.js';
import { DagctlError } from '../../core/errors.js';
import { ENC_PLAIN, PAGE_DATA, PAGE_DATA_V2, PAGE_DICTIONARY, PAGE_INDEX, readPageHeader, snappy } from './pages.js';
import { stringColumnPages } from './string-column.js';
import { gatherPlainInts } from './page-kernel.js';
import { exactArrayBuffer } from './values.js';
import type { ColumnFile, FileMetaData, PageBody } from './page-types.js';

const invalid = (msg: string, e?: unknown, details: Record<string, unknown> = {}): DagctlError => new DagctlError('PARQUET_INVALID', msg, details, e === undefined ? undefined : { cause: e });

// The helpers below are module-level functions, not closures of openColumnFile: one function
// object per isolate, so optimized callers never meet another file's closure ("wrong call
// target" deopts), and the per-value loops are small leaf functions (decodeInt32Page,
// decodeInt64Page) that optimize on their own instead of inside the page-walking code.

/**
 * The stored data pages of a REQUIRED, PLAIN, un-dictionaried flat column of row group rgi (v1
 * pages, or v2 pages without levels), or null for any other layout.
 */
function plainBodies(metadata: FileMetaData, u8: Uint8Array, rgi: number, column: string): PageBody[] | null {
  const rg = metadata.row_groups[rgi];
  const el = metadata.schema.find((e) => e.name === column && e.num_children === undefined);
  if (rg === undefined || el === undefined || el.repetition_type !== 'REQUIRED') return null;
  const chunk = rg.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column)?.meta_data;
  if (chunk === undefined || (chunk.codec !== 'SNAPPY' && chunk.codec !== 'UNCOMPRESSED')) return null;
  if (chunk.dictionary_page_offset !== undefined && Number(chunk.dictionary_page_offset) > 0) return null;
  const begin = Number(chunk.data_page_offset);
  const end = begin + Number(chunk.total_compressed_size);
  if (end > u8.length) throw invalid(`column ${column}: chunk past end of file`);
  const snappyCodec = chunk.codec === 'SNAPPY';
  const pages: PageBody[] = [];
  let pos = begin;
  let values = 0;
  const total = Number(chunk.num_values);
  while (pos < end && values < total) {
    const h = readPageHeader(u8, pos);
    pos = h.next;
    const body = u8.subarray(pos, pos + h.compressed);
    pos += h.compressed;
    if (h.type === PAGE_DICTIONARY || h.type === PAGE_INDEX) return null;
    if (h.type !== PAGE_DATA && h.type !== PAGE_DATA_V2) return null;
    if (h.encoding !== ENC_PLAIN || h.levelBytes !== 0) return null;
    pages.push({ body, compressed: snappyCodec && h.compressedValues, size: h.uncompressed, count: h.numValues });
    values += h.numValues;
  }
  if (values !== total) throw invalid(`column ${column}: ${values} values in pages, ${total} in footer`);
  return pages;
}

/** The stored PLAIN pages and value width of a REQUIRED INT32 / INT64 column without a logical
 * type (plain signed integers) in row group rgi, or null for any other layout. */
function integerBodies(metadata: FileMetaData, u8: Uint8Array, rgi: number, column: string): { bodies: PageBody[]; width: 4 | 8 } | null {
  const el = metadata.schema.find((e) => e.name === column && e.num_children === undefined);
  if (el === undefined || (el.type !== 'INT32' && el.type !== 'INT64')) return null;
  if (el.logical_type !== undefined || (el.converted_type !== undefined && el.converted_type !== 'INT_32' && el.converted_type !== 'INT_64')) return null;
  const bodies = plainBodies(metadata, u8, rgi, column);
  return bodies === null ? null : { bodies, width: el.type === 'INT32' ? 4 : 8 };
}

/** count little-endian int32s of data into out[at..at + count). */
function decodeInt32Page(data: Uint8Array, count: number, out: Float64Array, at: number): void {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) out[at + i] = dv.getInt32(i * 4, true);
}

/** count little-endian int64s of data into out[at..at + count); the index of the first that is
 * not a safe integer (nothing written from it on), else -1. */
function decodeInt64Page(data: Uint8Array, count: number, out: Float64Array, at: number): number {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) {
    const v = dv.getUint32(i * 8, true) + dv.getInt32(i * 8 + 4, true) * 4294967296;
    if (!Number.isSafeInteger(v)) return i;
    out[at + i] = v;
  }
  return -1;
}

/** A PLAIN integer column (integerBodies) of row group rgi as doubles, or null for any other
 * layout (numbers() then asks hyparquet). */
function plainIntegers(metadata: FileMetaData, u8: Uint8Array, rgi: number, column: string, rows: number): Float64Array | null {
  const ib = integerBodies(metadata, u8, rgi, column);
  if (ib === null) return null;
  const { bodies, width } = ib;
  const out = new Float64Array(rows);
  let r = 0;
  for (let p = 0; p < bodies.length; p++) {
    const b = bodies[p]!;
    const count = b.count;
    if (r + count > rows) throw invalid(`column ${column}: more values than rows`);
    const data = b.compressed ? snappy(b.body, b.size) : b.body;
    if (data.length < count * width) throw invalid(`column ${column}: page truncated`);
    if (width === 4) decodeInt32Page(data, count, out, r);
    else {
      const bad = decodeInt64Page(data, count, out, r);
      if (bad >= 0) throw invalid(`column ${column}: not a number / unsafe integer at row ${r + bad} of row group ${rgi}`, undefined, { column, rowGroup: rgi, row: r + bad });
    }
    r += count;
  }
  if (r !== rows) throw invalid(`column ${column}: ${r} values, ${rows} rows`);
  return out;
}

export function openColumnFile(bytes: Uint8Array): ColumnFile {
  const file = exactArrayBuffer(bytes);
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    throw invalid(`not a readable parquet file: ${String(e)}`, e);
  }
  const u8 = new Uint8Array(file);
  const rowGroups: Array<{ rowStart: number; rows: number }> = [];
  let at = 0;
  for (const rg of metadata.row_groups) {
    rowGroups.push({ rowStart: at, rows: Number(rg.num_rows) });
    at += Number(rg.num_rows);
  }
  /**
   * plainIntegers at rows[0..n) only (ascending), or null for any other layout: in the page kernel
   * (page-kernel.ts gatherPlainInts), which decompresses each page where it reads it and reads
   * only those rows (checked: an unsafe int64 elsewhere in the group is not read).
   */
  const plainIntegersAt = (rgi: number, column: string, groupRows: number, rows: Int32Array, n: number): Float64Array | null => {
    const ib = integerBodies(metadata, u8, rgi, column);
    if (ib === null) return null;
    let values = 0;
    for (const b of ib.bodies) values += b.count;
    if (values !== groupRows) throw invalid(`column ${column}: ${values} values, ${groupRows} rows`);
    try {
      return gatherPlainInts(ib.bodies, ib.width, rows, n);
    } catch (e) {
      throw invalid(`column ${column}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  };
  const cf: ColumnFile = {
    metadata,
    rowGroups,
    byteArrayPages: (rgi, column, rows) => stringColumnPages(cf, u8, rgi, column, rows),
    plainByteArrayBodies: (rgi, column) => (metadata.schema.find((e) => e.name === column && e.num_children === undefined)?.type === 'BYTE_ARRAY' ? plainBodies(metadata, u8, rgi, column) : null),
    async numbers(rgi, columns) {
      const g = rowGroups[rgi];
      if (g === undefined) throw invalid(`no row group ${rgi}`);
      const out: Record<string, Float64Array> = {};
      const slow: string[] = [];
      for (const c of columns) {
        const fast = plainIntegers(metadata, u8, rgi, c, g.rows);
        if (fast !== null) out[c] = fast;
        else { out[c] = new Float64Array(g.rows); slow.push(c); }
      }
      if (slow.length === 0) return out;
      for (const c of slow) {
        if (!metadata.schema.some((e) => e.name === c && e.num_children === undefined)) throw invalid(`no column ${c}`, undefined, { column: c, rowGroup: rgi });
      }
      // hyparquet calls onChunk in a promise it does not await: a throw there would be an unhandled
      // rejection and leave the rest of the group at 0. So onChunk only records the first bad value
      // and counts what it filled; the checks run after parquetRead.
      const filled = new Map<string, number>(slow.map((c) => [c, 0]));
      let bad: { column: string; row: number; value: string } | null = null;
      try {
        const { parquetRead } = await import('hyparquet/src/read.js');
        await parquetRead({
          file, metadata, columns: slow, rowStart: g.rowStart, rowEnd: g.rowStart + g.rows, utf8: false,
          onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
            const dst = out[columnName];
            if (dst === undefined || !filled.has(columnName)) return;
            // Chunks may extend past the requested range: keep only this row group's rows.
            const from = Math.max(rowStart, g.rowStart), to = Math.min(rowEnd, g.rowStart + g.rows);
            let k = 0;
            for (let r = from; r < to; r++) {
              const v: unknown = columnData[r - rowStart];
              const n = typeof v === 'bigint' ? Number(v) : v;
              if (typeof n !== 'number' || (typeof v === 'bigint' && !Number.isSafeInteger(n))) {
                bad ??= { column: columnName, row: r - g.rowStart, value: v instanceof Date ? `Date ${v.toISOString()}` : v instanceof Uint8Array ? 'bytes' : String(v) };
                continue;
              }
              dst[r - g.rowStart] = n;
              k++;
            }
            filled.set(columnName, filled.get(columnName)! + k);
          },
        });
      } catch (e) {
        if (e instanceof DagctlError) throw e;
        throw invalid(`hyparquet failed to decode: ${String(e)}`, e, { column: slow.join(','), rowGroup: rgi });
      }
      const b = bad as { column: string; row: number; value: string } | null;
      if (b !== null) throw invalid(`column ${b.column}: not a number / unsafe integer at row ${b.row} of row group ${rgi} (${b.value})`, undefined, { column: b.column, rowGroup: rgi, row: b.row });
      for (const [c, k] of filled) {
        if (k !== g.rows) throw invalid(`column ${c}: ${k} values decoded, ${g.rows} rows in row group ${rgi}`, undefined, { column: c, rowGroup: rgi });
      }
      return out;
    },
    async numbersAt(rgi, columns, rows, n) {
      const g = rowGroups[rgi];
      if (g === undefined) throw invalid(`no row group ${rgi}`);
      const out: Record<string, Float64Array> = {};
      const slow: string[] = [];
      for (const c of columns) {
        const fast = plainIntegersAt(rgi, c, g.rows, rows, n);
        if (fast !== null) out[c] = fast;
        else slow.push(c);
      }
      if (slow.length === 0) return out;
      const all = await cf.numbers(rgi, slow);
      for (const c of slow) {
        const src = all[c]!, dst = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          const r = rows[j]!;
          if (r < 0 || r >= g.rows) throw invalid(`column ${c}: row ${r} outside the row group`);
          dst[j] = src[r]!;
        }
        out[c] = dst;
      }
      return out;
    },
  };
  return cf;
}
