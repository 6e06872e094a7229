/**
 * Listing a source (master) dataset's data files, with partition pruning.
 *
 *   listSource(store, { format, partitionBy?, range?, only? }) → FileEntry[] sorted by path
 *
 * - Data files: `*.parquet` (format parquet) or any file (formats text, csv, jsonl), skipping every path with a
 *   segment starting with '_' or '.' (markers, versions, temps).
 * - partitionBy 'date': listDirs('') once, keep the `date=YYYY-MM-DD/` folders inside range
 *   (from/to inclusive, either optional), then list inside each kept folder only — the dataset is
 *   never listed whole, which is what makes a one-day run over years of data cheap.
 * - dates (with partitionBy 'date'): only these `date=` folders (a dataset's `partitions:`, e.g.
 *   what a data trigger saw change), together with range when both are given.
 * - only: the URI named one file (storage/open.ts openSource): just that object (DATASET_NOT_FOUND
 *   when absent).
 * Source entries carry bytes and etag from the listing; rows = -1 and sha256 = '' (unknown without
 * reading the file).
 *
 * The listing rule (the one place it is defined): a dataset **without** commit markers is every
 * data file above; a dataset **with** markers (`dagctl gen`, `dagctl ingest`) is the files some
 * marker names — a writer that crashed between its files and its marker leaves nothing visible.
 * Data files no marker names are never skipped silently: listSourceReport returns them as
 * `uncommitted`, planning warns with their count (`dagctl run`/`plan`), and `dagctl dataset check
 * URI` lists them.
 *
 * Commits (what data triggers watch, scheduler/schedule/triggers.ts): listSourceCommits(store,
 * known) → the dataset's commits under the same rule — a marked dataset's commits are its markers
 * (id = marker key; partitions = the date folders of the files it names); an unmarked dataset's
 * are its data files (id = path@etag, so a rewritten file is a new commit). Markers are create-only,
 * so `known` (a cache the caller keeps) saves reading a marker twice. A poller also passes `poll` (a
 * CommitPoll it keeps): on a store with changeToken (ObjectStore), a marked dataset whose
 * `_commits/` token equals the one read before the last listing is not listed again — the last
 * result stands (markers are never deleted; only additions can change it). The token is read
 * before listing, so a marker added during a listing changes the next token.
 */
import { DagctlError } from '../../core/errors.js';
import { listCommitMarkers } from './markers.js';
import type { CommitMarker, DatasetFormat, FileEntry, ObjectInfo, ObjectStore } from '../types.js';
import { bucketOfKey, COMMITS_PREFIX, isDate, isVisibleDataKey, parseJson, partitionOf } from './layout.js';

export interface ListSourceOptions {
  format: DatasetFormat;
  partitionBy?: 'date';
  range?: { from?: string; to?: string };
  /** partitionBy 'date': only these partitions (YYYY-MM-DD). */
  dates?: readonly string[];
  only?: string;
  /**
   * 'auto': when the dataset has commit markers (written by `dagctl gen` or `dagctl ingest`), list
   * only the files some marker names — a writer that crashed between its files and its marker
   * leaves nothing visible. Datasets without markers (files dropped in by other tools) list every
   * data file. Default false: plain listing.
   */
  committed?: 'auto' | false;
}

export async function listSource(store: ObjectStore, opts: ListSourceOptions): Promise<FileEntry[]> {
  return (await listSourceReport(store, opts)).files;
}

export interface SourceListing {
  /** What a reader of the dataset sees (the listing rule above). */
  files: FileEntry[];
  /** Data files left out because the dataset has commit markers and none names them. */
  uncommitted: FileEntry[];
  /** Whether the dataset has commit markers at all. */
  marked: boolean;
}

/** listSource, plus what it left out and why (for warnings and `dagctl dataset check`). */
export async function listSourceReport(store: ObjectStore, opts: ListSourceOptions): Promise<SourceListing> {
  const files = await listFiles(store, opts);
  if (opts.committed !== 'auto' || opts.only !== undefined) return { files, uncommitted: [], marked: false };
  const committed = await committedPaths(store);
  if (committed === null) return { files, uncommitted: [], marked: false };
  const seen: FileEntry[] = [];
  const uncommitted: FileEntry[] = [];
  for (const f of files) (committed.has(f.path) ? seen : uncommitted).push(f);
  return { files: seen, uncommitted, marked: true };
}

/** Paths named by the dataset's commit markers, or null when it has none. */
async function committedPaths(store: ObjectStore): Promise<Set<string> | null> {
  const markers = await listCommitMarkers(store);
  if (markers.length === 0) return null;
  const out = new Set<string>();
  for (const { marker } of markers) for (const f of marker.files) out.add(f.path);
  return out;
}

async function listFiles(store: ObjectStore, opts: ListSourceOptions): Promise<FileEntry[]> {
  const { from, to } = opts.range ?? {};
  for (const d of [from, to, ...(opts.dates ?? [])]) if (d !== undefined && !isDate(d)) throw new DagctlError('PARAM_INVALID', `range bound "${d}" is not YYYY-MM-DD`, { date: d });
  if (opts.only !== undefined) {
    const info = await store.head(opts.only);
    if (info === null) throw new DagctlError('DATASET_NOT_FOUND', `no file ${opts.only} in ${store.rootUri}`, { key: opts.only, root: store.rootUri });
    return [entry(info)];
  }
  const wanted = (o: ObjectInfo): boolean => isVisibleDataKey(o.key) && (opts.format !== 'parquet' || o.key.endsWith('.parquet'));
  if (opts.partitionBy !== 'date') {
    return (await store.list('')).filter(wanted).map(entry);
  }
  const out: FileEntry[] = [];
  for (const dir of await store.listDirs('')) {
    const m = /^date=(\d{4}-\d{2}-\d{2})\/$/.exec(dir);
    const date = m?.[1];
    if (date === undefined) continue;
    if ((from !== undefined && date < from) || (to !== undefined && date > to)) continue;
    if (opts.dates !== undefined && !opts.dates.includes(date)) continue;
    for (const o of await store.list(dir)) if (wanted(o)) out.push(entry(o));
  }
  return out;
}

export interface SourceCommit {
  /** Stable identity: the marker key, or `path@etag` of an unmarked dataset's data file. */
  id: string;
  /** Date partitions of its files (sorted, distinct; empty when the dataset is not partitioned). */
  partitions: string[];
  /** How many data files it adds (0: e.g. an ingest batch whose records were all rejects). */
  files: number;
  /** When it was committed (marker's committedAt; an unmarked file: undefined). */
  committedAt?: number;
  /** The marker object's lastModified as the store stamped it, when the store says (trigger floors). */
  lastModified?: number;
}

export interface SourceCommits {
  marked: boolean;
  commits: SourceCommit[];
}

/**
 * The dataset's commits (module comment). `known`: marker key → commit, filled in by this call, so a
 * caller polling the same dataset reads each marker once.
 */
/** A poller's memory between listSourceCommits calls (the change token and what it vouches for). */
export interface CommitPoll {
  token?: string;
  result?: SourceCommits;
  /** Calls answered without listing / calls that listed (for metrics and the bench). */
  skipped: number;
  listed: number;
}

export async function listSourceCommits(store: ObjectStore, opts: { format: DatasetFormat; partitionBy?: 'date' }, known: Map<string, SourceCommit> = new Map(), poll?: CommitPoll): Promise<SourceCommits> {
  if (poll === undefined || store.changeToken === undefined) return listCommitsNow(store, opts, known);
  const token = await store.changeToken(COMMITS_PREFIX);
  if (token !== null && token === poll.token && poll.result !== undefined) {
    poll.skipped++;
    return { marked: true, commits: [...poll.result.commits] };
  }
  const result = await listCommitsNow(store, opts, known);
  poll.listed++;
  // Only a marked dataset's result is vouched for by `_commits/`' token (an unmarked one's commits are its data files).
  if (token !== null && result.marked) {
    poll.token = token;
    poll.result = result;
  } else {
    delete poll.token;
    delete poll.result;
  }
  return result;
}

async function listCommitsNow(store: ObjectStore, opts: { format: DatasetFormat; partitionBy?: 'date' }, known: Map<string, SourceCommit>): Promise<SourceCommits> {
  const infos = (await store.list(COMMITS_PREFIX)).filter((o) => o.key.endsWith('.json'));
  const stamps = new Map(infos.map((o) => [o.key, o.lastModified]));
  const keys = infos.map((o) => o.key);
  if (keys.length === 0) {
    const files = await listFiles(store, { format: opts.format, ...(opts.partitionBy !== undefined ? { partitionBy: opts.partitionBy } : {}) });
    return { marked: false, commits: files.map((f) => ({ id: `${f.path}@${f.etag ?? f.bytes}`, partitions: f.partition === undefined ? [] : [f.partition], files: 1 })) };
  }
  const commits: SourceCommit[] = [];
  for (const key of keys.sort()) {
    let c = known.get(key);
    if (c === undefined) {
      const m = parseJson<CommitMarker>(await store.get(key), key);
      const parts = new Set<string>();
      for (const f of m.files) {
        const p = f.partition ?? partitionOf(f.path);
        if (p !== undefined) parts.add(p);
      }
      c = { id: key, partitions: [...parts].sort(), files: m.files.length };
      const at = Date.parse(m.committedAt);
      if (Number.isFinite(at)) c.committedAt = at;
      const lm = stamps.get(key);
      if (lm !== undefined) c.lastModified = lm;
      known.set(key, c);
    }
    commits.push(c);
  }
  return { marked: true, commits };
}

function entry(o: ObjectInfo): FileEntry {
  const e: FileEntry = { path: o.key, rows: -1, bytes: o.size, sha256: '', etag: o.etag };
  const p = partitionOf(o.key);
  if (p !== undefined) e.partition = p;
  const b = bucketOfKey(o.key);
  if (b !== undefined) e.bucket = b;
  return e;
}
