/**
 * A loaded version of a rollup view (operators/rollup/rollup.ts VIEW_SCHEMA: key columns — `url`, or
 * whatever else a view keys by — then granularity, bucket, pageviews, uniques, hll), indexed by key
 * for the serving layer.
 *
 *   currentVersion(store)                → the published version (the ONE place that reads it)
 *   loadView(store, { name?, cache, warm? }) → ViewSnapshot of that version
 *   snapshot.block(keyValues)            → KeyBlock | null: one key's rows (every granularity)
 *
 * Index: key → row runs (file, [start, end) row positions); rollup writes a key's rows together
 * (sorted by url within each bucket file), so a key is usually one run — the book's "collocate a
 * URL's data, one seek". A version published with a key index (serving/key-index.ts) is loaded by
 * reading it (every shard for a whole load; the root and the key's shard for a one-key load,
 * `only`, the CLI), with the data extent the publication recorded (Manifest.bucketExtent); an
 * index that cannot be used (KEY_INDEX_INVALID) and older versions are scanned: a whole load is one
 * pass over the files that also warms the cache with the first keys up to its budget; a one-key
 * load reads the key's rows from the row groups whose key statistics admit it. A query reads only
 * its key's block. Blocks live in a BlockCache (an LRU bounded in bytes, shared by all views of a
 * process); a miss re-reads just the key's runs (in place: the runs' row groups' pages), so memory
 * is the index (~100 bytes per key) + the cache budget + the file being read by an in-flight miss
 * — not the view's size.
 *
 * A snapshot never changes: it names one manifest's files. Deletion vectors of merge-on-read
 * versions are honoured (deleted positions are skipped at load and on reload).
 */
// hyparquet's footer parser at load; its row reader (scans, other layouts) only when one runs.
import { parquetMetadata } from 'hyparquet/src/metadata.js';
import { DagctlError, isDagctlError } from '../core/errors.js';
import { readCurrent } from '../storage/dataset/publish.js';
import { decodeDeletes } from '../storage/dataset/deletes.js';
import { snappyDecompressWasm } from '../storage/parquet/page-kernel.js';
import { exactArrayBuffer } from '../storage/parquet/values.js';
import { openColumnFile } from '../storage/parquet/column-scan.js';
import type { BucketExtent, FileEntry, KeyIndexRef, ObjectStore, ParquetCodec, Row } from '../storage/types.js';
import { GRANULARITIES, type Granularity } from '../domain/granularity.js';
import { KEY_SEP, lookupKey, readKeyIndex, VALUE_COLUMNS, type Run } from './key-index.js';
import { alignedBucket, extentOf, granularityOf, PageRows, sameBytes, widen, type Extent } from './view-rows.js';

export { extentOf, type Extent } from './view-rows.js';

export interface PublishedVersion {
  version: string;
  dataset: string;
  files: FileEntry[];
  /** Live rows of the version (the manifest's count). */
  rows: number;
  /** The data extent recorded at publication (absent in older versions: scanned at load). */
  bucketExtent?: BucketExtent;
  /** The key index recorded at publication (serving/key-index.ts; absent: one-key reads scan). */
  keyIndex?: KeyIndexRef;
}

/**
 * The view's current published version. Every read of "which version is current" in the serving
 * layer goes through here, so switching the publication format (e.g. to a Delta log) is a change
 * in this one function.
 */
export async function currentVersion(store: ObjectStore): Promise<PublishedVersion | null> {
  const cur = await readCurrent(store);
  if (cur === null) return null;
  const m = cur.manifest;
  return { version: cur.pointer.version, dataset: m.dataset, files: m.files, rows: m.rows, ...(m.bucketExtent !== undefined ? { bucketExtent: m.bucketExtent } : {}), ...(m.keyIndex !== undefined ? { keyIndex: m.keyIndex } : {}) };
}

/**
 * One key's rows in one contiguous layout: sorted by granularity (GRANULARITIES order), then by
 * bucket start, as typed arrays — a query finds a bucket by a binary search over its
 * granularity's hours (rowOf), with no per-row object and no hashing. The rows' HLL sketches are
 * concatenated, unchanged, in one buffer (`sketches`, row i's bytes at [sketchAt[i],
 * sketchAt[i+1])), each classified once at build (`sketchKind`; SKETCH_NONE: the row has no
 * sketch — a present zero-length sketch is SKETCH_OTHER, so it reaches mergeSketches' checks) so a
 * merge of well-formed sparse sketches (serving/query.ts mergeBlockSparse) reads them in place.
 */
export interface KeyBlock {
  /** Rows of granularity GRANULARITIES[g] are [first[g], first[g + 1]). */
  first: Int32Array;
  /** Bucket start / 3600 of each row (every granularity is whole hours), ascending within a granularity. */
  hour: Int32Array;
  pageviews: Float64Array;
  sketches: Uint8Array;
  sketchAt: Int32Array;
  /** SKETCH_NONE, SKETCH_SPARSE, SKETCH_DENSE (well-formed: header and length, precision `precision`) or SKETCH_OTHER (anything else: a merge of it goes through the checks of mergeSketches). */
  sketchKind: Uint8Array;
  /** The precision of the block's first well-formed sketch (0: none). */
  precision: number;
  bytes: number;
}

export const SKETCH_NONE = 0, SKETCH_SPARSE = 1, SKETCH_DENSE = 2, SKETCH_OTHER = 3;

/** The row of `block` holding granularity index g (GRANULARITIES) and bucket start hour · 3600, or -1. */
export function rowOf(block: KeyBlock, g: number, hour: number): number {
  const hours = block.hour;
  let lo = block.first[g]!, hi = block.first[g + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hours[mid]! < hour) lo = mid + 1;
    else hi = mid;
  }
  return lo < block.first[g + 1]! && hours[lo] === hour ? lo : -1;
}

/** Row i's sketch bytes (a view into the block; empty for a present zero-length sketch), or null: no sketch (SKETCH_NONE). */
export function sketchOf(block: KeyBlock, i: number): Uint8Array | null {
  return block.sketchKind[i] === SKETCH_NONE ? null : block.sketches.subarray(block.sketchAt[i], block.sketchAt[i + 1]);
}

/** A sketch's kind for KeyBlock.sketchKind: its header and length checked as mergeSketches checks them. */
function sketchKind(b: Uint8Array, p: number): number {
  if (b.length < 4 || b[0] !== 0x48 || b[1] !== 1 || b[2] !== p || p < 4 || p > 16) return SKETCH_OTHER;
  if (b[3] === 1) return b.length === 4 + (1 << p) ? SKETCH_DENSE : SKETCH_OTHER;
  if (b[3] !== 0 || b.length < 8) return SKETCH_OTHER;
  const n = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24);
  return n >= 0 && b.length === 8 + n * 5 ? SKETCH_SPARSE : SKETCH_OTHER;
}

/**
 * A bucket's key in KeyBlock.at: (start / 3600) · 8 + granularity index. Every granularity is whole
 * hours, so for any real date this is a small integer (a V8 Smi: hashed fast; start · 8 was a
 * heap number and the top cost of a query). One key per row only for starts aligned to their
 * granularity: BlockBuilder.add refuses the others (alignedBucket, VIEW_INVALID).
 */
export function slot(start: number, g: Granularity): number {
  return (start / 3600) * 8 + GRANULARITIES.indexOf(g);
}

/**
 * A key block's memory beyond its rows (17 bytes a row: hour, pageviews, sketchAt, sketchKind) and
 * sketch bytes: its six typed arrays (each an object, an ArrayBuffer and a backing store) and the
 * block object, with its cache node and map entry — measured on Node 20 (heapUsed + arrayBuffers
 * per one-row block, ~1.45 KB with a 35-character entry id, whose string BlockCache counts apart).
 */
export const BLOCK_FIXED_BYTES = 1400;

class BlockBuilder {
  readonly granularity: Granularity[] = [];
  readonly bucket: number[] = [];
  readonly pageviews: number[] = [];
  readonly hll: Array<Uint8Array | null> = [];
  bytes = 0;
  /** slot(bucket, g) → the row (in its file) of the key's row of that slot, to refuse a second one. */
  private readonly seen = new Map<number, number>();
  /**
   * Row `row` of `file`; VIEW_INVALID when its bucket is not aligned to g (slot), or when the key
   * already has a row of the same granularity and bucket (a view holds one; never keep either).
   */
  add(g: Granularity, bucket: number, pageviews: number, hll: Uint8Array | null, file: string, row: number): void {
    const aligned = alignedBucket(g, bucket, file, row);
    const sl = slot(aligned, g), first = this.seen.get(sl);
    if (first !== undefined) throw new DagctlError('VIEW_INVALID', `${file}: row ${row} repeats granularity ${g}, bucket ${aligned} of its key (the first is row ${first} of the key's files): a view holds one row per (key, granularity, bucket); republish the view`, { file, row, granularity: g, bucket: aligned });
    this.seen.set(sl, row);
    this.granularity.push(g);
    this.bucket.push(aligned);
    this.pageviews.push(pageviews);
    // Sketches are copied out of the decoded page (a view on it would pin the whole page).
    const own = hll === null ? null : hll.slice();
    this.hll.push(own);
    this.bytes += 48 + (own?.byteLength ?? 0);
  }
  build(): KeyBlock {
    const n = this.bucket.length;
    const gi = this.granularity.map((g) => GRANULARITIES.indexOf(g));
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => gi[x]! - gi[y]! || this.bucket[x]! - this.bucket[y]!);
    const first = new Int32Array(GRANULARITIES.length + 1);
    const hour = new Int32Array(n), pageviews = new Float64Array(n), sketchAt = new Int32Array(n + 1), sketchKind_ = new Uint8Array(n);
    let total = 0, precision = 0;
    for (const h of this.hll) {
      if (h === null) continue;
      total += h.length;
      if (precision === 0 && sketchKind(h, h[2] ?? 0) !== SKETCH_OTHER) precision = h[2]!;
    }
    const sketches = new Uint8Array(total);
    for (let k = 0, at = 0; k < n; k++) {
      const i = order[k]!;
      first[gi[i]! + 1] = first[gi[i]! + 1]! + 1;
      hour[k] = this.bucket[i]! / 3600;
      pageviews[k] = this.pageviews[i]!;
      sketchAt[k] = at;
      const h = this.hll[i]!;
      if (h !== null) {
        sketches.set(h, at);
        at += h.length;
        sketchKind_[k] = sketchKind(h, precision);
      }
      sketchAt[k + 1] = at;
    }
    for (let g = 0; g < GRANULARITIES.length; g++) first[g + 1] = first[g + 1]! + first[g]!;
    return { first, hour, pageviews, sketches, sketchAt, sketchKind: sketchKind_, precision, bytes: BLOCK_FIXED_BYTES + 17 * n + total };
  }
}

/** A BlockCache entry: a node of its recency list (most recent at the head). */
interface CacheNode { id: string; block: KeyBlock; cost: number; prev: CacheNode | null; next: CacheNode | null }

/**
 * An LRU of key blocks bounded by their bytes; entries are keyed by snapshot and key. A hit is one
 * map lookup and a move to the head of a linked recency list; eviction takes from its tail.
 */
export class BlockCache {
  private readonly map = new Map<string, CacheNode>();
  private head: CacheNode | null = null;
  private tail: CacheNode | null = null;
  bytes = 0;
  hits = 0;
  misses = 0;
  evictions = 0;
  constructor(readonly maxBytes: number) {}
  get(id: string): KeyBlock | undefined {
    const n = this.map.get(id);
    if (n === undefined) return undefined;
    if (n !== this.head) {
      this.unlink(n);
      this.push(n);
    }
    return n.block;
  }
  /** Caches b (an entry larger than the whole budget is not kept), evicting the least recently used. */
  set(id: string, b: KeyBlock): void {
    const old = this.map.get(id);
    if (old !== undefined) this.remove(old);
    // An entry costs its block's bytes and its id's string (at most two bytes a character).
    const cost = b.bytes + 2 * id.length;
    if (cost > this.maxBytes) return;
    const n: CacheNode = { id, block: b, cost, prev: null, next: null };
    this.map.set(id, n);
    this.push(n);
    this.bytes += cost;
    while (this.bytes > this.maxBytes && this.tail !== null) {
      this.remove(this.tail);
      this.evictions++;
    }
  }
  /** Drops every block of a snapshot (called when a newer version replaces it). */
  drop(prefix: string): void {
    for (const [k, n] of this.map) if (k.startsWith(prefix)) this.remove(n);
  }
  get size(): number {
    return this.map.size;
  }
  private remove(n: CacheNode): void {
    this.map.delete(n.id);
    this.unlink(n);
    this.bytes -= n.cost;
  }
  private unlink(n: CacheNode): void {
    if (n.prev === null) this.head = n.next;
    else n.prev.next = n.next;
    if (n.next === null) this.tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = n.next = null;
  }
  private push(n: CacheNode): void {
    n.next = this.head;
    if (this.head !== null) this.head.prev = n;
    this.head = n;
    if (this.tail === null) this.tail = n;
  }
}

let snapshots = 0;

export class ViewSnapshot {
  readonly id = `s${++snapshots}${KEY_SEP}`;
  private readonly loading = new Map<string, Promise<KeyBlock>>();
  constructor(
    readonly name: string,
    readonly version: string,
    readonly keyColumns: string[],
    readonly granularities: Granularity[],
    readonly extent: Extent | null,
    readonly hasHll: boolean,
    readonly keys: number,
    readonly rows: number,
    private readonly store: ObjectStore,
    private readonly files: FileEntry[],
    private readonly index: Map<string, Run[]>,
    private readonly cache: BlockCache,
  ) {}

  /** The key of the given key-column values (in keyColumns order). */
  static keyOf(values: string[]): string {
    return values.join(KEY_SEP);
  }

  /**
   * The key's block when it is cached (a hit, counted), null when the view lacks the key,
   * undefined when it must be read (block does): a query's hot path, without a promise.
   */
  cachedBlock(values: string[]): KeyBlock | null | undefined {
    const key = ViewSnapshot.keyOf(values);
    const hit = this.cache.get(this.id + key);
    if (hit !== undefined) {
      this.cache.hits++;
      return hit;
    }
    return this.index.has(key) ? undefined : null;
  }

  /** The key's block, from the cache or re-read from its row runs; null when the view lacks it. */
  async block(values: string[]): Promise<KeyBlock | null> {
    const key = ViewSnapshot.keyOf(values);
    const runs = this.index.get(key);
    if (runs === undefined) return null;
    const id = this.id + key;
    const hit = this.cache.get(id);
    if (hit !== undefined) {
      this.cache.hits++;
      return hit;
    }
    let p = this.loading.get(id);
    if (p === undefined) {
      this.cache.misses++;
      p = this.read(runs, values).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
      const b = await p;
      this.cache.set(id, b);
      return b;
    }
    return p;
  }

  /** Forgets this snapshot's cached blocks. */
  release(): void {
    this.cache.drop(this.id);
  }

  /** The key's rows, each checked to hold the key (KEY_INDEX_INVALID otherwise: the index is wrong). */
  private async read(runs: Run[], values: string[]): Promise<KeyBlock> {
    const b = new BlockBuilder();
    const byFile = new Map<number, Run[]>();
    for (const r of runs) {
      const l = byFile.get(r.file);
      if (l === undefined) byFile.set(r.file, [r]);
      else l.push(r);
    }
    for (const [fi, rs] of byFile) {
      const f = this.files[fi]!;
      await addRuns(b, await this.store.get(f.path), f, rs, this.hasHll, this.name, { columns: this.keyColumns, values });
    }
    return b.build();
  }
}

/**
 * Adds the rows of `runs` (all in file f, whose bytes are given) to b in file order, minus deleted
 * positions. Read in place where the layout allows (column-scan.ts: granularity, hll and the key
 * columns as byte pages of the runs' row groups, bucket and pageviews at their rows only), else
 * with hyparquet's row decoder over the group's span. With `key` (rows an index located), every
 * row read must hold exactly that key — its key columns' bytes equal to the key's UTF-8 — else
 * KEY_INDEX_INVALID naming the file, row group and row (the index does not describe the file).
 */
async function addRuns(b: BlockBuilder, bytes: Uint8Array, f: FileEntry, runs: Run[], hasHll: boolean, view: string, key?: { columns: string[]; values: string[] }): Promise<void> {
  const where = `${view}/${f.path}`;
  const deleted = f.deletes === undefined ? null : new Set(decodeDeletes(f.deletes, f.rows, f.path));
  let cf: ReturnType<typeof openColumnFile>;
  try {
    cf = openColumnFile(bytes);
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `${where}: ${e instanceof Error ? e.message : String(e)}`, { file: where }, { cause: e });
  }
  const want = key === undefined ? [] : key.values.map((v) => encoder.encode(v));
  const notKey = (g: number, row: number, column: string, got: Uint8Array | string): DagctlError =>
    new DagctlError('KEY_INDEX_INVALID', `${where}: row ${row} (row group ${g}), where the key index puts rows of key ${key!.values.join(', ')}, holds ${column} = ${JSON.stringify(typeof got === 'string' ? got : Buffer.from(got).toString('latin1'))}: the index does not describe this file; readers scan instead (republish the view to rebuild it)`, { file: where, rowGroup: g, row, column });
  const sorted = [...runs].sort((x, y) => x.start - y.start);
  for (let i = 1; i < sorted.length; i++) {
    // Overlapping runs would read a row twice (and count it twice): an index describing no file.
    if (sorted[i]!.start < sorted[i - 1]!.end) throw new DagctlError('KEY_INDEX_INVALID', `${where}: the key index gives overlapping row runs (${sorted[i - 1]!.start}..${sorted[i - 1]!.end}, ${sorted[i]!.start}..${sorted[i]!.end}); readers scan instead (republish the view to rebuild it)`, { file: where });
  }
  for (let g = 0; g < cf.rowGroups.length; g++) {
    const { rowStart, rows: groupRows } = cf.rowGroups[g]!;
    const rows: number[] = [];
    for (const r of sorted) {
      for (let p = Math.max(r.start, rowStart); p < Math.min(r.end, rowStart + groupRows); p++) if (deleted?.has(p) !== true) rows.push(p - rowStart);
    }
    if (rows.length === 0) continue;
    // Only the runs' rows are decoded (string-column.ts `rows`): the key check costs their index
    // entries and the key column's dictionary, not every row of the group.
    const at = Int32Array.from(rows);
    const gp = cf.byteArrayPages(g, 'granularity', at);
    const hp = hasHll ? cf.byteArrayPages(g, 'hll', at) : null;
    const kp = key === undefined ? [] : key.columns.map((c) => cf.byteArrayPages(g, c, at));
    if (gp !== null && (!hasHll || hp !== null) && kp.every((p) => p !== null)) {
      const nums = await cf.numbersAt(g, ['bucket', 'pageviews'], at, at.length);
      const gv = new PageRows(gp), hv = hp === null ? null : new PageRows(hp);
      const kv = kp.map((p) => new PageRows(p));
      for (let j = 0; j < at.length; j++) {
        const r = at[j]!;
        for (let k = 0; k < kv.length; k++) {
          const v = kv[k]!.seek(r);
          if (!sameBytes(v.data, v.start, v.len, want[k]!, 0, want[k]!.length)) throw notKey(g, rowStart + r, key!.columns[k]!, v.data.subarray(v.start, v.start + v.len));
        }
        b.add(granularityOf(gv.bytes(r), where), safeInt(nums.bucket![j]!, 'bucket', f.path), safeInt(nums.pageviews![j]!, 'pageviews', f.path), hv === null ? null : hv.bytes(r), where, rowStart + r);
      }
      continue;
    }
    // Another layout: hyparquet's row decoder over the group's span (strings as bytes), the wanted rows kept.
    const lo = rowStart + rows[0]!, hi = rowStart + rows[rows.length - 1]! + 1;
    const columns = ['granularity', 'bucket', 'pageviews', ...(hasHll ? ['hll'] : []), ...(key?.columns ?? [])];
    const got = await readRowRange(bytes, lo, hi, columns, where);
    const k0 = hasHll ? 4 : 3;
    for (const r of rows) {
      const row = got[rowStart + r - lo]!;
      for (let k = 0; k < want.length; k++) {
        // hyparquet hands STRING-annotated columns (foreign writers') back as text whatever `utf8` says.
        const v = row[k0 + k];
        const same = v instanceof Uint8Array ? sameBytes(v, 0, v.length, want[k]!, 0, want[k]!.length) : typeof v === 'string' && v === key!.values[k];
        if (!same) throw notKey(g, rowStart + r, key!.columns[k]!, v instanceof Uint8Array ? v : String(v));
      }
      b.add(granularityOf(textOrBytes(row[0]), where), num(row[1], 'bucket', f.path), num(row[2], 'pageviews', f.path), hasHll ? bytesOf(row[3], f.path) : null, where, rowStart + r);
    }
  }
}

const encoder = new TextEncoder();

function safeInt(n: number, column: string, path: string): number {
  if (!Number.isSafeInteger(n)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${path}: column ${column} holds ${n}, not an integer`, { file: path, column });
  return n;
}

/** A value read by a row decoder, for granularityOf. */
function textOrBytes(v: unknown): Uint8Array | string {
  return v instanceof Uint8Array ? v : String(v);
}
function num(v: unknown, column: string, path: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${path}: column ${column} holds ${String(v)}, not an integer`, { file: path, column });
  return n;
}
function bytesOf(v: unknown, path: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${path}: column hll is not bytes`, { file: path, column: 'hll' });
}

/** Rows [start, end) of a Parquet file, the given columns as arrays (only the row groups holding them are decoded). */
async function readRowRange(bytes: Uint8Array, start: number, end: number, columns: string[], where: string): Promise<unknown[][]> {
  try {
    const { parquetRead } = await import('hyparquet/src/read.js');
    return await new Promise<unknown[][]>((resolve, reject) => {
      parquetRead({
        file: exactArrayBuffer(bytes), columns, rowStart: start, rowEnd: end, utf8: false, compressors: { SNAPPY: snappyDecompressWasm },
        onComplete: (rows) => resolve(rows as unknown[][]),
      }).catch(reject);
    });
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `${where}: cannot read rows ${start}..${end}: ${String(e)}`, { file: where }, { cause: e });
  }
}

export interface LoadOptions {
  /** The view's name (default: the manifest's dataset name). */
  name?: string;
  cache: BlockCache;
  /**
   * Keep only this key's block at load (column → value; a one-shot query). Default: every key's,
   * while the cache budget allows.
   */
  only?: Record<string, string>;
  /** Read only the data extent (granularity and bucket columns): a snapshot with no keys (the speed layer's high-water mark). */
  extentOnly?: boolean;
  codec?: ParquetCodec;
  /** A version already read with currentVersion (default: read it now). */
  version?: PublishedVersion;
  /** Scan the files even when the version has a key index (a one-key load: its key columns; a whole load: every row, warming the cache). */
  scan?: boolean;
  /** Called when the version's key index is unusable (KEY_INDEX_INVALID) and the load scans instead. */
  onIndexFallback?: (e: DagctlError) => void;
}

/** Loads the current published version of the view at `store`: DATASET_NOT_FOUND when none is published. */
export async function loadView(store: ObjectStore, opts: LoadOptions): Promise<ViewSnapshot> {
  const cur = opts.version ?? (await currentVersion(store));
  if (cur === null) throw new DagctlError('QUERY_VIEW_UNKNOWN', `${store.rootUri} has no published view version (_CURRENT): run the DAG that produces it first`, { uri: store.rootUri });
  if (opts.only !== undefined || opts.extentOnly === true) return loadOne(store, cur, opts.only ?? {}, opts);
  if (cur.keyIndex !== undefined && cur.bucketExtent !== undefined && opts.scan !== true) {
    // The whole key index read (no pass over the files; blocks are read on first use), else the scan below.
    try {
      const ki = await readKeyIndex(store, cur.keyIndex, cur.files);
      const { granularities, extent } = extentOf(cur.bucketExtent);
      return new ViewSnapshot(opts.name ?? cur.dataset, cur.version, ki.keyColumns, granularities, extent, ki.hasHll, ki.keys.size, cur.rows, store, cur.files, ki.keys, opts.cache);
    } catch (e) {
      if (!isDagctlError(e, 'KEY_INDEX_INVALID')) throw e;
      opts.onIndexFallback?.(e);
    }
  }
  // The codec registry (parquetjs-lite among its codecs) only for a whole-view load: a one-key load needs hyparquet alone.
  const { decodeWithFallback, defaultCodec } = await import('../storage/parquet/registry.js');
  const codec = opts.codec ?? defaultCodec();
  const index = new Map<string, Run[]>();
  const builders = new Map<string, BlockBuilder>();
  let warmBytes = 0;
  const budget = opts.cache.maxBytes;
  let keyColumns: string[] | null = null;
  let hasHll = false;
  const seen: BucketExtent = {};
  let rows = 0;
  for (let fi = 0; fi < cur.files.length; fi++) {
    const f = cur.files[fi]!;
    const bytes = await store.get(f.path);
    const deleted = f.deletes === undefined ? null : new Set(decodeDeletes(f.deletes, f.rows, f.path));
    let pos = 0;
    for await (const batch of decodeWithFallback(codec, bytes)) {
      for (const row of batch) {
        const at = pos++;
        if (deleted?.has(at) === true) continue;
        if (keyColumns === null) {
          keyColumns = schemaOf(row, `${store.rootUri}/${f.path}`);
          hasHll = 'hll' in row;
        }
        let key = '';
        for (let k = 0; k < keyColumns.length; k++) {
          const c = keyColumns[k]!, v = row[c];
          if (v === null || v === undefined) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${store.rootUri}/${f.path}: row ${at} has no value in key column ${c}`, { file: f.path, column: c });
          key = k === 0 ? String(v) : key + KEY_SEP + String(v);
        }
        const gText = row.granularity;
        const g = granularityOf(textOrBytes(gText), f.path);
        // Every row checked (not only those of the blocks warmed here): a bad view fails its load.
        const bucket = alignedBucket(g, num(row.bucket, 'bucket', f.path), `${store.rootUri}/${f.path}`, at);
        widen(seen, g, bucket);
        rows++;
        let runs = index.get(key);
        if (runs === undefined) {
          index.set(key, (runs = []));
          // A block is built at load only from a key's first row on (so it holds all of them).
          if (warmBytes < budget) builders.set(key, new BlockBuilder());
        }
        const last = runs[runs.length - 1];
        if (last !== undefined && last.file === fi && last.end === at) last.end++;
        else runs.push({ file: fi, start: at, end: at + 1 });
        const b = builders.get(key);
        if (b !== undefined) {
          const before = b.bytes;
          b.add(g, bucket, num(row.pageviews, 'pageviews', f.path), hasHll ? bytesOf(row.hll, f.path) : null, `${store.rootUri}/${f.path}`, at);
          warmBytes += b.bytes - before;
        }
      }
    }
  }
  const { granularities, extent } = extentOf(seen);
  const snap = new ViewSnapshot(opts.name ?? cur.dataset, cur.version, keyColumns ?? ['url'], granularities, extent, hasHll, index.size, rows, store, cur.files, index, opts.cache);
  for (const [key, b] of builders) opts.cache.set(snap.id + key, b.build());
  return snap;
}

/** The key columns of a view row; refuses rows that are not a rollup view's. */
function schemaOf(row: Row, where: string): string[] {
  for (const c of ['granularity', 'bucket', 'pageviews']) {
    if (!(c in row)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: no column ${c}: not a rollup view (url…, granularity, bucket, pageviews, uniques, hll)`, { file: where, column: c });
  }
  const keys = Object.keys(row).filter((c) => !VALUE_COLUMNS.has(c));
  if (keys.length === 0) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: no key column (such as url)`, { file: where });
  return keys;
}

const BMP_SAFE = /^[\u0000-\ud7ff]*$/;

/** Whether a row group's key-column statistics (min/max, when present and comparable) admit the key `only`. */
function admits(rg: ReturnType<typeof parquetMetadata>['row_groups'][number], keyColumns: string[], only: Record<string, string>): boolean {
  return keyColumns.every((c) => {
    const want = only[c] ?? '';
    const stats = rg.columns.find((cc) => cc.meta_data?.path_in_schema.join('.') === c)?.meta_data?.statistics;
    const min = stats?.min_value ?? stats?.min, max = stats?.max_value ?? stats?.max;
    if (typeof min !== 'string' || typeof max !== 'string' || !BMP_SAFE.test(want) || !BMP_SAFE.test(min) || !BMP_SAFE.test(max)) return true;
    return min <= want && want <= max;
  });
}

/** A view file's Parquet metadata; refuses a file that is not a rollup view's (no granularity, bucket, pageviews or key column). */
function rollupMetadata(file: ArrayBuffer, where: string): ReturnType<typeof parquetMetadata> {
  let meta: ReturnType<typeof parquetMetadata>;
  try {
    meta = parquetMetadata(file);
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `${where}: not a readable parquet file: ${String(e)}`, { file: where }, { cause: e });
  }
  const names = meta.schema.slice(1).map((e) => e.name);
  for (const c of ['granularity', 'bucket', 'pageviews']) {
    if (!names.includes(c)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: no column ${c}: not a rollup view (url…, granularity, bucket, pageviews, uniques, hll)`, { file: where, column: c });
  }
  if (names.every((c) => VALUE_COLUMNS.has(c))) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: no key column (such as url)`, { file: where });
  return meta;
}

/** Widens x by one file's live rows (granularity and bucket read as columns, no row objects); returns their count. */
async function addFileExtent(x: BucketExtent, file: ArrayBuffer, meta: ReturnType<typeof parquetMetadata>, deleted: Set<number> | null, path: string, where: string): Promise<number> {
  const g = new Array<unknown>(Number(meta.num_rows)), b = new Array<unknown>(Number(meta.num_rows));
  try {
    const { parquetRead } = await import('hyparquet/src/read.js');
    await parquetRead({
      file, metadata: meta, columns: ['granularity', 'bucket'], compressors: { SNAPPY: snappyDecompressWasm },
      onChunk: (c) => {
        const into = c.columnName === 'granularity' ? g : b;
        const data = c.columnData as ArrayLike<unknown>;
        for (let i = 0; i < data.length; i++) into[c.rowStart + i] = data[i];
      },
    });
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `${where}: cannot read granularity, bucket: ${String(e)}`, { file: where }, { cause: e });
  }
  let rows = 0;
  for (let i = 0; i < g.length; i++) {
    if (deleted?.has(i) === true) continue;
    const gi = granularityOf(textOrBytes(g[i]), path);
    widen(x, gi, alignedBucket(gi, num(b[i], 'bucket', path), path, i));
    rows++;
  }
  return rows;
}

/**
 * Which rows [start, end) of a file hold the wanted key: its key columns read as columns (raw
 * bytes compared with the wanted values' UTF-8, no row objects, no strings decoded).
 */
async function keyMatches(file: ArrayBuffer, meta: ReturnType<typeof parquetMetadata>, columns: string[], want: string[], start: number, end: number, where: string): Promise<boolean[]> {
  const hits = new Uint8Array(end - start);
  const bytes = new Map(columns.map((c, j) => [c, encoder.encode(want[j])]));
  const strings = new Map(columns.map((c, j) => [c, want[j]!]));
  try {
    const { parquetRead } = await import('hyparquet/src/read.js');
    await parquetRead({
      file, metadata: meta, columns, rowStart: start, rowEnd: end, utf8: false, compressors: { SNAPPY: snappyDecompressWasm },
      onChunk: (c) => {
        const wb = bytes.get(c.columnName), ws = strings.get(c.columnName);
        if (wb === undefined || ws === undefined) return;
        const data = c.columnData as ArrayLike<unknown>;
        for (let i = 0; i < data.length; i++) {
          const at = c.rowStart + i - start;
          if (at < 0 || at >= hits.length) continue;
          const v = data[i];
          if (v instanceof Uint8Array ? sameBytes(v, 0, v.length, wb, 0, wb.length) : v !== null && v !== undefined && String(v) === ws) hits[at]!++;
        }
      },
    });
  } catch (e) {
    throw new DagctlError('PARQUET_INVALID', `${where}: cannot read ${columns.join(', ')} of rows ${start}..${end}: ${String(e)}`, { file: where }, { cause: e });
  }
  return Array.from(hits, (n) => n === columns.length);
}

/**
 * The data extent of a rollup view version's files (live rows): what the publication records in
 * its manifest (Manifest.bucketExtent) and what a reader scans for when a version lacks it.
 * DATASET_SCHEMA_MISMATCH when the files are not a rollup view's.
 */
export async function scanBucketExtent(store: ObjectStore, files: FileEntry[]): Promise<BucketExtent> {
  const x: BucketExtent = {};
  for (const f of files) {
    const where = `${store.rootUri}/${f.path}`;
    const file = exactArrayBuffer(await store.get(f.path));
    const deleted = f.deletes === undefined ? null : new Set(decodeDeletes(f.deletes, f.rows, f.path));
    await addFileExtent(x, file, rollupMetadata(file, where), deleted, f.path, where);
  }
  return x;
}

/**
 * loadView for one key (`only`): per file, the data extent from the granularity and bucket columns
 * alone (columnar chunks, no row objects), and the key's rows only from the row groups whose key
 * statistics (min/max; views are sorted by key within each file) can hold it.
 */
async function loadOne(store: ObjectStore, cur: PublishedVersion, only: Record<string, string>, opts: LoadOptions): Promise<ViewSnapshot> {
  if (cur.keyIndex !== undefined && cur.bucketExtent !== undefined && opts.extentOnly !== true && opts.scan !== true) {
    try {
      return await loadIndexed(store, cur, cur.keyIndex, cur.bucketExtent, only, opts);
    } catch (e) {
      // A missing, corrupt or stale index: scan (the answer stays right), and say so.
      if (!isDagctlError(e, 'KEY_INDEX_INVALID')) throw e;
      opts.onIndexFallback?.(e);
    }
  }
  const index = new Map<string, Run[]>();
  const block = new BlockBuilder();
  let keyColumns: string[] | null = null;
  let hasHll = false;
  let onlyKey = '';
  // The data extent: recorded in the manifest at publication, else scanned here (older versions).
  const scanned: BucketExtent | null = cur.bucketExtent === undefined ? {} : null;
  let rows = cur.bucketExtent === undefined ? 0 : cur.rows;
  for (let fi = 0; fi < cur.files.length; fi++) {
    const f = cur.files[fi]!;
    const where = `${store.rootUri}/${f.path}`;
    const bytes = await store.get(f.path);
    const file = exactArrayBuffer(bytes);
    const meta = rollupMetadata(file, where);
    const names = meta.schema.slice(1).map((e) => e.name);
    const keys = names.filter((c) => !VALUE_COLUMNS.has(c));
    if (keyColumns === null) {
      keyColumns = keys;
      hasHll = names.includes('hll');
      onlyKey = keyColumns.map((c) => only[c] ?? '').join(KEY_SEP);
    } else if (keys.join(',') !== keyColumns.join(',')) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: key columns ${keys.join(', ')} differ from ${keyColumns.join(', ')}`, { file: where });
    const deleted = f.deletes === undefined ? null : new Set(decodeDeletes(f.deletes, f.rows, f.path));
    if (scanned !== null) rows += await addFileExtent(scanned, file, meta, deleted, f.path, where);
    // Extent recorded, no key wanted: the first file's schema is all there is to read.
    else if (opts.extentOnly === true) break;
    // The key's rows: only row groups whose statistics admit every key value.
    let start = 0;
    for (const rg of meta.row_groups) {
      const end = start + Number(rg.num_rows);
      if (opts.extentOnly !== true && admits(rg, keyColumns, only)) {
        // Key columns first; then only the key's runs, with the value columns (sketches included).
        const hit = await keyMatches(file, meta, keyColumns, keyColumns.map((c) => only[c] ?? ''), start, end, where);
        const mine: Run[] = [];
        for (let i = 0; i < hit.length; i++) {
          const at = start + i;
          if (!hit[i] || deleted?.has(at) === true) continue;
          const last = mine[mine.length - 1];
          if (last !== undefined && last.end === at) last.end++;
          else mine.push({ file: fi, start: at, end: at + 1 });
        }
        if (mine.length > 0) {
          let runs = index.get(onlyKey);
          if (runs === undefined) index.set(onlyKey, (runs = []));
          runs.push(...mine);
          await addRuns(block, bytes, f, mine, hasHll, opts.name ?? cur.dataset);
        }
      }
      start = end;
    }
  }
  const { granularities, extent } = extentOf(scanned ?? cur.bucketExtent ?? {});
  const snap = new ViewSnapshot(opts.name ?? cur.dataset, cur.version, keyColumns ?? ['url'], granularities, extent, hasHll, index.size, rows, store, cur.files, index, opts.cache);
  if (index.size > 0) opts.cache.set(snap.id + onlyKey, block.build());
  return snap;
}

/**
 * loadView for one key through the version's key index (serving/key-index.ts): the index's root
 * and the key's shard, then only the key's rows (checked to hold the key). KEY_INDEX_INVALID when
 * the index cannot be used (the caller scans).
 */
async function loadIndexed(store: ObjectStore, cur: PublishedVersion, ref: KeyIndexRef, extentRec: BucketExtent, only: Record<string, string>, opts: LoadOptions): Promise<ViewSnapshot> {
  const found = await lookupKey(store, ref, cur.files, only);
  const name = opts.name ?? cur.dataset;
  const values = found.keyColumns.map((c) => only[c] ?? '');
  const key = values.join(KEY_SEP);
  const index = new Map<string, Run[]>();
  const block = new BlockBuilder();
  if (found.runs.length > 0) {
    const byFile = new Map<number, Run[]>();
    for (const r of found.runs) {
      const l = byFile.get(r.file);
      if (l === undefined) byFile.set(r.file, [r]);
      else l.push(r);
    }
    for (const [fi, rs] of [...byFile].sort((x, y) => x[0] - y[0])) {
      const f = cur.files[fi]!;
      await addRuns(block, await store.get(f.path), f, rs, found.hasHll, `${store.rootUri}`, { columns: found.keyColumns, values });
    }
    index.set(key, found.runs);
  }
  const { granularities, extent } = extentOf(extentRec);
  const snap = new ViewSnapshot(name, cur.version, found.keyColumns, granularities, extent, found.hasHll, index.size, cur.rows, store, cur.files, index, opts.cache);
  if (index.size > 0) opts.cache.set(snap.id + key, block.build());
  return snap;
}
