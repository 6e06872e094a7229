/**
 * BucketedWriter: the shuffle side of a stage — B buckets, one DataFileWriter per bucket, created
 * lazily on the first row for that bucket, under `<folder>bucket=NNN/`.
 *
 *   const w = new BucketedWriter({ store, codec, schema, buckets: 16, folder: 'stage/', salt })
 *   await w.write(b, rows)            // rows already routed to bucket b
 *   await w.writeByKey(rows, keyOf)   // routed by core/hash.ts bucketOf(keyOf(row), buckets)
 *   const files = await w.close()     // every bucket's files, bucket-ascending; entries carry bucket
 */
import { DagctlError } from '../../core/errors.js';
import { bucketOf } from '../../core/hash.js';
import type { FileEntry, ObjectStore, ParquetCodec, Row, Schema } from '../types.js';
import { bucketFolder } from './layout.js';
import { DataFileWriter } from './writer.js';

export interface BucketedWriterOptions {
  store: ObjectStore;
  codec: ParquetCodec;
  schema: Schema;
  buckets: number;
  /** Folder holding the bucket=NNN/ folders ('' or ending with '/'). */
  folder: string;
  salt?: string;
  maxRows?: number;
  maxBytes?: number;
}

export class BucketedWriter {
  readonly buckets: number;
  private readonly writers = new Map<number, DataFileWriter>();

  constructor(private readonly opts: BucketedWriterOptions) {
    if (!Number.isInteger(opts.buckets) || opts.buckets < 1) throw new DagctlError('PARAM_INVALID', `buckets must be a positive integer, got ${opts.buckets}`);
    this.buckets = opts.buckets;
  }

  async write(bucket: number, rows: Row[]): Promise<void> {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= this.buckets) throw new DagctlError('PARAM_INVALID', `bucket ${bucket} out of range 0..${this.buckets - 1}`);
    if (rows.length === 0) return;
    let w = this.writers.get(bucket);
    if (w === undefined) {
      const o: ConstructorParameters<typeof DataFileWriter>[0] = { store: this.opts.store, codec: this.opts.codec, schema: this.opts.schema, folder: this.opts.folder + bucketFolder(bucket) };
      if (this.opts.salt !== undefined) o.salt = this.opts.salt;
      if (this.opts.maxRows !== undefined) o.maxRows = this.opts.maxRows;
      if (this.opts.maxBytes !== undefined) o.maxBytes = this.opts.maxBytes;
      w = new DataFileWriter(o);
      this.writers.set(bucket, w);
    }
    await w.write(rows);
  }

  async writeByKey(rows: Row[], keyOf: (r: Row) => string): Promise<void> {
    const routed = new Map<number, Row[]>();
    for (const r of rows) {
      const b = bucketOf(keyOf(r), this.buckets);
      let list = routed.get(b);
      if (list === undefined) routed.set(b, (list = []));
      list.push(r);
    }
    for (const [b, list] of routed) await this.write(b, list);
  }

  async close(): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    for (const b of [...this.writers.keys()].sort((x, y) => x - y)) {
      for (const f of await (this.writers.get(b) as DataFileWriter).close()) out.push({ ...f, bucket: b });
    }
    return out;
  }
}
