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
 * Work areas (`_work/<task>/`: shuffle files and stage markers of the tasks writing this dataset):
 * a stage marker is live when its run published a retained version, when it is the newest marker of
 * its instance (the one the next run's memoization would reuse), or when it is younger than the
 * cutoff; work files no live stage marker references are deleted once older than the cutoff.
 * The Delta log: commits and checkpoints past the log retention (default 30 days) that lie
 * before a checkpoint itself past it (delta-log.ts expireDeltaLog).
 */
import { DagctlError } from '../../core/errors.js';
import type { ObjectStore } from '../types.js';
import { expireDeltaLog } from './delta-log.js';

/** Delta's default delta.logRetentionDuration. */
export const DELTA_LOG_RETENTION_MS = 30 * 24 * 3_600_000;
import { COMMITS_PREFIX, isVisibleDataKey, manifestKey, parseJson, versionFolder } from './layout.js';
import { listCommitMarkers } from './markers.js';
import { listVersions, readPointer } from './publish.js';
import type { CommitMarker, Manifest } from '../types.js';

export interface VacuumOptions {
  keepVersions: number;
  olderThanMs: number;
  /** Delta log retention (delta.logRetentionDuration; default 30 days, as Delta's). */
  logRetentionMs?: number;
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
  deletedWorkMarkers: string[];
  deletedWorkFiles: string[];
  /** Delta log commits and checkpoints expired (expireDeltaLog). */
  deletedLogEntries: string[];
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

  const report: VacuumReport = { current: pointer.version, keptVersions: [...keep].sort(), deletedVersions: [], deletedMarkers: [], deletedFiles: [], deletedWorkMarkers: [], deletedWorkFiles: [], deletedLogEntries: [], dryRun };
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
  await vacuumWork(store, keep, cutoff, del, report);
  // The view's Delta log: entries older than the log retention (default 30 days) before a
  // checkpoint; every version within retention stays readable by time travel.
  report.deletedLogEntries = await expireDeltaLog(store, { retentionMs: opts.logRetentionMs ?? DELTA_LOG_RETENTION_MS, now, dryRun, log });
  return report;
}

const WORK_PREFIX = '_work/';

async function vacuumWork(store: ObjectStore, keepRuns: Set<string>, cutoff: number, del: (key: string, why: string) => Promise<void>, report: VacuumReport): Promise<void> {
  for (const dir of await store.listDirs(WORK_PREFIX)) {
    const objects = await store.list(dir);
    const markers: Array<{ key: string; marker: CommitMarker; at: number }> = [];
    for (const o of objects) {
      if (!o.key.startsWith(`${dir}${COMMITS_PREFIX}`) || !o.key.endsWith('.json')) continue;
      const marker = parseJson<CommitMarker>(await store.get(o.key), o.key);
      markers.push({ key: o.key, marker, at: o.lastModified ?? Date.parse(marker.committedAt) });
    }
    const newest = new Map<string, number>();
    for (const m of markers) newest.set(m.marker.instanceId, Math.max(newest.get(m.marker.instanceId) ?? -Infinity, Date.parse(m.marker.committedAt)));
    const referenced = new Set<string>();
    for (const m of markers) {
      const live = keepRuns.has(m.marker.runId) || Date.parse(m.marker.committedAt) >= (newest.get(m.marker.instanceId) ?? Infinity) || !(m.at <= cutoff);
      if (live) {
        for (const f of m.marker.files) referenced.add(`${dir}${f.path}`);
        continue;
      }
      await del(m.key, 'stage marker superseded by a newer one of its instance, of no retained run');
      report.deletedWorkMarkers.push(m.key);
    }
    for (const o of objects) {
      const rel = o.key.slice(dir.length);
      if (!isVisibleDataKey(rel) || referenced.has(o.key)) continue;
      if (!(o.lastModified !== undefined && o.lastModified <= cutoff)) continue;
      await del(o.key, 'work file referenced by no live stage marker');
      report.deletedWorkFiles.push(o.key);
    }
  }
}
