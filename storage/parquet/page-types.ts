/**
 * The types of Parquet pages read in place (no row decoding), shared by the raw column readers:
 * pages.ts (page headers, Snappy, PLAIN splitting), string-column.ts (string columns as bytes +
 * offsets), page-kernel.ts (the WebAssembly kernel) and column-scan.ts (column-at-a-time reads of
 * one file, openColumnFile). Types only: every reader imports them from here, so none of those
 * modules needs another's types (no import cycle).
 */
import type { parquetMetadata } from 'hyparquet';

export type FileMetaData = ReturnType<typeof parquetMetadata>;

/** One decoded data page: value i is data[start[i] .. start[i] + len[i]). */
export interface ByteArrayPage {
  data: Uint8Array;
  start: Int32Array;
  len: Int32Array;
  count: number;
}

/** A data page as stored: `body` is Snappy-compressed to `size` bytes when `compressed`. */
export interface PageBody { body: Uint8Array; compressed: boolean; size: number; count: number }

/** One Parquet file opened for column-at-a-time reads (column-scan.ts openColumnFile). */
export interface ColumnFile {
  readonly metadata: FileMetaData;
  readonly rowGroups: ReadonlyArray<{ rowStart: number; rows: number }>;
  /** `rows` (ascending, within the group): only those rows will be read (string-column.ts: other pages are left undecoded). */
  byteArrayPages(rowGroup: number, column: string, rows?: Int32Array): ByteArrayPage[] | null;
  /**
   * The stored (not yet decompressed) data pages of a REQUIRED, PLAIN, un-dictionaried BYTE_ARRAY
   * column of the row group — for page-kernel.ts probePlainPage, which decompresses and probes
   * in one call — or null for any other layout.
   */
  plainByteArrayBodies(rowGroup: number, column: string): PageBody[] | null;
  numbers(rowGroup: number, columns: string[]): Promise<Record<string, Float64Array>>;
  /** numbers() at rows[0..n) only (row indices within the group, ascending): out[c][j] = row rows[j]'s value. */
  numbersAt(rowGroup: number, columns: string[], rows: Int32Array, n: number): Promise<Record<string, Float64Array>>;
}
