/**
 * The Delta Lake transaction log of a view (`<view>/_delta_log/`): foreign engines (delta-rs,
 * Spark, DuckDB's delta reader, Trino) read exactly the current version, and earlier ones by time
 * travel; dagctl's own readers take the current files from it (readDeltaView).
 *
 *   deltaCommitKey(version)              → `_delta_log/<version, 20 digits>.json`
 *   hasDeltaLog(store)                   → whether the view has a log
 *   readDeltaSnapshot(store, version?)   → { version, files, protocol, schemaString, seq, info } | null (no log)
 *   readDeltaView(store, seq?)           → the latest snapshot as a Manifest (cached per view) | null
 *   nextSchemaString(store, codec, prev, files) → the schemaString a publication of `files` would record
 *   deltaColumns(schemaString, where)    → its top-level columns in dagctl's types (migration guard)
 *   deltaHistory(store)                  → every version the log holds (files, rows, dagctl's record)
 *   syncDeltaLog(store, pointer, codec)  → Delta versions written (one per publication not yet logged)
 *   expireDeltaLog(store, { retentionMs }) → log entries deleted: those past retention before a checkpoint
 *   verifyDeltaLog(store)                → DeltaCheck: the log readable, its snapshot = the current
 *                                          manifest's files, every one stored (DELTA_LOG_INVALID else)
 *
 * Contract: Delta version v records one publication of `_CURRENT` (commitInfo.dagctl.seq): the
 * first logged publication is version 0 (a view published before it had a log starts its log at
 * the oldest publication from which every manifest is still stored). Each commit is derived from
 * the publication record and its immutable manifest alone — `protocol` (reader 1 / writer 2; reader
 * 3 / writer 7 with table feature `deletionVectors` from the first version with a deletion vector
 * on) and `metaData` on version 0, on that upgrade and when the schema changes; `add` for each
 * logical file (path + deletion vector) the previous snapshot lacks (size, modificationTime, stats
 * numRecords, tags dagctl.sha256, an inline deletionVector: delta-dv.ts), `remove` for each it
 * drops (with its deletion vector); `commitInfo` (WRITE or RESTORE, with dagctl's seq, version,
 * dataset, producer, rows) — so every writer derives the same bytes, and commits are written
 * create-only in order: a concurrent writer's identical commit is accepted, a crash leaves the rest
 * to the next publication's sync. A missing or corrupt commit, checkpoint or deletion vector, or a
 * gap → DELTA_LOG_INVALID naming the key. Every CHECKPOINT_INTERVAL versions a Parquet checkpoint
 * (delta-checkpoint.ts) and `_last_checkpoint` are written, so readers (foreign ones and dagctl's)
 * read the checkpoint and the commits after it.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { BucketExtent, ColumnType, KeyIndexRef, CurrentPointer, DeletionVector, FileEntry, Manifest, ObjectStore, ParquetCodec, Producer, Publication, Schema } from '../types.js';
// delta-checkpoint.js (hyparquet-writer) and the codec registry are imported where used: a reader
// of a view without a checkpoint (`dagctl query`) loads neither.
import { decodeDeletes, encodeDeletes, liveRows } from './deletes.js';
import { descriptorPositions, dvUniqueId, inlineDescriptor, type DeletionVectorDescriptor } from './delta-dv.js';
import { bucketOfKey, manifestKey, parseJson, partitionOf } from './layout.js';
import { publications, readManifest, readPublished } from './publish.js';

export const DELTA_LOG_PREFIX = '_delta_log/';
const COMMIT_RE = /^_delta_log\/(\d{20})\.json$/;

export interface DeltaFile {
  path: string;
  size: number;
  /** stats.numRecords (-1 when the add has no stats). */
  rows: number;
  /** tags["dagctl.sha256"] ('' when absent: a file written by another engine or an older dagctl). */
  sha256: string;
  /** The add's deletion vector (null: none), and its rows in dagctl's encoding. */
  dv: DeletionVectorDescriptor | null;
  deletes?: DeletionVector;
  /** The add action that listed it (for checkpoints). */
  add: Record<string, unknown>;
}

/** What dagctl recorded in a commit's commitInfo.dagctl. */
export interface DeltaCommitInfo {
  seq: number;
  /** dagctl's version name (the `_versions/<version>` folder of the publication). */
  version: string;
  dataset?: string;
  rows?: number;
  producer?: Producer;
  restoredFrom?: number;
  /** A rollup view's data extent (Manifest.bucketExtent), so readers need not scan for it. */
  bucketExtent?: BucketExtent;
  /** A rollup view's key index (Manifest.keyIndex). */
  keyIndex?: KeyIndexRef;
  /** commitInfo.timestamp (ms). */
  timestamp: number;
  operation: string;
}

export interface DeltaSnapshot {
  version: number;
  /** Current files by path. */
  files: Map<string, DeltaFile>;
  schemaString: string | null;
  /** The last metaData action (for checkpoints). */
  metaData: Record<string, unknown> | null;
  /** The last protocol action (null: none read; dagctl's logs start with one). */
  protocol: DeltaProtocol | null;
  /** The publication (seq) the version records, null when the commit is not dagctl's. */
  seq: number | null;
  /** The commit's dagctl record (null when the commit is not dagctl's). */
  info: DeltaCommitInfo | null;
}

/** Every this many versions (10 as Spark's default), a checkpoint of the snapshot is written. */
export const CHECKPOINT_INTERVAL = 10;
export interface DeltaProtocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}
const PROTOCOL: DeltaProtocol = { minReaderVersion: 1, minWriterVersion: 2 };
/** A table with deletion vectors: table features (reader 3, writer 7) naming `deletionVectors`. */
const DV_PROTOCOL: DeltaProtocol = { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] };

function hasDvFeature(p: DeltaProtocol | null): boolean {
  return p !== null && p.minReaderVersion >= 3 && (p.readerFeatures ?? []).includes('deletionVectors');
}
export const LAST_CHECKPOINT_KEY = `_delta_log/_last_checkpoint`;
/** The add tag carrying dagctl's content hash of a file (FileEntry.sha256). */
const SHA256_TAG = 'dagctl.sha256';

export function deltaCheckpointKey(version: number): string {
  return `${DELTA_LOG_PREFIX}${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

export function deltaCommitKey(version: number): string {
  return `${DELTA_LOG_PREFIX}${String(version).padStart(20, '0')}.json`;
}

export async function hasDeltaLog(store: ObjectStore): Promise<boolean> {
  if ((await store.head(LAST_CHECKPOINT_KEY)) !== null || (await store.head(deltaCommitKey(0))) !== null) return true;
  return (await commitVersions(store)).length > 0;
}

async function commitVersions(store: ObjectStore): Promise<number[]> {
  const out: number[] = [];
  for (const o of await store.list(DELTA_LOG_PREFIX)) {
    const m = COMMIT_RE.exec(o.key);
    if (m?.[1] !== undefined) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/**
 * The latest snapshot each view's log was read at in this process, with its commit's text. Delta
 * commits are immutable, so a later read re-reads that one commit (the log may have been deleted
 * and restarted: a different text drops the entry) and only the commits after it. Bounded (LRU).
 */
interface CachedSnapshot {
  snap: DeltaSnapshot;
  text: string;
  view?: DeltaView;
}
const SNAPSHOTS = new Map<string, CachedSnapshot>();
const SNAPSHOT_CACHE_LIMIT = 256;

/** Forgets every cached snapshot (benchmarks measure a cold read with it). */
export function clearDeltaSnapshotCache(): void {
  SNAPSHOTS.clear();
}

function remember(root: string, entry: CachedSnapshot): void {
  SNAPSHOTS.delete(root);
  SNAPSHOTS.set(root, entry);
  if (SNAPSHOTS.size > SNAPSHOT_CACHE_LIMIT) SNAPSHOTS.delete(SNAPSHOTS.keys().next().value!);
}

function cloneSnapshot(s: DeltaSnapshot): DeltaSnapshot {
  return { ...s, files: new Map(s.files) };
}

async function getText(store: ObjectStore, key: string): Promise<string | null> {
  try {
    return new TextDecoder().decode(await store.get(key));
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) return null;
    throw e;
  }
}

/**
 * The latest snapshot from the cache: the cached commit re-read (unchanged, else undefined: read
 * afresh), then the commits after it. With `seq` equal to the cached snapshot's publication, no
 * commit after it is probed (the caller's `_CURRENT` named that publication).
 */
async function fromCache(store: ObjectStore, seq: number | undefined): Promise<CachedSnapshot | undefined> {
  const hit = SNAPSHOTS.get(store.rootUri);
  if (hit === undefined) return undefined;
  if ((await getText(store, deltaCommitKey(hit.snap.version))) !== hit.text) {
    SNAPSHOTS.delete(store.rootUri);
    return undefined;
  }
  if (seq !== undefined && hit.snap.seq === seq) return hit;
  let snap: DeltaSnapshot | null = null;
  let text = hit.text;
  for (;;) {
    const v = (snap ?? hit.snap).version + 1;
    const t = await getText(store, deltaCommitKey(v));
    if (t === null) break;
    snap ??= cloneSnapshot(hit.snap);
    applyCommit(store, deltaCommitKey(v), t, snap);
    snap.version = v;
    text = t;
  }
  if (snap === null) return hit;
  const entry = { snap, text };
  remember(store.rootUri, entry);
  return entry;
}

/**
 * The snapshot at `version` (default: the latest): from the newest checkpoint at or before it
 * (`_last_checkpoint`, else none), then the JSON commits after it; null when the view has no log.
 * Writers replay (so a corrupt checkpoint or a gap refuses them); readers pass `cached`: the latest
 * snapshot is cached per view (above), so a repeated read costs one small get (plus one per new
 * commit) and none of the checkpoint's.
 */
export async function readDeltaSnapshot(store: ObjectStore, version?: number, opts: { seq?: number; cached?: boolean } = {}): Promise<DeltaSnapshot | null> {
  if (version === undefined && opts.cached === true) {
    const hit = await fromCache(store, opts.seq);
    if (hit !== undefined) return cloneSnapshot(hit.snap);
  }
  const r = await replay(store, version);
  if (r === null) return null;
  if (version === undefined) remember(store.rootUri, { snap: cloneSnapshot(r.snap), text: r.text });
  return r.snap;
}

async function replay(store: ObjectStore, version: number | undefined): Promise<{ snap: DeltaSnapshot; text: string } | null> {
  const snap: DeltaSnapshot = { version: -1, files: new Map(), schemaString: null, metaData: null, protocol: null, seq: null, info: null };
  const cp = await lastCheckpoint(store);
  let text = '';
  if (cp !== null && (version === undefined || version >= cp)) {
    // From the checkpoint: probe the commits after it (no listing of every commit ever written).
    // Re-applying commit cp on its checkpoint changes nothing and gives its commitInfo.
    const first = await getText(store, deltaCommitKey(cp));
    if (first === null) throw invalid(store, deltaCommitKey(cp), 'missing (its checkpoint is named by _last_checkpoint)');
    await applyCheckpoint(store, cp, snap);
    applyCommit(store, deltaCommitKey(cp), first, snap);
    text = first;
    for (let v = cp + 1; version === undefined || v <= version; v++) {
      const t = await getText(store, deltaCommitKey(v));
      if (t === null) {
        if (version !== undefined) throw invalid(store, deltaCommitKey(v), `missing (the log has versions ${cp}…${v - 1} after its checkpoint): a gap, or a version that does not exist`);
        break;
      }
      applyCommit(store, deltaCommitKey(v), t, snap);
      snap.version = v;
      text = t;
    }
    return { snap, text };
  }
  const versions = await commitVersions(store);
  if (versions.length === 0) return null;
  const last = version ?? versions.at(-1)!;
  const have = new Set(versions);
  for (let v = 0; v <= last; v++) {
    const key = deltaCommitKey(v);
    if (!have.has(v)) throw invalid(store, key, `missing (the log has versions ${versions[0]}…${versions.at(-1)}): a gap, or a version that does not exist`);
    const t = await getText(store, key);
    if (t === null) throw invalid(store, key, 'missing');
    applyCommit(store, key, t, snap);
    snap.version = v;
    text = t;
  }
  return { snap, text };
}

/** A view's current version as the Delta log says: the files of its latest snapshot, as a manifest. */
export interface DeltaView {
  /** The Delta version. */
  version: number;
  /** dagctl's record of the publication it logs (null: not dagctl's commit). */
  info: DeltaCommitInfo | null;
  /** The snapshot's files as FileEntries (sorted by path; rows from stats, sha256 from tags). */
  manifest: Manifest;
}

/**
 * The current version of a view from its Delta log (latest checkpoint, then the commits after it;
 * cached per view and version, see readDeltaSnapshot), null when the view has no log. `seq`: the
 * publication `_CURRENT` names (a hint: when the cached snapshot logs it, nothing else is read).
 */
export async function readDeltaView(store: ObjectStore, seq?: number): Promise<DeltaView | null> {
  let entry = await fromCache(store, seq);
  if (entry === undefined) {
    const r = await replay(store, undefined);
    if (r === null) return null;
    entry = { snap: r.snap, text: r.text };
    remember(store.rootUri, entry);
  }
  entry.view ??= await viewOf(store, entry.snap);
  const v = entry.view;
  return { ...v, manifest: { ...v.manifest, files: [...v.manifest.files] } };
}

async function viewOf(store: ObjectStore, snap: DeltaSnapshot): Promise<DeltaView> {
  const files: FileEntry[] = [...snap.files.values()]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => {
      const e: FileEntry = { path: f.path, rows: f.rows, bytes: f.size, sha256: f.sha256 };
      if (f.deletes !== undefined) e.deletes = f.deletes;
      const p = partitionOf(f.path);
      if (p !== undefined) e.partition = p;
      const b = bucketOfKey(f.path);
      if (b !== undefined) e.bucket = b;
      return e;
    });
  const info = snap.info;
  // Commits of an older dagctl do not name the dataset: its manifest does.
  const dataset = info?.dataset ?? (info !== null && info.version !== '' ? (await readManifest(store, info.version))?.dataset : undefined) ?? '';
  const manifest: Manifest = {
    version: info?.version || `delta-${snap.version}`,
    dataset,
    createdAt: new Date(info?.timestamp ?? 0).toISOString(),
    files,
    rows: files.reduce((n, f) => n + liveRows(f), 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
  };
  if (info?.producer !== undefined) manifest.producer = info.producer;
  if (info?.bucketExtent !== undefined) manifest.bucketExtent = info.bucketExtent;
  if (info?.keyIndex !== undefined) manifest.keyIndex = info.keyIndex;
  return { version: snap.version, info, manifest };
}

/** One Delta version as `dataset history` shows it. */
export interface DeltaHistoryEntry {
  version: number;
  info: DeltaCommitInfo | null;
  files: number;
  /** Live rows of the snapshot (Σ numRecords; -1 when a file has no stats). */
  rows: number;
}

/**
 * Every version the log still holds, oldest first (from the oldest commit on; a log whose early
 * commits were expired starts at the checkpoint of its oldest commit), null without a log.
 */
export async function deltaHistory(store: ObjectStore): Promise<DeltaHistoryEntry[] | null> {
  const versions = await commitVersions(store);
  if (versions.length === 0) return null;
  const snap: DeltaSnapshot = { version: -1, files: new Map(), schemaString: null, metaData: null, protocol: null, seq: null, info: null };
  const start = versions[0]!;
  if (start > 0) await applyCheckpoint(store, start, snap);
  const have = new Set(versions);
  const out: DeltaHistoryEntry[] = [];
  for (let v = start; v <= versions.at(-1)!; v++) {
    const key = deltaCommitKey(v);
    const t = have.has(v) ? await getText(store, key) : null;
    if (t === null) throw invalid(store, key, `missing (the log has versions ${start}…${versions.at(-1)}): a gap`);
    applyCommit(store, key, t, snap);
    snap.version = v;
    let rows = 0;
    for (const f of snap.files.values()) rows = rows < 0 || f.rows < 0 ? -1 : rows + f.rows;
    out.push({ version: v, info: snap.info, files: snap.files.size, rows });
  }
  return out;
}

/**
 * Log cleanup (Delta's delta.logRetentionDuration): deletes the commits and checkpoints older
 * than `retentionMs` that lie before the newest checkpoint which is itself older than that — so
 * the log still starts at a checkpoint (kept with its commit), every version within retention
 * stays readable by time travel, and nothing at or after that checkpoint is touched. Objects of
 * unknown age are kept. Returns the deleted keys (with `dryRun`, what would be deleted).
 */
export async function expireDeltaLog(store: ObjectStore, opts: { retentionMs: number; now?: number; dryRun?: boolean; log?: (line: string) => void }): Promise<string[]> {
  const cutoff = (opts.now ?? Date.now()) - opts.retentionMs;
  const objects = await store.list(DELTA_LOG_PREFIX);
  const CP_RE = /^_delta_log\/(\d{20})\.checkpoint\.parquet$/;
  let keepFrom = -1;
  for (const o of objects) {
    const m = CP_RE.exec(o.key);
    if (m?.[1] !== undefined && o.lastModified !== undefined && o.lastModified <= cutoff) keepFrom = Math.max(keepFrom, Number(m[1]));
  }
  if (keepFrom <= 0) return [];
  const out: string[] = [];
  for (const o of objects) {
    const m = COMMIT_RE.exec(o.key) ?? CP_RE.exec(o.key);
    if (m?.[1] === undefined || Number(m[1]) >= keepFrom) continue;
    if (!(o.lastModified !== undefined && o.lastModified <= cutoff)) continue;
    opts.log?.(`${opts.dryRun === true ? 'would delete' : 'delete'} ${o.key} (Delta log entry before the checkpoint of version ${keepFrom}, past log retention)`);
    if (opts.dryRun !== true) await store.delete(o.key);
    out.push(o.key);
  }
  return out;
}

async function lastCheckpoint(store: ObjectStore): Promise<number | null> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(LAST_CHECKPOINT_KEY);
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) return null;
    throw e;
  }
  let v: unknown;
  try {
    v = (JSON.parse(new TextDecoder().decode(bytes)) as { version?: unknown }).version;
  } catch {
    throw invalid(store, LAST_CHECKPOINT_KEY, 'not JSON');
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(store, LAST_CHECKPOINT_KEY, 'no version');
  return v;
}

async function applyCheckpoint(store: ObjectStore, version: number, snap: DeltaSnapshot): Promise<void> {
  const key = deltaCheckpointKey(version);
  let rows: Record<string, unknown>[];
  try {
    rows = await (await import('./delta-checkpoint.js')).readCheckpoint(await store.get(key));
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) throw invalid(store, key, 'missing (named by _last_checkpoint)');
    throw invalid(store, key, `unreadable: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const r of rows) {
    const add = r.add as Record<string, unknown> | undefined | null;
    const meta = r.metaData as { schemaString?: unknown } | undefined;
    const protocol = r.protocol as DeltaProtocol | undefined | null;
    if (add !== undefined && add !== null) {
      const f = deltaFileOf(add, key);
      if (f === null) throw invalid(store, key, 'an add without path/size');
      snap.files.set(f.path, f);
    } else if (meta !== undefined && meta !== null && typeof meta.schemaString === 'string') {
      snap.schemaString = meta.schemaString;
      snap.metaData = meta;
    } else if (protocol !== undefined && protocol !== null) {
      snap.protocol = protocol;
    }
  }
  snap.version = version;
}

/** The file an add action lists (null when it lacks path or size); `where` names the log entry. */
function deltaFileOf(add: Record<string, unknown>, where: string): DeltaFile | null {
  if (typeof add.path !== 'string' || typeof add.size !== 'number') return null;
  let rows = -1;
  if (typeof add.stats === 'string') {
    try {
      const n = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords;
      if (typeof n === 'number') rows = n;
    } catch {
      rows = -1; // unreadable stats are optional in Delta: the row count is unknown
    }
  }
  const tags = add.tags as Record<string, unknown> | null | undefined;
  const sha = tags?.[SHA256_TAG];
  const path = decodeURIComponent(add.path);
  const f: DeltaFile = { path, size: add.size, rows, sha256: typeof sha === 'string' ? sha : '', dv: null, add };
  const dv = add.deletionVector as DeletionVectorDescriptor | null | undefined;
  if (dv !== undefined && dv !== null) {
    if (rows < 0) throw new DagctlError('DELTA_LOG_INVALID', `${where}: ${path} has a deletion vector but no stats.numRecords`, { file: where });
    const positions = descriptorPositions(dv, `${where} (${path})`);
    if (positions.length > 0 && positions.at(-1)! >= rows) throw new DagctlError('DELTA_LOG_INVALID', `${where}: the deletion vector of ${path} deletes row ${positions.at(-1)!} of ${rows}`, { file: where });
    f.dv = dv;
    if (positions.length > 0) f.deletes = encodeDeletes(positions);
  }
  return f;
}

function applyCommit(store: ObjectStore, key: string, text: string, snap: DeltaSnapshot): void {
  snap.seq = null;
  snap.info = null;
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let action: Record<string, unknown>;
    try {
      action = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw invalid(store, key, `line ${i + 1} is not JSON`);
    }
    if (typeof action !== 'object' || action === null) throw invalid(store, key, `line ${i + 1} is not an action object`);
    const add = action.add as Record<string, unknown> | undefined;
    const remove = action.remove as { path?: unknown } | undefined;
    const protocol = action.protocol as DeltaProtocol | undefined;
    const meta = action.metaData as { schemaString?: unknown } | undefined;
    const info = action.commitInfo as { timestamp?: unknown; operation?: unknown; dagctl?: Record<string, unknown> } | undefined;
    if (add !== undefined) {
      const f = deltaFileOf(add, `${key} line ${i + 1}`);
      if (f === null) throw invalid(store, key, `line ${i + 1}: add without path/size`);
      snap.files.set(f.path, f);
    } else if (remove !== undefined) {
      if (typeof remove.path !== 'string') throw invalid(store, key, `line ${i + 1}: remove without path`);
      // The logical file (path, deletion vector) a remove names; the add of the same commit (a
      // new deletion vector for the path) may come before or after it.
      const path = decodeURIComponent(remove.path);
      const cur = snap.files.get(path);
      const rdv = (remove as { deletionVector?: DeletionVectorDescriptor | null }).deletionVector;
      if (cur !== undefined && dvUniqueId(cur.dv) === dvUniqueId(rdv)) snap.files.delete(path);
    } else if (protocol !== undefined) {
      snap.protocol = protocol;
    } else if (meta !== undefined) {
      if (typeof meta.schemaString !== 'string') throw invalid(store, key, `line ${i + 1}: metaData without schemaString`);
      snap.schemaString = meta.schemaString;
      snap.metaData = meta;
    } else if (info !== undefined && typeof info.dagctl?.seq === 'number') {
      const d = info.dagctl;
      snap.seq = d.seq as number;
      const rec: DeltaCommitInfo = { seq: d.seq as number, version: typeof d.version === 'string' ? d.version : '', timestamp: typeof info.timestamp === 'number' ? info.timestamp : 0, operation: typeof info.operation === 'string' ? info.operation : 'WRITE' };
      if (typeof d.dataset === 'string') rec.dataset = d.dataset;
      if (typeof d.rows === 'number') rec.rows = d.rows;
      if (typeof d.restoredFrom === 'number') rec.restoredFrom = d.restoredFrom;
      if (d.producer !== null && typeof d.producer === 'object') rec.producer = d.producer as Producer;
      if (d.bucketExtent !== null && typeof d.bucketExtent === 'object') rec.bucketExtent = d.bucketExtent as BucketExtent;
      if (d.keyIndex !== null && typeof d.keyIndex === 'object') rec.keyIndex = d.keyIndex as KeyIndexRef;
      snap.info = rec;
    }
  }
}

function invalid(store: ObjectStore, key: string, why: string): DagctlError {
  return new DagctlError('DELTA_LOG_INVALID', `${store.rootUri}/${key}: ${why}; the view's Delta log is unreadable (restore the file, or delete _delta_log/ to have the next publication start a new log)`, { root: store.rootUri, file: key });
}

/**
 * Writes the Delta commits of every publication `pointer` records that the log lacks. `known`: a
 * snapshot the caller replayed just before (reused when no commit was added since: one replay per
 * publication).
 */
export async function syncDeltaLog(store: ObjectStore, pointer: CurrentPointer, codec: ParquetCodec, known?: DeltaSnapshot | null): Promise<number[]> {
  const written: number[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const reuse = attempt === 0 && known !== undefined && (await store.head(deltaCommitKey((known?.version ?? -1) + 1))) === null;
    const snap = reuse ? known : await readDeltaSnapshot(store);
    const pubs = publications(pointer);
    let todo: Publication[];
    if (snap === null) todo = await loggablePublications(store, pubs);
    else if (snap.seq === null) throw invalid(store, deltaCommitKey(snap.version), 'its commitInfo has no dagctl seq: not written by dagctl');
    else todo = pubs.filter((p) => p.seq > snap.seq!);
    const state: DeltaSnapshot = snap ?? { version: -1, files: new Map(), schemaString: null, metaData: null, protocol: null, seq: null, info: null };
    let conflict = false;
    for (const pub of todo) {
      const manifest = await readManifest(store, pub.version);
      if (manifest === null) throw invalid(store, manifestKey(pub.version), `publication ${pub.seq} (version ${pub.version}) cannot be logged: its manifest is gone (vacuumed)`);
      const { text, next } = await commitFor(store, codec, state, manifest, pub);
      const key = deltaCommitKey(state.version + 1);
      try {
        await store.putIfAbsent(key, new TextEncoder().encode(text));
      } catch (e) {
        if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
        conflict = true; // another writer logged a different publication as this version: re-read
        break;
      }
      written.push(state.version + 1);
      Object.assign(state, next, { version: state.version + 1 });
      remember(store.rootUri, { snap: cloneSnapshot(state), text });
      if ((state.version + 1) % CHECKPOINT_INTERVAL === 0) await writeCheckpoint(store, state);
    }
    if (!conflict) return written;
  }
  throw new DagctlError('STORAGE_PRECONDITION_FAILED', `${store.rootUri}: the Delta log kept changing under this writer`, { root: store.rootUri });
}

/**
 * A view without a log (a view that had `delta: false`) starts it at the oldest publication from
 * which every manifest is still stored.
 */
async function loggablePublications(store: ObjectStore, pubs: Publication[]): Promise<Publication[]> {
  let first = pubs.length;
  while (first > 0) {
    const m = await readManifest(store, pubs[first - 1]!.version);
    if (m === null) break;
    first--;
  }
  return pubs.slice(first);
}

async function commitFor(store: ObjectStore, codec: ParquetCodec, prev: DeltaSnapshot, manifest: Manifest, pub: Publication): Promise<{ text: string; next: Pick<DeltaSnapshot, 'files' | 'schemaString' | 'metaData' | 'protocol' | 'seq' | 'info'> }> {
  const ts = Date.parse(pub.publishedAt) || Date.parse(manifest.createdAt) || 0;
  const files = new Map<string, DeltaFile>();
  const actions: unknown[] = [];
  const adds: Record<string, unknown>[] = [];
  const removed: DeltaFile[] = [];
  for (const f of manifest.files) {
    const old = prev.files.get(f.path);
    const deletes = (f.deletes?.count ?? 0) > 0 ? f.deletes : undefined;
    // A logical file is its path and its deletion vector: the same path with other deleted rows
    // is a remove of the old one and an add of the new one.
    if (old !== undefined && (old.deletes?.positions ?? '') === (deletes?.positions ?? '')) {
      files.set(f.path, old);
      continue;
    }
    if (old !== undefined) removed.push(old);
    const add: Record<string, unknown> = { path: encodeURI(f.path), partitionValues: {}, size: f.bytes, modificationTime: ts, dataChange: true, stats: JSON.stringify({ numRecords: f.rows }) };
    if (f.sha256 !== '') add.tags = { [SHA256_TAG]: f.sha256 };
    const file: DeltaFile = { path: f.path, size: f.bytes, rows: f.rows, sha256: f.sha256, dv: null, add };
    if (deletes !== undefined) {
      // Delta needs the physical row count of a file with a deletion vector.
      if (f.rows < 0) throw new DagctlError('INTERNAL', `${f.path} has a deletion vector but no row count`, { file: f.path });
      file.dv = inlineDescriptor(decodeDeletes(deletes, f.rows, f.path));
      file.deletes = deletes;
      add.deletionVector = file.dv;
    }
    files.set(f.path, file);
    adds.push(add);
  }
  for (const [p, old] of prev.files) if (!files.has(p)) removed.push(old);
  removed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const schemaString = await nextSchemaString(store, codec, prev, manifest.files);
  let metaData = prev.metaData;
  // Reader 1 / writer 2 until a version first has deletion vectors; then table features (reader
  // 3, writer 7, `deletionVectors`) and delta.enableDeletionVectors, for good.
  const needDv = hasDvFeature(prev.protocol) || [...files.values()].some((f) => f.dv !== null);
  const protocol = needDv ? DV_PROTOCOL : PROTOCOL;
  const upgrade = needDv && !hasDvFeature(prev.protocol);
  if (prev.version < 0 || upgrade) actions.push({ protocol });
  if (prev.version < 0 || upgrade || schemaString !== prev.schemaString) {
    metaData = { id: tableId(store.rootUri), format: { provider: 'parquet', options: {} }, schemaString, partitionColumns: [], configuration: needDv ? { 'delta.enableDeletionVectors': 'true' } : {}, createdTime: ts };
    actions.push({ metaData });
  }
  for (const add of adds) actions.push({ add });
  for (const old of removed) {
    const remove: Record<string, unknown> = { path: encodeURI(old.path), deletionTimestamp: ts, dataChange: true, extendedFileMetadata: true, partitionValues: {}, size: old.size };
    if (old.dv !== null) remove.deletionVector = old.dv;
    actions.push({ remove });
  }
  const dagctl: Record<string, unknown> = { seq: pub.seq, version: pub.version, dataset: manifest.dataset, rows: manifest.rows };
  if (pub.producer !== undefined) dagctl.producer = pub.producer;
  if (pub.restoredFrom !== undefined) dagctl.restoredFrom = pub.restoredFrom;
  if (manifest.bucketExtent !== undefined) dagctl.bucketExtent = manifest.bucketExtent;
  if (manifest.keyIndex !== undefined) dagctl.keyIndex = manifest.keyIndex;
  const operation = pub.operation === 'rollback' ? 'RESTORE' : 'WRITE';
  actions.push({ commitInfo: { timestamp: ts, operation, operationParameters: { mode: 'Overwrite' }, isBlindAppend: false, engineInfo: 'dagctl', dagctl } });
  const info: DeltaCommitInfo = { seq: pub.seq, version: pub.version, dataset: manifest.dataset, rows: manifest.rows, timestamp: ts, operation };
  if (pub.producer !== undefined) info.producer = pub.producer;
  if (pub.restoredFrom !== undefined) info.restoredFrom = pub.restoredFrom;
  if (manifest.bucketExtent !== undefined) info.bucketExtent = manifest.bucketExtent;
  if (manifest.keyIndex !== undefined) info.keyIndex = manifest.keyIndex;
  return { text: actions.map((a) => JSON.stringify(a)).join('\n') + '\n', next: { files, schemaString, metaData, protocol, seq: pub.seq, info } };
}

/**
 * Writes the checkpoint of `snap` create-only (an identical one of a concurrent writer is fine)
 * and moves `_last_checkpoint` to it unless it already names a later version.
 */
async function writeCheckpoint(store: ObjectStore, snap: DeltaSnapshot): Promise<void> {
  if (snap.metaData === null) return;
  const files = [...snap.files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const { checkpointParquet } = await import('./delta-checkpoint.js');
  const bytes = checkpointParquet({ protocol: snap.protocol ?? PROTOCOL, metaData: snap.metaData, adds: files.map((f) => f.add) });
  try {
    await store.putIfAbsent(deltaCheckpointKey(snap.version), bytes);
  } catch (e) {
    // A concurrent writer's checkpoint of the same version (its adds' times may differ): as valid.
    if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
  }
  const body = new TextEncoder().encode(JSON.stringify({ version: snap.version, size: 2 + snap.files.size }) + '\n');
  for (let attempt = 0; attempt < 5; attempt++) {
    const head = await store.head(LAST_CHECKPOINT_KEY);
    if (head !== null) {
      const last = parseJson<{ version?: unknown }>(await store.get(LAST_CHECKPOINT_KEY), LAST_CHECKPOINT_KEY);
      if (typeof last.version === 'number' && last.version >= snap.version) return;
    }
    try {
      await store.putIfMatch(LAST_CHECKPOINT_KEY, body, head?.etag ?? null);
      return;
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_PRECONDITION_FAILED')) throw e;
    }
  }
}

const DELTA_TYPES: Record<ColumnType, string> = { string: 'string', int64: 'long', int32: 'integer', double: 'double', boolean: 'boolean', bytes: 'binary' };
const COLUMN_TYPES_OF_DELTA = new Map<string, ColumnType>(Object.entries(DELTA_TYPES).map(([c, d]) => [d, c as ColumnType]));

/**
 * The schemaString a publication of `files` records after snapshot `prev`: the schema of its first
 * file the snapshot lacks (one writer wrote the version's files with one schema), else prev's
 * (an empty struct when there is none). Both the commit and the migration guard use it.
 */
export async function nextSchemaString(store: ObjectStore, codec: ParquetCodec, prev: Pick<DeltaSnapshot, 'files' | 'schemaString'>, files: readonly FileEntry[]): Promise<string> {
  const first = files.find((f) => prev.files.get(f.path) === undefined);
  if (first !== undefined) return JSON.stringify(deltaSchema(await (await import('../parquet/registry.js')).readSchemaOf(codec, await store.get(first.path))));
  return prev.schemaString ?? JSON.stringify(deltaSchema([]));
}

/** A column of a Delta schemaString: its name, dagctl's type (else `delta:<Delta type>`), nullability. */
export interface DeltaColumn {
  name: string;
  type: string;
  nullable: boolean;
}

/**
 * The top-level columns of a Delta schemaString (a struct type's JSON), typed in dagctl's names
 * (`long` → int64 …; a type dagctl does not write, e.g. a nested struct, as `delta:<its JSON>`).
 * DELTA_LOG_INVALID (naming `where`) when it is not a struct.
 */
export function deltaColumns(schemaString: string, where: string): DeltaColumn[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schemaString);
  } catch {
    parsed = null;
  }
  const fields = (parsed as { type?: unknown; fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields)) throw new DagctlError('DELTA_LOG_INVALID', `${where}: metaData.schemaString is not a Delta struct type`, { file: where });
  return fields.map((f: unknown, i): DeltaColumn => {
    const o = (f ?? {}) as { name?: unknown; type?: unknown; nullable?: unknown };
    if (typeof o.name !== 'string') throw new DagctlError('DELTA_LOG_INVALID', `${where}: metaData.schemaString field ${i} has no name`, { file: where });
    const t = typeof o.type === 'string' ? COLUMN_TYPES_OF_DELTA.get(o.type) : undefined;
    return { name: o.name, type: t ?? `delta:${JSON.stringify(o.type)}`, nullable: o.nullable !== false };
  });
}

function deltaSchema(schema: Schema): { type: 'struct'; fields: unknown[] } {
  return { type: 'struct', fields: schema.map((f) => ({ name: f.name, type: DELTA_TYPES[f.type], nullable: f.nullable ?? true, metadata: {} })) };
}

/** A stable table id (UUID-shaped, from the view's URI): every writer derives the same metaData. */
function tableId(root: string): string {
  const s = sha256Hex(root);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}


export interface DeltaCheck {
  uri: string;
  /** The view has a Delta log. */
  log: boolean;
  /** Latest Delta version and the publication it records (null without a log). */
  version: number | null;
  seq: number | null;
  /** The current publication (from _CURRENT). */
  currentSeq: number;
  /** The log lacks the newest publications (a publisher stopped after its swap): the next publication logs them. */
  behind: boolean;
  files: number;
}

/**
 * Checks a view's Delta log against `_CURRENT` and storage: the log replays (DELTA_LOG_INVALID
 * naming a corrupt, missing or gap entry), its latest snapshot lists exactly the current
 * manifest's files when it records the current publication, and every file it lists is stored
 * (DELTA_LOG_INVALID naming the first missing one). DATASET_NOT_FOUND without `_CURRENT`.
 */
export async function verifyDeltaLog(store: ObjectStore): Promise<DeltaCheck> {
  const cur = await readPublished(store);
  if (cur === null) throw new DagctlError('DATASET_NOT_FOUND', `${store.rootUri} has no published version (_CURRENT)`, { root: store.rootUri });
  const currentSeq = publications(cur.pointer).at(-1)!.seq;
  const snap = await readDeltaSnapshot(store);
  if (snap === null) return { uri: store.rootUri, log: false, version: null, seq: null, currentSeq, behind: false, files: 0 };
  const key = deltaCommitKey(snap.version);
  if (snap.seq === currentSeq) {
    const want = cur.manifest.files.map((f) => f.path).sort();
    const have = [...snap.files.keys()].sort();
    const diff = want.find((p) => !snap.files.has(p)) ?? have.find((p) => !want.includes(p));
    if (diff !== undefined) throw invalid(store, key, `its snapshot and the current manifest (${manifestKey(cur.pointer.version)}) disagree on ${diff}`);
  }
  for (const p of [...snap.files.keys()].sort()) {
    if ((await store.head(p)) === null) {
      throw new DagctlError('DELTA_LOG_INVALID', `${store.rootUri}: the Delta log (version ${snap.version}) lists ${p}, which storage does not have; readers of the table would fail (restore the file, or publish or roll back to a version whose files exist)`, { root: store.rootUri, file: p, version: snap.version });
    }
  }
  return { uri: store.rootUri, log: true, version: snap.version, seq: snap.seq, currentSeq, behind: snap.seq !== null && snap.seq < currentSeq, files: snap.files.size };
}
