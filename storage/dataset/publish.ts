/**
 * Publication of a view version, and reading the published view.
 *
 *   publishVersion(store, { version, dataset, files, producer?, monotonic?, check?, restore?, bucketExtent?, keyIndex? }) → PublishResult
 *   readCurrent(store) → { pointer, manifest } | null   (readers: from the Delta log when the view has one)
 *   readPublished(store) → { pointer, manifest } | null (`_CURRENT` and its manifest: the CAS's view)
 *   listVersions(store) → version names (sorted)
 *   publications(pointer) → every recorded publication, oldest first
 *
 * Protocol: (1) write `_versions/<version>/_MANIFEST.json` create-only (a retry of the same
 * publication with the same files reuses the existing manifest; different files under an existing
 * version → STORAGE_CONFLICT; a rollback reuses an existing version's manifest instead); (2) read
 * `_CURRENT` and its etag; (3) run the caller's `check` against the current publication (producer
 * conflict, shrink guard: it throws to refuse); (4) putIfMatch the new pointer against that etag.
 * A concurrent publisher that swapped in between makes (4) fail with STORAGE_PRECONDITION_FAILED:
 * re-read, re-check and retry (bounded, jittered). So the pointer always names exactly one
 * complete manifest — never a mix — and the last successful swap wins.
 *
 * Order never depends on names: each pointer carries its publication record (seq = the replaced
 * pointer's seq + 1, time, producer, operation, rows, files) and the earlier records (the last
 * HISTORY_LIMIT), so history and the swap are one atomic write. With `monotonic: true` a publisher
 * never replaces a publication whose producing run was created after its own (run creation time,
 * then run id): a slow older run cannot bring back older data; it reports `swapped: false`.
 *
 * A view with a Delta Lake log (delta-log.ts) gets one Delta commit per publication, written right
 * after the swap (a crash in between leaves it to the next publication's sync).
 *
 * Readers call readCurrent and read only the files it lists: from the view's Delta log when it has
 * one (the log is the truth for which files are current; `_CURRENT` is the publication CAS and a
 * hint), else from the manifest `_CURRENT` names. Manifests and commits are immutable and written
 * before the pointer / after the swap, so a reader sees either the old or the new view.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { canonicalJson } from '../../core/hash.js';
import type { BucketExtent, CurrentPointer, FileEntry, KeyIndexRef, Manifest, ObjectStore, ParquetCodec, Producer, Publication } from '../types.js';
import { hasDeltaLog, readDeltaSnapshot, readDeltaView, syncDeltaLog, type DeltaSnapshot } from './delta-log.js';
import { liveRows } from './deletes.js';
import { CURRENT_KEY, jsonBytes, MANIFEST_NAME, manifestKey, parseJson, versionFolder, VERSIONS_PREFIX } from './layout.js';

/** How many earlier publications a pointer keeps (older ones drop out of `dataset history`). */
export const HISTORY_LIMIT = 500;

export interface CurrentView {
  pointer: CurrentPointer;
  manifest: Manifest;
}

export interface PublishOptions {
  version: string;
  dataset: string;
  files: FileEntry[];
  producer?: Producer;
  monotonic?: boolean;
  /** Called with the current publication (or null) before each swap attempt; throws to refuse. */
  check?: (current: CurrentView | null) => void;
  /** A rollback: make the existing `version` current again (its manifest is not rewritten). */
  restore?: { seq: number };
  now?: Date;
  maxAttempts?: number;
  /**
   * Keep the view's Delta Lake log (delta-log.ts): refuse files with deletion vectors before
   * publishing, and log the publication after the swap. Default: when the view already has a log.
   */
  deltaLog?: boolean;
  /** Reads the schema of added files for the Delta log (default: the process default codec). */
  codec?: ParquetCodec;
  /** A rollup view's data extent, recorded in the new version's manifest (Manifest.bucketExtent). */
  bucketExtent?: BucketExtent;
  /** A rollup view's key index, written beside the manifest before (Manifest.keyIndex). */
  keyIndex?: KeyIndexRef;
}

export interface PublishResult {
  pointer: CurrentPointer;
  manifest: Manifest;
  /** false when monotonic and a publication of a later run was already current. */
  swapped: boolean;
  attempts: number;
}

export async function publishVersion(store: ObjectStore, opts: PublishOptions): Promise<PublishResult> {
  const delta = opts.deltaLog ?? (await hasDeltaLog(store));
  let logged: DeltaSnapshot | null = null;
  if (delta) {
    // Before anything changes: a log that cannot be continued (DELTA_LOG_INVALID) refuses the publication.
    logged = await readDeltaSnapshot(store);
  }
  const manifest = opts.restore === undefined ? await writeManifest(store, opts) : parseJson<Manifest>(await store.get(manifestKey(opts.version)), manifestKey(opts.version));
  const maxAttempts = opts.maxAttempts ?? 100;
  for (let attempt = 1; ; attempt++) {
    const head = await store.head(CURRENT_KEY);
    const current = head === null ? null : await readPublished(store);
    opts.check?.(current);
    if (opts.monotonic === true && current !== null && opts.producer !== undefined && newerProducer(current.pointer.publication?.producer, opts.producer)) {
      return { pointer: current.pointer, manifest, swapped: false, attempts: attempt };
    }
    const prev = current?.pointer ?? null;
    const publication: Publication = {
      seq: (prev?.publication?.seq ?? (prev === null ? 0 : 1)) + 1,
      version: opts.version,
      publishedAt: (opts.now ?? new Date()).toISOString(),
      operation: opts.restore === undefined ? 'publish' : 'rollback',
      rows: manifest.rows,
      files: manifest.files.length,
    };
    if (opts.producer !== undefined) publication.producer = opts.producer;
    if (opts.restore !== undefined) publication.restoredFrom = opts.restore.seq;
    const pointer: CurrentPointer = { version: opts.version, path: versionFolder(opts.version), publication, history: prev === null ? [] : publications(prev).slice(-HISTORY_LIMIT), delta };
    try {
      await store.putIfMatch(CURRENT_KEY, jsonBytes(pointer), head?.etag ?? null);
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_PRECONDITION_FAILED') || attempt >= maxAttempts) throw e;
      await sleep(Math.random() * Math.min(50, 2 ** attempt));
      continue;
    }
    // The codec registry only when publishing (readers of a view do not load it).
    if (delta) await syncDeltaLog(store, pointer, opts.codec ?? (await import('../parquet/registry.js')).defaultCodec(), logged);
    return { pointer, manifest, swapped: true, attempts: attempt };
  }
}

/** True when `current` comes from a run created after `mine` (creation time, then run id). */
function newerProducer(current: Producer | undefined, mine: Producer): boolean {
  if (current === undefined || current.runId === mine.runId) return false;
  const a = Date.parse(current.runCreatedAt);
  const b = Date.parse(mine.runCreatedAt);
  return a !== b ? a > b : current.runId > mine.runId;
}

/**
 * Every publication a pointer records, oldest first; the current one last. A pointer written by an
 * older dagctl (no publication record) counts as publication 1 of its version.
 */
export function publications(pointer: CurrentPointer): Publication[] {
  const cur = pointer.publication ?? { seq: 1, version: pointer.version, publishedAt: '', operation: 'publish' as const, rows: -1, files: -1 };
  return [...(pointer.history ?? []), cur];
}

async function writeManifest(store: ObjectStore, opts: PublishOptions): Promise<Manifest> {
  const files = opts.files.map((f) => ({ ...f }));
  const manifest: Manifest = {
    version: opts.version,
    dataset: opts.dataset,
    createdAt: (opts.now ?? new Date()).toISOString(),
    files,
    rows: files.reduce((n, f) => n + liveRows(f), 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
  };
  if (opts.producer !== undefined) manifest.producer = opts.producer;
  if (opts.bucketExtent !== undefined) manifest.bucketExtent = opts.bucketExtent;
  if (opts.keyIndex !== undefined) manifest.keyIndex = opts.keyIndex;
  const key = manifestKey(opts.version);
  try {
    await store.putIfAbsent(key, jsonBytes(manifest));
    return manifest;
  } catch (e) {
    if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
    const existing = parseJson<Manifest>(await store.get(key), key);
    // A retried publication (same version, same files, earlier createdAt): reuse it.
    if (existing.dataset === manifest.dataset && canonicalJson(existing.files) === canonicalJson(manifest.files)) return existing;
    throw new DagctlError('STORAGE_CONFLICT', `version ${opts.version} of ${opts.dataset} already exists with other files`, { version: opts.version, dataset: opts.dataset });
  }
}

export async function readPointer(store: ObjectStore): Promise<CurrentPointer | null> {
  try {
    return parseJson<CurrentPointer>(await store.get(CURRENT_KEY), CURRENT_KEY);
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) return null;
    throw e;
  }
}

/** The manifest of a published version, or null when it is gone (vacuumed). */
export async function readManifest(store: ObjectStore, version: string): Promise<Manifest | null> {
  const key = manifestKey(version);
  try {
    return parseJson<Manifest>(await store.get(key), key);
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) return null;
    throw e;
  }
}

/**
 * The current version of a view, for readers. A view with a Delta log (`pointer.delta`, or a log
 * found for pointers of older dagctl versions) is read from its log (delta-log.ts readDeltaView:
 * the latest checkpoint and the commits after it, cached per version): the files, rows and
 * producer come from the log, and the returned pointer is the publication the log's latest commit
 * records — while a publisher is between its swap and its commit (or stopped there), readers see
 * the previous, logged version, as foreign Delta readers do. `_CURRENT` is only the hint of which
 * publication to expect (no log read beyond one commit when the cached snapshot logs it). Views
 * without a log (`delta: false`) are read from `_CURRENT`'s manifest (readPublished).
 */
export async function readCurrent(store: ObjectStore): Promise<CurrentView | null> {
  const pointer = await readPointer(store);
  if (pointer === null) return null;
  if (pointer.delta === false || (pointer.delta === undefined && !(await hasDeltaLog(store)))) return readPublished(store, pointer);
  const seq = publications(pointer).at(-1)!.seq;
  const view = await readDeltaView(store, seq);
  if (view === null) return readPublished(store, pointer); // the log was deleted: the next publication starts one
  return { pointer: pointerAt(pointer, view.info?.seq ?? seq, view.manifest.version), manifest: view.manifest };
}

/** The pointer as it was when publication `seq` made `version` current (the pointer itself when seq is its own). */
function pointerAt(pointer: CurrentPointer, seq: number, version: string): CurrentPointer {
  const all = publications(pointer);
  const i = all.findIndex((p) => p.seq === seq);
  if (i === all.length - 1) return pointer;
  if (i < 0) return { version, path: versionFolder(version), delta: true }; // older than the pointer's history
  return { version, path: versionFolder(version), publication: all[i]!, history: all.slice(0, i), delta: true };
}

/**
 * `_CURRENT` and the manifest it names: the publication compare-and-swap's view (publishVersion,
 * the guards, rollback, `dataset verify`), and the readers' view of a view without a Delta log.
 */
export async function readPublished(store: ObjectStore, first?: CurrentPointer): Promise<CurrentView | null> {
  // A vacuum may delete the version a slow reader's pointer named: re-read the pointer then.
  for (let attempt = 0; ; attempt++) {
    const pointer = attempt === 0 && first !== undefined ? first : await readPointer(store);
    if (pointer === null) return null;
    try {
      const key = `${pointer.path}/${MANIFEST_NAME}`;
      return { pointer, manifest: parseJson<Manifest>(await store.get(key), key) };
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_NOT_FOUND') || attempt >= 3) throw e;
    }
  }
}

export async function listVersions(store: ObjectStore): Promise<string[]> {
  return (await store.listDirs(VERSIONS_PREFIX)).map((d) => d.slice(VERSIONS_PREFIX.length, -1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
