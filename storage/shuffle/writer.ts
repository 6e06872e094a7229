/**
 * ShuffleFileWriter: the shuffle side of a stage in the DGSH format (format.ts): write(bucket, rows)
 * (or writeBlock(bucket, block, rows) with a block encoded from bytes: format.ts encodeRawBlock),
 * close() → FileEntry[] with bucket set, bucket-ascending; files
 * `<folder>bucket=NNN/part-NNNNN-<hash16>.dgsh` written create-only with content-derived names.
 * Each `write` is encoded into a block at once, so a bucket buffers compact bytes (~30 B per
 * pageview row) instead of row objects: a map instance's memory stays small and no row outlives its
 * chunk (long-lived rows would be promoted to the old generation and cost garbage collection).
 * A bucket's file is written once its blocks reach `maxBytes` (default 8 MiB), in the background
 * (at most 4 files in flight); at close, the buckets' last blocks go into shared objects
 * `<folder>part-NNNNN-<hash16>.dgsh` (no bucket folder) of per-bucket sections, each listed as an
 * entry with its `offset` (storage/types.ts FileEntry; read with storage/dataset/read.ts
 * readEntry) — one write and fsync per object instead of one per bucket, on stores with ranged
 * reads (ObjectStore.getRange; a single pending bucket, or a store without them, gets a file per
 * bucket as before). A shared object holds at most `maxSharedBytes` (default 64 MiB): the next
 * sections start another object (a bucket left alone in its group, e.g. one whose section is
 * larger than that, is written as its own per-bucket file), so
 * no buffer nears Node's Buffer size limit however many buckets there are. Sections carry the
 * format's SHARED_VERSION (format.ts): a reader that predates shared objects refuses them with
 * its version error rather than misreading. close() returns once every file is written (the
 * caller commits them only then) and rethrows the first failed write.
 * Preconditions: rows fit the schema (PARQUET_INVALID otherwise, as for Parquet files).
 */
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { bucketFolder, partFileName } from '../dataset/layout.js';
import type { FileEntry, ObjectStore, Row, Schema } from '../types.js';
import { background, type Background, settle } from '../background.js';
import { encodeBlock, encodeHeader } from './format.js';

export interface ShuffleFileWriterOptions {
  store: ObjectStore;
  schema: Schema;
  buckets: number;
  /** Folder holding the bucket=NNN/ folders ('' or ending with '/'). */
  folder: string;
  /** Identity of the writer (instance id); part of file names. */
  salt?: string;
  maxBytes?: number;
  /** Most bytes in one shared object of buckets' last sections (default 64 MiB). */
  maxSharedBytes?: number;
}

interface Pending {
  blocks: Uint8Array[];
  bytes: number;
  rows: number;
  seq: number;
}

export class ShuffleFileWriter {
  readonly buckets: number;
  private readonly header: Uint8Array;
  private readonly sharedHeader: Uint8Array;
  private readonly pending = new Map<number, Pending>();
  private readonly files: FileEntry[] = [];
  private readonly maxBytes: number;
  private readonly maxSharedBytes: number;
  private closed = false;
  private readonly inflight: Background[] = [];
  private sharedSeq = 0;

  constructor(private readonly opts: ShuffleFileWriterOptions) {
    if (!Number.isInteger(opts.buckets) || opts.buckets < 1) throw new DagctlError('PARAM_INVALID', `buckets must be a positive integer, got ${opts.buckets}`);
    if (opts.folder !== '' && !opts.folder.endsWith('/')) throw new DagctlError('PARAM_INVALID', `folder must be '' or end with '/': "${opts.folder}"`);
    this.buckets = opts.buckets;
    this.header = encodeHeader(opts.schema);
    this.sharedHeader = encodeHeader(opts.schema, { shared: true });
    this.maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
    this.maxSharedBytes = opts.maxSharedBytes ?? 64 * 1024 * 1024;
  }

  async write(bucket: number, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    this.check(bucket);
    await this.add(bucket, encodeBlock(this.opts.schema, rows), rows.length);
  }

  /**
   * Appends a block already encoded for this writer's schema (format.ts encodeRawBlock) holding
   * `rows` rows — for map stages that encode from bytes, not rows.
   */
  async writeBlock(bucket: number, block: Uint8Array, rows: number): Promise<void> {
    if (rows === 0) return;
    this.check(bucket);
    await this.add(bucket, block, rows);
  }

  private check(bucket: number): void {
    if (this.closed) throw new DagctlError('INTERNAL', 'ShuffleFileWriter.write after close');
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= this.buckets) throw new DagctlError('PARAM_INVALID', `bucket ${bucket} out of range 0..${this.buckets - 1}`);
  }

  private async add(bucket: number, block: Uint8Array, rows: number): Promise<void> {
    let p = this.pending.get(bucket);
    if (p === undefined) this.pending.set(bucket, (p = { blocks: [], bytes: 0, rows: 0, seq: 0 }));
    p.blocks.push(block);
    p.bytes += block.byteLength;
    p.rows += rows;
    if (p.bytes >= this.maxBytes) {
      // The write (temp file, fsync, link) runs in the background while rows keep coming; at most
      // MAX_INFLIGHT files (each ≤ maxBytes) are in flight.
      this.inflight.push(background(this.flush(bucket, p)));
      if (this.inflight.length >= MAX_INFLIGHT) await settle(this.inflight.shift()!);
    }
  }

  /** Every bucket's files, bucket-ascending (then in write order). */
  async close(): Promise<FileEntry[]> {
    if (!this.closed) {
      this.closed = true;
      const last = [...this.pending].filter(([, p]) => p.rows > 0);
      // Buckets' last files go into shared objects, each written (and fsynced) once: a file per
      // bucket cost an fsync each, serialized by the filesystem (~2–5 ms apiece here), the bulk of
      // a small instance's commit. Only on stores with ranged reads: elsewhere (S3) each reader
      // would fetch every section of the object to use one.
      if (last.length > 1 && this.opts.store.getRange !== undefined) {
        for (const group of this.sharedGroups(last)) {
          // Built one at a time, at most MAX_INFLIGHT in flight: memory stays bounded.
          if (group.length === 1) this.inflight.push(background(this.flush(group[0]![0], group[0]![1])));
          else this.inflight.push(background(this.flushShared(group)));
          if (this.inflight.length >= MAX_INFLIGHT) await settle(this.inflight.shift()!);
        }
      } else for (const [b, p] of last) this.inflight.push(background(this.flush(b, p)));
      await settle(...this.inflight.splice(0));
    }
    return [...this.files].sort((x, y) => (x.bucket ?? 0) - (y.bucket ?? 0));
  }

  /**
   * The pending buckets cut into consecutive groups of at most maxSharedBytes once laid out as
   * sections (a section larger than that is a group of its own).
   */
  private sharedGroups(last: Array<[number, Pending]>): Array<Array<[number, Pending]>> {
    const groups: Array<Array<[number, Pending]>> = [];
    let cur: Array<[number, Pending]> = [];
    let at = 0;
    for (const bp of last) {
      const size = this.sharedHeader.byteLength + bp[1].bytes;
      const start = pad8(at);
      if (cur.length > 0 && start + size > this.maxSharedBytes) {
        groups.push(cur);
        cur = [];
        at = 0;
      }
      cur.push(bp);
      at = pad8(at) + size;
    }
    if (cur.length > 0) groups.push(cur);
    return groups;
  }

  /**
   * Writes the buckets' pending blocks as one object `<folder>part-NNNNN-<hash16>.dgsh` of
   * consecutive sections, each a whole shuffle file (SHARED_VERSION header + blocks) starting at
   * a multiple of 8 (typed-array views stay aligned), and lists each as an entry with its bucket,
   * `offset`, `bytes` and the section's own sha256. The blocks are copied once, into the object.
   */
  private async flushShared(group: Array<[number, Pending]>): Promise<void> {
    const header = this.sharedHeader;
    let total = 0;
    for (const [, p] of group) total = pad8(total) + header.byteLength + p.bytes;
    const whole = new Uint8Array(total);
    const entries: FileEntry[] = [];
    let at = 0;
    for (const [bucket, p] of group) {
      const offset = pad8(at);
      at = offset;
      whole.set(header, at);
      at += header.byteLength;
      for (const b of p.blocks) {
        whole.set(b, at);
        at += b.byteLength;
      }
      const section = whole.subarray(offset, at);
      entries.push({ path: '', rows: p.rows, bytes: section.byteLength, sha256: sha256Hex(section), bucket, offset });
      p.blocks = [];
      p.bytes = 0;
      p.rows = 0;
    }
    if (at !== total) throw new DagctlError('INTERNAL', `shared shuffle object: laid out ${at} of ${total} bytes`);
    const path = this.opts.folder + partFileName(this.sharedSeq++, sha256Hex(entries.map((e) => `${e.bucket ?? 0}:${e.offset ?? 0}:${e.sha256}`).join('\n')), this.opts.salt ?? '', 'dgsh');
    for (const e of entries) this.files.push({ ...e, path });
    await this.opts.store.putIfAbsent(path, whole);
  }

  /** Takes the bucket's blocks (synchronously) and writes them as its next file. */
  private async flush(bucket: number, p: Pending): Promise<void> {
    if (p.rows === 0) return;
    const bytes = Buffer.concat([this.header, ...p.blocks]);
    const rows = p.rows;
    p.blocks = [];
    p.bytes = 0;
    p.rows = 0;
    const sha256 = sha256Hex(bytes);
    const path = this.opts.folder + bucketFolder(bucket) + partFileName(p.seq++, sha256, this.opts.salt ?? '', 'dgsh');
    const entry: FileEntry = { path, rows, bytes: bytes.byteLength, sha256, bucket };
    this.files.push(entry); // in flush order, so files are listed in write order per bucket
    await this.opts.store.putIfAbsent(path, bytes);
  }
}

const MAX_INFLIGHT = 4;
const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
