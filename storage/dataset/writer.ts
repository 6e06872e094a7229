/**
 * DataFileWriter: the data files of one task instance's one output (or one bucket of it).
 *
 *   const w = new DataFileWriter({ store, codec, schema, folder: 'date=2024-01-01/', salt: instanceId })
 *   await w.write(rows) …; const files: FileEntry[] = await w.close()
 *
 * Rows are buffered until `maxRows` (default 100,000) or roughly `maxBytes` (default 64 MiB of
 * in-memory row size) and flushed as one Parquet file `<folder>part-NNNNN-<hash16>.parquet`
 * written create-only (putIfAbsent) — or `.<codec.extension>` (shuffle files: `.dgsh`). NNNNN counts this writer's files; hash16 is over `salt`
 * (the writer's identity, e.g. the instance id and output name) and the content sha256, so:
 *   - a retried attempt writing the same rows produces the same names and bytes (idempotent);
 *   - two instances writing identical rows into one folder never share a file name (no file is
 *     referenced by two commit markers, so no row is read twice).
 * `writeColumns(batch)` writes column-at-a-time rows the same way (codecs with encodeColumns).
 * Nothing is visible to readers until the caller commits the returned entries in a marker. An
 * empty writer writes no file. `write` after `close` throws INTERNAL. A file's store write overlaps
 * the buffering and encoding of the next one (storage/background.ts); close() returns once all
 * are written.
 */
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { ColumnBatch, FileEntry, ObjectStore, ParquetCodec, Row, Schema } from '../types.js';
import { background, type Background, settle } from '../background.js';
import { bucketOfKey, partFileName, partitionOf } from './layout.js';

/** Rows per file unless a writer is given maxRows: column writers batch by it to write the same files as rows would. */
export const DEFAULT_MAX_ROWS = 100_000;

export interface DataFileWriterOptions {
  store: ObjectStore;
  codec: ParquetCodec;
  schema: Schema;
  /** Folder key ('' for the root, else ending with '/'), e.g. 'date=2024-01-01/', 'bucket=007/'. */
  folder: string;
  /** Identity of the writer (instance id + output); part of file names. */
  salt?: string;
  maxRows?: number;
  maxBytes?: number;
  /** Sequence number of the first file (default 0). */
  firstSeq?: number;
}

export class DataFileWriter {
  private buffer: Row[] = [];
  private bufferBytes = 0;
  private seq: number;
  private readonly files: FileEntry[] = [];
  private closed = false;
  private put: Background | null = null;
  private readonly maxRows: number;
  private readonly maxBytes: number;

  constructor(private readonly opts: DataFileWriterOptions) {
    if (opts.folder !== '' && !opts.folder.endsWith('/')) throw new DagctlError('PARAM_INVALID', `folder must be '' or end with '/': "${opts.folder}"`);
    this.maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.seq = opts.firstSeq ?? 0;
  }

  /** Rows written so far (flushed or buffered). */
  get rowCount(): number {
    return this.files.reduce((n, f) => n + f.rows, 0) + this.buffer.length;
  }

  async write(rows: Row[]): Promise<void> {
    if (this.closed) throw new DagctlError('INTERNAL', 'DataFileWriter.write after close');
    // Sizes are estimated from a few sample rows per batch: measuring every row cost more CPU than
    // the Parquet encoding itself, and the byte bound only needs to be roughly right.
    const perRow = sampleRowBytes(rows);
    for (const r of rows) {
      this.buffer.push(r);
      this.bufferBytes += perRow;
      if (this.buffer.length >= this.maxRows || this.bufferBytes >= this.maxBytes) await this.flush();
    }
  }

  /**
   * Writes `batch` as files of at most maxRows rows (after any buffered rows), encoded by the
   * codec's encodeColumns (PARQUET_INVALID when it has none) and stored like any other file.
   */
  async writeColumns(batch: ColumnBatch): Promise<void> {
    if (this.closed) throw new DagctlError('INTERNAL', 'DataFileWriter.writeColumns after close');
    const encodeColumns = this.opts.codec.encodeColumns;
    if (encodeColumns === undefined) throw new DagctlError('PARQUET_INVALID', `codec ${this.opts.codec.name} cannot write columns`);
    await this.flush();
    for (let at = 0; at < batch.rows; at += this.maxRows) {
      const n = Math.min(this.maxRows, batch.rows - at);
      const columns: ColumnBatch['columns'] = {};
      for (const [name, c] of Object.entries(batch.columns)) {
        columns[name] = c.type === 'string' ? { type: 'string', data: c.data, start: c.start.subarray(at, at + n), len: c.len.subarray(at, at + n), ...(c.ids === undefined ? {} : { ids: c.ids.subarray(at, at + n) }) } : { type: 'int64', values: c.values.subarray(at, at + n) };
      }
      await this.store(await encodeColumns.call(this.opts.codec, this.opts.schema, { rows: n, columns }), n);
    }
  }

  /**
   * Stores `bytes`, one file of `rows` rows already encoded as this writer's codec encodes them
   * (e.g. by encodeColumns on another thread: gen/day-worker.ts), like any other file.
   */
  async writeEncoded(bytes: Uint8Array, rows: number): Promise<void> {
    if (this.closed) throw new DagctlError('INTERNAL', 'DataFileWriter.writeEncoded after close');
    await this.flush();
    await this.store(bytes, rows);
  }

  async close(): Promise<FileEntry[]> {
    if (!this.closed) {
      this.closed = true;
      await this.flush();
      if (this.put !== null) await settle(this.put);
      this.put = null;
    }
    return [...this.files];
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    await this.store(await this.opts.codec.encode(this.opts.schema, rows), rows.length);
  }

  private async store(bytes: Uint8Array, rows: number): Promise<void> {
    const sha256 = sha256Hex(bytes);
    const path = this.opts.folder + partFileName(this.seq++, sha256, this.opts.salt ?? '', this.opts.codec.extension);
    // The store write runs in the background while the next rows are buffered and encoded; one at a
    // time (the previous one is awaited first), and close() awaits the last.
    if (this.put !== null) await settle(this.put);
    this.put = background(this.opts.store.putIfAbsent(path, bytes));
    const e: FileEntry = { path, rows, bytes: bytes.byteLength, sha256 };
    const p = partitionOf(path);
    if (p !== undefined) e.partition = p;
    const b = bucketOfKey(path);
    if (b !== undefined) e.bucket = b;
    this.files.push(e);
  }
}

/** Cheap estimate of a row's in-memory size, to bound the buffer in bytes as well as rows. */
function sampleRowBytes(rows: Row[]): number {
  const n = rows.length;
  if (n === 0) return 0;
  const a = rows[0] as Row;
  const b = rows[n >> 1] as Row;
  const c = rows[n - 1] as Row;
  return (approxRowBytes(a) + approxRowBytes(b) + approxRowBytes(c)) / 3;
}

function approxRowBytes(r: Row): number {
  let n = 16;
  for (const k in r) {
    const v = r[k];
    n += 8 + (typeof v === 'string' ? v.length * 2 : v instanceof Uint8Array ? v.byteLength : 8);
  }
  return n;
}
