/**
 * Reading a dataset's files as a stream.
 *
 *   readRows(store, files, codec, { columns?, batchSize?, invalidUtf8? }) → AsyncIterable<Row[]>
 *     (PARQUET_INVALID_UTF8 from the codec gets the file: `details.file`, `uri`)
 *   readLines(store, files, { batchSize? })                 → AsyncIterable<string[]>
 *
 * Files are read in the given order, minus the rows their deletion vectors name (entry.deletes,
 * storage/dataset/deletes.ts), the next one prefetched while the current one is decoded; memory
 * holds two files' bytes plus one row group's rows. Parquet files are decoded with the given
 * codec, falling back to the other codec when it cannot open the file (storage/parquet/registry.ts). Text files are split on '\n' (a
 * trailing '\r' is dropped; `.gz` files are gunzipped), decoded as UTF-8 in chunks so one huge
 * string never exists; the last line of a file without a final newline is still returned.
 */
import { createGunzip } from 'node:zlib';
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { Readable } from 'node:stream';
import { Failure } from '../background.js';
import { decodeWithFallback } from '../parquet/registry.js';
import type { FileEntry, ObjectStore, ParquetCodec, Row } from '../types.js';
import { decodeDeletes, dropDeleted } from './deletes.js';

/**
 * The bytes of one file entry: the whole object, or for an entry with an `offset` (shuffle buckets
 * sharing one object) its `bytes` bytes from there — a ranged read where the store has one
 * (ObjectStore.getRange), else the object cut. An object too short for the entry is SHUFFLE_INVALID.
 */
export async function readEntry(store: ObjectStore, f: FileEntry): Promise<Uint8Array> {
  if (f.offset === undefined) return store.get(f.path);
  const b = store.getRange !== undefined ? await store.getRange(f.path, f.offset, f.bytes) : (await store.get(f.path)).subarray(f.offset, f.offset + f.bytes);
  if (b.byteLength !== f.bytes) throw new DagctlError('SHUFFLE_INVALID', `${store.rootUri}/${f.path}: ${f.bytes} bytes expected at offset ${f.offset}, the object holds ${b.byteLength} there`, { file: f.path, uri: store.rootUri, offset: f.offset, bytes: f.bytes, got: b.byteLength });
  return b;
}

/** Where an entry's bytes are, for messages and keys: its path, with `#offset` for a part of an object. */
export function entryLocation(f: FileEntry): string {
  return f.offset === undefined ? f.path : `${f.path}#${f.offset}`;
}

export async function* readRows(store: ObjectStore, files: FileEntry[], codec: ParquetCodec, opts: { columns?: string[]; batchSize?: number; invalidUtf8?: 'error' | 'mark'; check?: (file: FileEntry, bytes: Uint8Array) => Promise<void> } = {}): AsyncIterable<Row[]> {
  // The next file is fetched while this one is decoded (reads overlap compute; memory: two files'
  // bytes). A prefetch that fails is rethrown when its turn comes, never left unhandled.
  let next: Promise<Uint8Array | Failure> | null = null;
  const fetch = (i: number): Promise<Uint8Array | Failure> | null => {
    const f = files[i];
    return f === undefined ? null : readEntry(store, f).then((b) => b, (e: unknown) => new Failure(e));
  };
  next = fetch(0);
  for (let i = 0; next !== null; i++) {
    const got = await next;
    if (got instanceof Failure) throw got.error;
    next = fetch(i + 1);
    const f = files[i]!;
    const deleted = f.deletes === undefined ? null : decodeDeletes(f.deletes, f.rows, f.path);
    if (opts.check !== undefined) await opts.check(f, got);
    try {
      for await (const batch of decodeLive(codec, got, deleted, opts)) yield batch;
    } catch (e) {
      // The codec names the column and row; the file is known here.
      if (isDagctlError(e, 'PARQUET_INVALID_UTF8') && e.details.file === undefined) throw new DagctlError('PARQUET_INVALID_UTF8', `${store.rootUri}/${f.path}: ${e.message}`, { ...e.details, file: f.path, uri: store.rootUri });
      throw e;
    }
  }
}

/** One file's rows (decodeWithFallback) minus the positions in `deleted` (sorted), non-empty batches. */
export async function* decodeLive(codec: ParquetCodec, bytes: Uint8Array, deleted: Int32Array | null, opts: { columns?: string[]; batchSize?: number; invalidUtf8?: 'error' | 'mark' } = {}): AsyncIterable<Row[]> {
  let at = 0;
  const cursor = { i: 0 };
  for await (const batch of decodeWithFallback(codec, bytes, opts)) {
    const live = deleted === null ? batch : dropDeleted(batch, at, deleted, cursor);
    at += batch.length;
    if (live.length > 0) yield live;
  }
}

const CHUNK = 1 << 20;

export async function* readLines(store: ObjectStore, files: FileEntry[], opts: { batchSize?: number } = {}): AsyncIterable<string[]> {
  const batchSize = opts.batchSize ?? 10_000;
  let batch: string[] = [];
  for (const f of files) {
    const bytes = await readEntry(store, f);
    const chunks: AsyncIterable<Uint8Array> = f.path.endsWith('.gz') ? Readable.from([Buffer.from(bytes)]).pipe(createGunzip()) : slices(bytes);
    const decoder = new TextDecoder('utf-8');
    let rest = '';
    for await (const chunk of chunks) {
      const text = rest + decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        batch.push(l.endsWith('\r') ? l.slice(0, -1) : l);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    rest += decoder.decode();
    if (rest !== '') batch.push(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  }
  if (batch.length > 0) yield batch;
}

async function* slices(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
}
