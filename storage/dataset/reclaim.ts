/**
 * Reclaiming a task's work area — `<dataset>/_work/<task>/` of the first dataset it writes: its
 * stage markers and shuffle files — once nothing can need it (its run succeeded: published, no
 * resume pending). `dagctl run --reclaim-work` calls it; `dagctl dataset vacuum` instead keeps the
 * newest work of every instance (an incremental re-run reuses it) and collects what later runs
 * superseded.
 * Markers (`_commits/`) are deleted before any file: an interrupted reclaim never leaves a stage
 * marker naming deleted files, and memoization, which needs the marker, recomputes every stage
 * whose marker is gone (the next run's map side runs again; its results are the same). The
 * dataset's own markers and files are not touched.
 */
import type { ObjectStore } from '../types.js';
import { COMMITS_PREFIX } from './layout.js';

export interface ReclaimReport {
  markers: number;
  files: number;
  bytes: number;
}

/** Deletes every object of the work area `store` is rooted at: markers first, then the rest. */
export async function reclaimWorkArea(store: ObjectStore): Promise<ReclaimReport> {
  const all = await store.list('');
  const markers = all.filter((o) => o.key.startsWith(COMMITS_PREFIX));
  const rest = all.filter((o) => !o.key.startsWith(COMMITS_PREFIX));
  for (const m of markers) await store.delete(m.key);
  for (const f of rest) await store.delete(f.key);
  return { markers: markers.length, files: rest.length, bytes: rest.reduce((n, f) => n + (f.size ?? 0), 0) };
}
