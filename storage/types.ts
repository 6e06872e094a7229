/**
 * Storage contracts: rows and schemas, the low-level ObjectStore port (local filesystem, S3), the
 * Parquet codec port, and the on-storage layout of datasets (commit markers, manifests, _CURRENT).
 *
 * Layout of a dataset at URI (see docs/architecture.md, "Datasets"):
 *   date=YYYY-MM-DD/part-NNNNN-<hash>.parquet   data files of date-partitioned datasets
 *   bucket=NNN/part-NNNNN-<hash>.dgsh           shuffle files (storage/shuffle), in task work areas (_work/<task>/…) only
 *   part-NNNNN-<hash>.parquet                   data files of unpartitioned datasets
 *   _commits/<instance-id>@<fp16>.json          commit marker of one task instance (create-only)
 *   _versions/<version>/_MANIFEST.json          the files of one published version
 *   _CURRENT                                    { "version", "path" } → the published version
 * Data files, markers and manifests are create-only; only _CURRENT is replaced (compare-and-swap).
 */

export type Value = string | number | bigint | boolean | null | Uint8Array;
export type Row = Record<string, Value>;

/** int64 values are JS numbers inside dagctl (codecs convert); they must be safe integers. */
export type ColumnType = 'string' | 'int64' | 'int32' | 'double' | 'boolean' | 'bytes';
export interface Field {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}
export type Schema = Field[];

export interface ObjectInfo {
  /** Key relative to the store root, '/'-separated, no leading slash. */
  key: string;
  size: number;
  /** Opaque version tag: the S3 ETag; locally sha256 of small objects, else size+mtime+inode. */
  etag: string;
  /** Last modification, epoch ms, when the store knows it (vacuum keeps objects it cannot age). */
  lastModified?: number;
}

/**
 * A flat key → bytes store rooted at a URI. Keys are '/'-separated paths relative to the root.
 * Implementations: storage/local/ (filesystem), storage/s3/ (S3 and compatibles). All must pass
 * test/conformance/object-store.ts.
 */
export interface ObjectStore {
  readonly rootUri: string;
  /** Every object whose key starts with prefix (recursive), sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Immediate child "folders" of prefix (prefix ends with '/' or is ''), sorted: for partition pruning. */
  listDirs(prefix: string): Promise<string[]>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Throws DagctlError STORAGE_NOT_FOUND when absent. */
  get(key: string): Promise<Uint8Array>;
  /**
   * Create-only write. If the key already exists with identical bytes (a retried write of our own)
   * it succeeds; with different bytes it throws STORAGE_CONFLICT. Never overwrites.
   */
  putIfAbsent(key: string, body: Uint8Array): Promise<ObjectInfo>;
  /**
   * Compare-and-swap write for pointers (_CURRENT): succeeds only when the object's current etag is
   * `expectedEtag` (null: the object must not exist). Otherwise STORAGE_PRECONDITION_FAILED.
   */
  putIfMatch(key: string, body: Uint8Array, expectedEtag: string | null): Promise<ObjectInfo>;
  /** Only for uncommitted staging garbage and `dataset vacuum`; master data is never deleted. */
  delete(key: string): Promise<void>;
  /**
   * Optional, for pollers (data triggers): a cheap token that changes whenever an object is added
   * directly in `folder` (a flat folder, ending in '/'), or null when the store cannot vouch for
   * it at this moment. Two equal non-null tokens, the first read before a listing, mean nothing
   * was added since that listing. Stores that cannot tell cheaply leave it out (callers list).
   */
  changeToken?(folder: string): Promise<string | null>;
  /**
   * Optional: `length` bytes of the object from `offset` (STORAGE_NOT_FOUND when absent; fewer
   * bytes when it ends before). Stores without it are read whole and cut (read.ts readEntry).
   */
  getRange?(key: string, offset: number, length: number): Promise<Uint8Array>;
}

/** Encodes/decodes one Parquet file. Implementations: storage/parquet/*.ts. */
/**
 * Column-at-a-time rows for writers that take them (ParquetCodec.encodeColumns): a REQUIRED
 * string column as UTF-8 byte ranges (value i is data[start[i], start[i] + len[i]) — copied as
 * they are, never decoded), an int64 column as safe integers. `rows` values in every column.
 */
export type ColumnValues =
  | {
      type: 'string';
      data: Uint8Array;
      start: Int32Array;
      len: Int32Array;
      /**
       * Optional: the producer's dictionary, ids[i] ≥ 0 for value i, equal ids exactly for equal
       * values (e.g. gen's URL variants): the flat writer then dictionary-encodes without hashing
       * bytes. Same file as without ids.
       */
      ids?: Int32Array;
    }
  | { type: 'int64'; values: Float64Array };
export interface ColumnBatch {
  rows: number;
  columns: Record<string, ColumnValues>;
}

export interface ParquetCodec {
  readonly name: string;
  /** File name extension of the files it writes (default 'parquet'; shuffle files: 'dgsh'). */
  readonly extension?: string;
  encode(schema: Schema, rows: Row[]): Promise<Uint8Array>;
  /**
   * The same file as encode() would write for the same rows, from columns (codecs that can: the
   * flat writer). Only REQUIRED string and int64 fields; anything else is PARQUET_INVALID.
   */
  encodeColumns?(schema: Schema, batch: ColumnBatch): Promise<Uint8Array>;
  /**
   * Reads rows in batches; `columns` projects. A string value that is not UTF-8 is
   * PARQUET_INVALID_UTF8 (column, row), or with `invalidUtf8: 'mark'` kept lossy and its row
   * marked (storage/parquet/utf8.ts).
   */
  decode(bytes: Uint8Array, opts?: { columns?: string[]; batchSize?: number; invalidUtf8?: 'error' | 'mark' }): AsyncIterable<Row[]>;
  readSchema(bytes: Uint8Array): Promise<Schema>;
  rowCount(bytes: Uint8Array): Promise<number>;
}

/** One data file as recorded in commit markers and manifests. */
export interface FileEntry {
  /** Relative to the dataset URI. */
  path: string;
  rows: number;
  bytes: number;
  sha256: string;
  /** date=… partition value, when the file is in a date partition. */
  partition?: string;
  /** bucket number, when the file is in a bucket=NNN folder. */
  bucket?: number;
  /**
   * Store etag of the file when it was listed (source datasets, where rows = -1 and sha256 = ''
   * until read): lets callers detect a source file replaced under them.
   */
  etag?: string;
  /**
   * Rows of the file this version no longer holds (merge-on-read view versions: a file of an
   * earlier version listed again instead of rewritten; storage/dataset/deletes.ts). Readers skip
   * them; `rows` stays the file's physical row count.
   */
  deletes?: DeletionVector;
  /**
   * Where this entry starts inside the object at `path` (absent: at 0, the whole object): the
   * entry is the `bytes` bytes from there. A shuffle writer puts its buckets' last files into one
   * object (storage/shuffle/writer.ts: one fsync, not one per bucket); read them with
   * storage/dataset/read.ts readEntry. Only in task work areas, never in a dataset's files.
   */
  offset?: number;
}

/** Sorted, distinct row positions of a file, varint-coded (storage/dataset/deletes.ts). */
export interface DeletionVector {
  count: number;
  /** base64 of LEB128 varints: the first position, then the gaps. */
  positions: string;
}

/** How a dataset's files are encoded: Parquet data files, or text lines (access logs). */
export type DatasetFormat = 'parquet' | 'text' | 'csv' | 'jsonl';

/** Written create-only when a task instance commits its output to a dataset. */
export interface CommitMarker {
  instanceId: string;
  fingerprint: string;
  runId: string;
  committedAt: string;
  files: FileEntry[];
  /** Small operator outputs (bloom filter bytes as base64, metrics) that downstream stages read. */
  blobs?: Record<string, string>;
  /**
   * The instance's metrics when it committed. A memoized instance reports them again: the engine
   * decides whether an iterative stage converged from them, so they must not be lost on a re-run.
   */
  metrics?: Record<string, number>;
  /** The instance's StageResult.narrow: a memoized instance prunes the same later instances. */
  narrow?: Record<string, number[]>;
}

export interface Manifest {
  version: string;
  dataset: string;
  createdAt: string;
  files: FileEntry[];
  rows: number;
  bytes: number;
  /** Who wrote this version (absent in versions written before producers were recorded). */
  producer?: Producer;
  /**
   * A rollup view's data extent (serving/view.ts scanBucketExtent): granularity → the first and
   * last bucket start (epoch s) over the version's live rows. Absent for other datasets and for
   * versions published before it was recorded (readers scan the files then).
   */
  bucketExtent?: BucketExtent;
  /**
   * A rollup view's key index (serving/key-index.ts): the object beside this manifest mapping each
   * key to its rows, so a one-key read touches only them. Absent: readers scan the key columns.
   */
  keyIndex?: KeyIndexRef;
}

/** Where a view version's key index is: its root object (named by its sha256) in the version folder. */
export interface KeyIndexRef {
  path: string;
  keys: number;
}

/** Granularity → min and max bucket start (epoch seconds) of a rollup view version's live rows. */
export type BucketExtent = Record<string, { min: number; max: number }>;

/** The run that produced a publication; `rollback` publications name the user's command instead. */
export interface Producer {
  /** DAG name (metadata.name): the owner of the dataset. */
  dag: string;
  dagHash: string;
  runId: string;
  /** When the producing run was created (ISO): a publication never replaces one of a later run. */
  runCreatedAt: string;
}

/** One publication: the version it made current, in the order of `_CURRENT` swaps. */
export interface Publication {
  /** 1, 2, 3, …: one more than the publication it replaced (compare-and-swap keeps it a chain). */
  seq: number;
  version: string;
  publishedAt: string;
  operation: 'publish' | 'rollback';
  producer?: Producer;
  rows: number;
  files: number;
  /** rollback: the seq whose version it restored. */
  restoredFrom?: number;
}

export interface CurrentPointer {
  version: string;
  /** Relative to the dataset URI: the version folder holding _MANIFEST.json. */
  path: string;
  /** The publication that made this version current (absent in pointers of older dagctl versions). */
  publication?: Publication;
  /** The earlier publications, oldest first (at most HISTORY_LIMIT, see storage/dataset/publish.ts). */
  history?: Publication[];
  /**
   * The view keeps a Delta Lake log (storage/dataset/delta-log.ts), which readers take the current
   * files from. Absent in pointers of older dagctl versions (readers then look for a log).
   */
  delta?: boolean;
}
