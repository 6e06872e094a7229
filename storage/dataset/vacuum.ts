/**
 * Vacuum of a published (view) dataset: removes old versions and unreferenced data files.
 *
 *   vacuum(store, { keepVersions, olderThanMs, now?, dryRun?, log? }) → VacuumReport
 *
 * Refuses (DATASET_NOT_FOUND) when the dataset has no `_CURRENT`: source/master datasets are never
 * published, so they can never be vacuumed by mistake.
 * Retained versions: the current one, the `keepVersions` newest (by manifest createdAt), and every
 * version younger than `olderThanMs`. Other version folders are deleted.
 * Live markers: markers sharing a file with a retained manifest, and markers younger than
 * `olderThanMs` (a run may be about to publish them). Other markers are deleted.
 * Data files (visible keys, see layout.ts) are deleted when no retained manifest and no live marker
 * references them and they are older than `olderThanMs` (or of unknown age: kept) — this also
 * collects files of attempts that lost the first-commit race. Every deletion is logged.
 */
import { DagctlError } from '../../core/errors.js';
import type { ObjectStore } from '../types.js';
import { COMMITS_PREFIX, isVisibleDataKey, manifestKey, parseJson, versionFolder } from './layout.js';
import { listCommitMarkers } from './markers.js';
import { listVersions, readPointer } from './publish.js';
import type { Manifest } from '../types.js';

export interface VacuumOptions {
  keepVersions: number;
  olderThanMs: number;
  now?: number;
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface VacuumReport {
  current: string;
  keptVersions: string[];
  deletedVersions: string[];
  deletedMarkers: string[];
  deletedFiles: string[];
  dryRun: boolean;
}

export async function vacuum(store: ObjectStore, opts: VacuumOptions): Promise<VacuumReport> {
  const now = opts.now ?? Date.now();
  const dryRun = opts.dryRun ?? false;
  const log = opts.log ?? (() => undefined);
  const cutoff = now - opts.olderThanMs;
  const pointer = await readPointer(store);
  if (pointer === null) throw new DagctlError('DATASET_NOT_FOUND', `${store.rootUri} has no _CURRENT: not a published dataset, refusing to vacuum`, { root: store.rootUri });

  const versions: { version: string; createdAt: number; manifest: Manifest | null }[] = [];
  for (const v of await listVersions(store)) {
    let manifest: Manifest | null = null;
    try {
      manifest = parseJson<Manifest>(await store.get(manifestKey(v)), v);
    } catch {
      manifest = null; // folder without a readable manifest: an aborted publication
    }
    versions.push({ version: v, createdAt: manifest === null ? 0 : Date.parse(manifest.createdAt), manifest });
  }
  versions.sort((a, b) => b.createdAt - a.createdAt || (a.version < b.version ? 1 : -1));
  const keep = new Set<string>([pointer.version]);
  versions.slice(0, Math.max(0, opts.keepVersions)).forEach((v) => keep.add(v.version));
  for (const v of versions) if (v.createdAt > cutoff) keep.add(v.version);

  const referenced = new Set<string>();
  for (const v of versions) if (keep.has(v.version)) for (const f of v.manifest?.files ?? []) referenced.add(f.path);

  const report: VacuumReport = { current: pointer.version, keptVersions: [...keep].sort(), deletedVersions: [], deletedMarkers: [], deletedFiles: [], dryRun };
  const del = async (key: string, why: string): Promise<void> => {
    log(`${dryRun ? 'would delete' : 'delete'} ${key} (${why})`);
    if (!dryRun) await store.delete(key);
  };

  for (const v of versions) {
    if (keep.has(v.version)) continue;
    for (const o of await store.list(`${versionFolder(v.version)}/`)) await del(o.key, `version ${v.version} past retention`);
    report.deletedVersions.push(v.version);
  }

  const markerInfo = new Map((await store.list(COMMITS_PREFIX)).map((o) => [o.key, o]));
  for (const { key, marker } of await listCommitMarkers(store)) {
    const at = markerInfo.get(key)?.lastModified ?? Date.parse(marker.committedAt);
    const live = marker.files.some((f) => referenced.has(f.path)) || !(at <= cutoff);
    if (live) {
      for (const f of marker.files) referenced.add(f.path);
      continue;
    }
    await del(key, 'commit marker of no retained version');
    report.deletedMarkers.push(key);
  }

  for (const o of await store.list('')) {
    if (!isVisibleDataKey(o.key) || referenced.has(o.key)) continue;
    if (!(o.lastModified !== undefined && o.lastModified <= cutoff)) continue;
    await del(o.key, 'data file referenced by no retained version or live marker');
    report.deletedFiles.push(o.key);
  }
  return report;
}
