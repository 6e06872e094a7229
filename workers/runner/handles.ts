/**
 * Operator-facing handles over storage: InputHandle (stream rows or lines of a file list),
 * OutputHandle (a DataFileWriter per output), the ShuffleOutput (a ShuffleFileWriter into the task's
 * work area) and PriorStage (bucket b of the previous stage's committed files, and its blobs).
 * Counts rows read and written for the instance's result and cost sample.
 */
import type { InputHandle, OutputHandle, OutputWriter, PriorStage, RawFile, ShuffleOutput, ShuffleWriter, VersionFile } from '../../operators/types.js';
import type { CommittedOutput } from '../../scheduler/model.js';
import { fileRowCount, readSchemaOf } from '../../storage/parquet/registry.js';
import { ShuffleFileWriter } from '../../storage/shuffle/writer.js';
import { parseJson } from '../../storage/dataset/layout.js';
import { entryLocation, readEntry, readLines, readRows } from '../../storage/dataset/read.js';
import { decodeDeletes, encodeDeletes, liveRows, unionDeletes } from '../../storage/dataset/deletes.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import type { ColumnBatch, CommitMarker, DatasetFormat, FileEntry, ObjectStore, ParquetCodec, Row, Schema } from '../../storage/types.js';
import { DagctlError } from '../../core/errors.js';
import { storeFor } from './stores.js';
import { checkFileSchema, type InputContract } from './contract.js';

export class Counters {
  rowsIn = 0;
  rowsOut = 0;
  firstReadAt = 0;
}

export function inputHandle(name: string, uri: string, files: FileEntry[], codec: ParquetCodec, counters: Counters, now: () => number, contract: InputContract | null = null, format?: DatasetFormat): InputHandle {
  // Each file's schema is checked against the contract once, on the bytes already fetched.
  const checked = new Set<string>();
  const check = async (f: FileEntry, bytes: Uint8Array): Promise<void> => {
    if (contract === null || checked.has(entryLocation(f))) return;
    checkFileSchema(contract, f.path, await readSchemaOf(codec, bytes));
    checked.add(entryLocation(f));
  };
  let bytes = 0;
  let rows = 0;
  let deletedRows = 0;
  let rowsUnknown = false;
  for (const f of files) {
    bytes += f.bytes;
    rows += liveRows(f);
    if (f.rows < 0) rowsUnknown = true;
    deletedRows += f.deletes?.count ?? 0;
  }
  const mark = (n: number): void => {
    if (counters.firstReadAt === 0) counters.firstReadAt = now();
    counters.rowsIn += n;
  };
  let schemaMemo: Promise<Schema | null> | null = null;
  // Raw reads count too (the cost model fits P per input row): each file's rows once, from its
  // entry, or from its header/footer when the entry does not know them (source datasets).
  const counted = new Set<string>();
  let memo: VersionFile[] | null = null;
  // Built once per handle: OutputWriter.carry looks its file up here, once per carried file.
  const versionFiles = (): VersionFile[] => (memo ??= files.map((f) => ({
    path: entryLocation(f),
    bytes: f.bytes,
    entry: f,
    deleted: f.deletes === undefined ? null : decodeDeletes(f.deletes, f.rows, `${uri}/${f.path}`),
    read: async () => {
      const bytes = await readEntry(await storeFor(uri), f);
      await check(f, bytes);
      if (!counted.has(entryLocation(f))) {
        counted.add(entryLocation(f));
        mark(f.rows >= 0 ? liveRows(f) : fileRowCount(bytes));
      }
      return bytes;
    },
  })));
  return {
    ...(format === undefined ? {} : { format }),
    name,
    bytes,
    rows,
    ...(rowsUnknown ? { rowsUnknown } : {}),
    deletedRows,
    files: files.length,
    ...(contract !== null && contract.notNull.length > 0 ? { notNull: contract.notNull } : {}),
    schema() {
      schemaMemo ??= (async () => {
        const first = files[0];
        if (first === undefined) return null;
        const store = await storeFor(uri);
        return readSchemaOf(codec, await readEntry(store, first));
      })();
      return schemaMemo;
    },
    async *batches(opts) {
      if (files.length === 0) return;
      const store = await storeFor(uri);
      for await (const b of readRows(store, files, codec, { ...(opts ?? {}), check })) {
        mark(b.length);
        yield b;
      }
    },
    ...(deletedRows > 0 ? {} : { rawFiles: (): RawFile[] => versionFiles() }),
    filesWithDeletes: versionFiles,
    async *lines() {
      if (files.length === 0) return;
      const store = await storeFor(uri);
      for await (const b of readLines(store, files)) {
        mark(b.length);
        yield b;
      }
    },
  };
}

/** One output dataset of one instance: at most one writer, opened by the operator. */
export class OutputBinding implements OutputHandle {
  private writer: DataFileWriter | null = null;
  private readonly carried: FileEntry[] = [];
  constructor(
    readonly name: string,
    readonly uri: string,
    private readonly store: ObjectStore,
    private readonly codec: ParquetCodec,
    private readonly folder: string,
    private readonly salt: string,
    private readonly counters: Counters,
    private readonly previousFn: () => Promise<InputHandle | null>,
  ) {}

  open(schema: Schema): OutputWriter {
    if (this.writer !== null) throw new DagctlError('INTERNAL', `output ${this.name} opened twice`);
    const w = new DataFileWriter({ store: this.store, codec: this.codec, schema, folder: this.folder, salt: this.salt });
    this.writer = w;
    const counters = this.counters;
    const out: OutputWriter = {
      async write(rows: Row[]) {
        counters.rowsOut += rows.length;
        await w.write(rows);
      },
    };
    if (this.codec.encodeColumns !== undefined) {
      out.writeColumns = async (batch: ColumnBatch) => {
        counters.rowsOut += batch.rows;
        await w.writeColumns(batch);
      };
    }
    out.carry = (file, deleted) => this.carry(file, deleted);
    return out;
  }

  /** A file of the previous version listed again with a (wider) deletion vector; see OutputWriter.carry. */
  private async carry(file: VersionFile, deleted: Int32Array): Promise<void> {
    const prev = (await this.previousFn())?.filesWithDeletes?.().find((f) => f.entry.path === file.entry.path && f.entry.sha256 === file.entry.sha256);
    if (prev === undefined) throw new DagctlError('INTERNAL', `output ${this.name}: carried file ${file.entry.path} is not in the previous version`, { path: file.entry.path });
    const entry = prev.entry;
    if (this.carried.some((f) => f.path === entry.path)) throw new DagctlError('INTERNAL', `output ${this.name}: file ${entry.path} carried twice`, { path: entry.path });
    const last = deleted[deleted.length - 1];
    if (last !== undefined && entry.rows >= 0 && last >= entry.rows) throw new DagctlError('INTERNAL', `output ${this.name}: row ${last} of ${entry.path} deleted, the file has ${entry.rows}`, { path: entry.path });
    // The new vector must keep every earlier deletion (a version never resurrects a row).
    if (prev.deleted !== null && unionDeletes(prev.deleted, deleted).length !== deleted.length) throw new DagctlError('INTERNAL', `output ${this.name}: carrying ${entry.path} would restore a deleted row`, { path: entry.path });
    // Empty `deleted` ⊇ the earlier vector means the entry had none: it is carried as it is.
    this.carried.push(deleted.length === 0 ? entry : { ...entry, deletes: encodeDeletes(deleted) });
  }

  previous(): Promise<InputHandle | null> {
    return this.previousFn();
  }

  async close(): Promise<FileEntry[]> {
    return [...(this.writer === null ? [] : await this.writer.close()), ...this.carried];
  }
}

/**
 * Shuffle files live for one run (they are re-read by the next stage, then only kept for
 * memoization) and are read only by dagctl: written in the DGSH format (storage/shuffle), which
 * writes and reads several times faster than Parquet from JS (no BigInt, strings via a dictionary),
 * each chunk encoded as it is written (ShuffleFileWriter: bytes buffered, not rows).
 */
export class ShuffleBinding implements ShuffleOutput {
  private writer: ShuffleFileWriter | null = null;
  constructor(
    readonly buckets: number,
    private readonly store: ObjectStore,
    private readonly folder: string,
    private readonly salt: string,
  ) {}

  open(schema: Schema): ShuffleWriter {
    if (this.writer !== null) throw new DagctlError('INTERNAL', 'shuffle output opened twice');
    const w = new ShuffleFileWriter({ store: this.store, schema, buckets: this.buckets, folder: this.folder, salt: this.salt });
    this.writer = w;
    return { buckets: this.buckets, write: (b, rows) => w.write(b, rows), writeBlock: (b, block, rows) => w.writeBlock(b, block, rows) };
  }

  async close(): Promise<FileEntry[]> {
    return this.writer === null ? [] : this.writer.close();
  }
}

export function priorStage(outputs: CommittedOutput[], codec: ParquetCodec, counters: Counters, now: () => number, blobCache: Map<string, Record<string, string>>): PriorStage {
  const uri = outputs[0]?.uri ?? '';
  const files = outputs.flatMap((o) => o.files);
  return {
    bucket: (b) => inputHandle(`prior.bucket${b}`, uri, files.filter((f) => f.bucket === b), codec, counters, now),
    all: () => inputHandle('prior', uri, files, codec, counters, now),
    blobs: (name) => {
      const out: Uint8Array[] = [];
      for (const o of outputs) {
        const b = blobCache.get(`${o.uri}|${o.marker}`)?.[name];
        if (b !== undefined) out.push(Buffer.from(b, 'base64'));
      }
      return out;
    },
  };
}

/** Blobs live inside stage commit markers; they are loaded before the operator runs (blobs() is sync). */
export async function loadPriorBlobs(outputs: CommittedOutput[]): Promise<Map<string, Record<string, string>>> {
  const cache = new Map<string, Record<string, string>>();
  for (const o of outputs) {
    if (o.blobs === undefined || o.blobs.length === 0) continue;
    const store = await storeFor(o.uri);
    const marker = parseJson<CommitMarker>(await store.get(o.marker), o.marker);
    cache.set(`${o.uri}|${o.marker}`, marker.blobs ?? {});
  }
  return cache;
}
