/**
 * The key index of a rollup view version: key → where its rows are (file, [start, end) row
 * positions of live rows), written at publication beside the version's manifest and referenced
 * from it (Manifest.keyIndex, and so from the version's Delta commit: the log stays the only truth
 * of which files and which index are current). A one-key read (`dagctl query`) then reads two
 * small objects and its key's rows, instead of every file's key columns.
 *
 *   buildViewIndex(store, version, files) → { bucketExtent, keyIndex }   (one pass over the files)
 *   lookupKey(store, ref, files, only)     → { keyColumns, hasHll, runs } (KEY_INDEX_INVALID)
 *   readKeyIndex(store, ref, files)        → { keyColumns, hasHll, keys }  (every shard: `dagctl serve`)
 *
 * Layout (docs/serving.md): `_versions/<version>/keys/<sha256>.json` objects, each named by the
 * sha256 of its bytes (written create-only; vacuumed with the version folder). The root
 * `{ format: "dagctl-key-index", v: 2, keyColumns, hll, hash: "fnv1a32",
 * files: [{ path, rows, sha256 }], shards: [sha256…] }` names the files it was built over (with
 * their content hashes) and its shards; shard i holds the keys whose FNV-1a 32 (core/hash.ts, over
 * the key values joined by U+0000) is i mod shards.length, as
 * `{ "<key>": [file, start, end, file, start, end, …] }` (file: index into root.files), about
 * 32 KiB each. Keys are the key columns' bytes decoded strictly (PARQUET_INVALID_UTF8 otherwise).
 *
 * Never a silent wrong answer: a root or shard that is missing, whose bytes do not hash to its
 * name, that is not this format, or that was built over other files than the version's (path, row
 * count or sha256 — FileEntry.sha256, the file's content) is KEY_INDEX_INVALID — readers then scan
 * (serving/view.ts) — and every row an index points at is checked to hold the key when read.
 */
import { DagctlError, isDagctlError } from '../core/errors.js';
import { fnv1a32, sha256Hex } from '../core/hash.js';
import { decodeDeletes } from '../storage/dataset/deletes.js';
import { openColumnFile } from '../storage/parquet/column-scan.js';
import type { ByteArrayPage } from '../storage/parquet/page-types.js';
import type { BucketExtent, FileEntry, KeyIndexRef, ObjectStore } from '../storage/types.js';
import { granularityOf, PageRows, sameBytes, strictText, widen } from './view-rows.js';

export const KEY_SEP = '\u0000';
const FORMAT = 'dagctl-key-index';
/** 2: files carry their sha256 (format 1 roots, which name files by path and rows only, are refused: readers scan). */
const VERSION = 2;
const SHARD_BYTES = 32 * 1024;
/** Columns of a rollup view that are not key columns. */
export const VALUE_COLUMNS = new Set(['granularity', 'bucket', 'pageviews', 'uniques', 'hll']);

interface Root {
  format: string;
  v: number;
  keyColumns: string[];
  hll: boolean;
  hash: string;
  files: Array<{ path: string; rows: number; sha256: string }>;
  shards: string[];
}

/** Where a key's rows are: runs [start, end) of row positions in file `file` (an index into the version's files). */
export interface Run {
  file: number;
  start: number;
  end: number;
}

export interface KeyLookup {
  keyColumns: string[];
  hasHll: boolean;
  /** The key's runs (empty: the version has no row of that key). */
  runs: Run[];
}

const invalid = (ref: string, why: string, details: Record<string, unknown> = {}): DagctlError =>
  new DagctlError('KEY_INDEX_INVALID', `key index ${ref}: ${why}; readers scan the key columns instead (republish the view to rebuild it)`, { index: ref, ...details });

export function keyFolder(version: string): string {
  return `_versions/${version}/keys/`;
}

export function shardOf(key: string, shards: number): number {
  return fnv1a32(key) % shards;
}

/** A REQUIRED string column of row group g as byte pages, or DATASET_SCHEMA_MISMATCH (no index for other layouts). */
function stringPages(f: ReturnType<typeof openColumnFile>, g: number, column: string, where: string): ByteArrayPage[] {
  const pages = f.byteArrayPages(g, column);
  if (pages === null) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: column ${column} is not a required string column the key index reads`, { file: where, column });
  return pages;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The data extent and the key index of a rollup view version's files (live rows), in one pass
 * over each file's key, granularity and bucket columns; the index objects are written (create-only,
 * content-addressed) under the version folder before this returns. DATASET_SCHEMA_MISMATCH when
 * the files are not a rollup view's; PARQUET_INVALID when one cannot be read.
 */
export async function buildViewIndex(store: ObjectStore, version: string, files: FileEntry[]): Promise<{ bucketExtent: BucketExtent; keyIndex: KeyIndexRef }> {
  const extent: BucketExtent = {};
  const keys = new Map<string, number[]>();
  let keyColumns: string[] | null = null;
  let hll = false;
  for (let fi = 0; fi < files.length; fi++) {
    const fe = files[fi]!;
    const where = `${store.rootUri}/${fe.path}`;
    const bytes = await store.get(fe.path);
    let f: ReturnType<typeof openColumnFile>;
    try {
      f = openColumnFile(bytes);
    } catch (e) {
      throw new DagctlError('PARQUET_INVALID', `${where}: ${e instanceof Error ? e.message : String(e)}`, { file: where }, { cause: e });
    }
    const names = f.metadata.schema.slice(1).map((e) => e.name);
    for (const c of ['granularity', 'bucket', 'pageviews']) {
      if (!names.includes(c)) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: no column ${c}: not a rollup view (url…, granularity, bucket, pageviews, uniques, hll)`, { file: where, column: c });
    }
    const kc = names.filter((c) => !VALUE_COLUMNS.has(c));
    if (kc.length === 0) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: no key column (such as url)`, { file: where });
    if (keyColumns === null) {
      keyColumns = kc;
      hll = names.includes('hll');
    } else if (kc.join(',') !== keyColumns.join(',')) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: key columns ${kc.join(', ')} differ from ${keyColumns.join(', ')}`, { file: where });
    const deleted = fe.deletes === undefined ? null : new Set(decodeDeletes(fe.deletes, fe.rows, fe.path));
    let prevRuns: number[] | null = null;
    for (let g = 0; g < f.rowGroups.length; g++) {
      const { rowStart, rows } = f.rowGroups[g]!;
      const kp = keyColumns.map((c) => new PageRows(stringPages(f, g, c, where)));
      const gp = new PageRows(stringPages(f, g, 'granularity', where));
      const bucket = (await f.numbers(g, ['bucket'])).bucket!;
      // The previous live row's key bytes, per key column.
      const prev = kp.map((): { data: Uint8Array; start: number; len: number } => ({ data: new Uint8Array(0), start: 0, len: 0 }));
      for (let r = 0; r < rows; r++) {
        const pos = rowStart + r;
        if (deleted?.has(pos) === true) continue;
        // granularity and bucket: the extent
        gp.seek(r);
        widen(extent, granularityOf(gp.data.subarray(gp.start, gp.start + gp.len), where), bucket[r]!);
        // the key: the same bytes as the previous live row's extend its run (views are sorted by key)
        let same = prevRuns !== null;
        for (let k = 0; k < kp.length; k++) {
          const p = kp[k]!.seek(r), q = prev[k]!;
          if (same) same = sameBytes(p.data, p.start, p.len, q.data, q.start, q.len);
          q.data = p.data;
          q.start = p.start;
          q.len = p.len;
        }
        if (!same) {
          let key = '';
          for (let k = 0; k < kp.length; k++) {
            const v = strictText(kp[k]!.bytes(r), keyColumns[k]!, pos, g, where);
            key = k === 0 ? v : key + KEY_SEP + v;
          }
          let runs = keys.get(key);
          if (runs === undefined) keys.set(key, (runs = []));
          prevRuns = runs;
        }
        const runs = prevRuns!;
        const n = runs.length;
        if (n >= 3 && runs[n - 3] === fi && runs[n - 1] === pos) runs[n - 1] = pos + 1;
        else runs.push(fi, pos, pos + 1);
      }
      // The next group's first row is looked up by its key (its pages are not this group's).
      prevRuns = null;
    }
  }
  // Shards of about SHARD_BYTES (a power of two of them), each written create-only by its hash.
  let size = 0;
  for (const [k, r] of keys) size += k.length + 8 * r.length + 8;
  let n = 1;
  while (n < 65_536 && n * SHARD_BYTES < size) n *= 2;
  // Null-prototype objects: a key such as "__proto__" is an entry like any other.
  const shards: Array<Record<string, number[]>> = Array.from({ length: n }, () => Object.create(null) as Record<string, number[]>);
  for (const [k, r] of keys) shards[shardOf(k, n)]![k] = r;
  const folder = keyFolder(version);
  const put = async (bytes: Uint8Array): Promise<string> => {
    const sha = sha256Hex(bytes);
    await store.putIfAbsent(`${folder}${sha}.json`, bytes);
    return sha;
  };
  const encoder = new TextEncoder();
  const names: string[] = [];
  for (const s of shards) names.push(await put(encoder.encode(JSON.stringify(s))));
  const root: Root = { format: FORMAT, v: VERSION, keyColumns: keyColumns ?? [], hll, hash: 'fnv1a32', files: files.map((f) => ({ path: f.path, rows: f.rows, sha256: f.sha256 })), shards: names };
  const sha = await put(encoder.encode(JSON.stringify(root)));
  return { bucketExtent: extent, keyIndex: { path: `${folder}${sha}.json`, keys: keys.size } };
}

/** An index object's bytes, checked against the sha256 its name carries. */
async function getChecked(store: ObjectStore, path: string, ref: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(path);
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) throw invalid(ref, `${path} is missing`, { path });
    throw e;
  }
  const name = /([0-9a-f]{64})\.json$/.exec(path)?.[1];
  if (name === undefined || sha256Hex(bytes) !== name) throw invalid(ref, `${path} does not hash to its name`, { path });
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch (e) {
    throw invalid(ref, `${path} is not JSON: ${String(e)}`, { path });
  }
}

/** The root of a key index, checked (format, and built over exactly `files`), with its file positions mapped to `files`. */
async function openRoot(store: ObjectStore, ref: KeyIndexRef, files: FileEntry[]): Promise<{ root: Root; map: number[]; where: string; folder: string }> {
  const where = `${store.rootUri}/${ref.path}`;
  if (!ref.path.startsWith('_versions/') || ref.path.includes('..')) throw invalid(where, 'not a path in a version folder');
  const root = (await getChecked(store, ref.path, where)) as Partial<Root> | null;
  if (root === null || typeof root !== 'object' || root.format !== FORMAT || root.v !== VERSION || root.hash !== 'fnv1a32' || !Array.isArray(root.keyColumns) || !Array.isArray(root.files) || !Array.isArray(root.shards) || root.shards.length === 0) {
    throw invalid(where, `not a dagctl key index of format ${VERSION}${root !== null && typeof root === 'object' && root.format === FORMAT ? ` (format ${String(root.v)})` : ''}`);
  }
  // Built over exactly the version's files (by path, row count and content hash)?
  const mine = new Map(files.map((f, i) => [f.path, i]));
  if (root.files.length !== files.length) throw invalid(where, `built over ${root.files.length} files, the version has ${files.length}`, { stale: true });
  const map: number[] = [];
  for (const f of root.files as unknown[]) {
    if (f === null || typeof f !== 'object' || !('path' in f) || !('rows' in f) || !('sha256' in f) || typeof f.path !== 'string' || typeof f.sha256 !== 'string') throw invalid(where, 'a file entry is not { path, rows, sha256 }');
    const i = mine.get(f.path);
    const v = i === undefined ? undefined : files[i]!;
    if (v === undefined || v.rows !== f.rows || v.sha256 !== f.sha256 || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      throw invalid(where, `built over ${f.path} (${String(f.rows)} rows, sha256 ${f.sha256 || 'none'}), which is not the version's file${v === undefined ? '' : ` (${v.rows} rows, sha256 ${v.sha256 || 'none'})`}`, { stale: true, file: f.path });
    }
    map.push(i!);
  }
  for (const s of root.shards) if (typeof s !== 'string' || !/^[0-9a-f]{64}$/.test(s)) throw invalid(where, 'a shard name is not a sha256');
  return { root: { ...(root as Root), keyColumns: root.keyColumns.map(String) }, map, where, folder: ref.path.slice(0, ref.path.lastIndexOf('/') + 1) };
}

/** One shard's entries, checked. */
async function readShard(store: ObjectStore, o: { map: number[]; where: string; folder: string }, shard: string, files: FileEntry[]): Promise<Map<string, Run[]>> {
  const body = (await getChecked(store, `${o.folder}${shard}.json`, o.where)) as Record<string, unknown> | null;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid(o.where, `shard ${shard} is not an object`);
  const out = new Map<string, Run[]>();
  for (const [key, flat] of Object.entries(body)) {
    if (!Array.isArray(flat) || flat.length === 0 || flat.length % 3 !== 0) throw invalid(o.where, `shard ${shard}: the entry of a key is not runs`);
    const runs: Run[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const [fi, s, e] = [flat[i], flat[i + 1], flat[i + 2]] as unknown[];
      const file = typeof fi === 'number' ? o.map[fi] : undefined;
      if (file === undefined || typeof s !== 'number' || typeof e !== 'number' || !(0 <= s && s < e && e <= files[file]!.rows)) throw invalid(o.where, `shard ${shard}: run ${i / 3} of a key is out of range`);
      runs.push({ file, start: s, end: e });
    }
    out.set(key, runs);
  }
  return out;
}

/**
 * Where the key `only` (key column → value; a column left out matches the empty value) has its
 * rows in the version whose files are `files`. KEY_INDEX_INVALID when the index is missing,
 * corrupt, not this format, or built over other files.
 */
export async function lookupKey(store: ObjectStore, ref: KeyIndexRef, files: FileEntry[], only: Record<string, string>): Promise<KeyLookup> {
  const o = await openRoot(store, ref, files);
  const key = o.root.keyColumns.map((c) => only[c] ?? '').join(KEY_SEP);
  const shard = o.root.shards[shardOf(key, o.root.shards.length)]!;
  const runs = (await readShard(store, o, shard, files)).get(key) ?? [];
  return { keyColumns: o.root.keyColumns, hasHll: o.root.hll === true, runs };
}

/** The whole index (every shard): key → runs (a server's in-memory index of the version). KEY_INDEX_INVALID as lookupKey. */
export async function readKeyIndex(store: ObjectStore, ref: KeyIndexRef, files: FileEntry[]): Promise<{ keyColumns: string[]; hasHll: boolean; keys: Map<string, Run[]> }> {
  const o = await openRoot(store, ref, files);
  const keys = new Map<string, Run[]>();
  for (const shard of o.root.shards) for (const [k, r] of await readShard(store, o, shard, files)) keys.set(k, r);
  if (keys.size !== ref.keys) throw invalid(o.where, `holds ${keys.size} keys, the publication recorded ${ref.keys}`);
  return { keyColumns: o.root.keyColumns, hasHll: o.root.hll === true, keys };
}
