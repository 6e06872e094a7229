/**
 * SourceSnapshot: the listing of every source (master) dataset a run reads, taken once when the
 * run is created and stored with it. Planning and input resolution read this snapshot, never the
 * live storage, so a resumed run sees exactly the inputs the original run planned with.
 */
import type { FileEntry } from '../../storage/types.js';

export type SourceSnapshot = Record<string, FileEntry[]>;

/** Sorted distinct date partitions of a source listing ('' entries ignored). */
export function partitionsOf(files: readonly FileEntry[]): string[] {
  const set = new Set<string>();
  for (const f of files) if (f.partition !== undefined && f.partition !== '') set.add(f.partition);
  return [...set].sort();
}

export function sizeOf(files: readonly FileEntry[]): { bytes: number; rows: number } {
  let bytes = 0;
  let rows = 0;
  for (const f of files) {
    bytes += f.bytes;
    // Source listings do not read files, so rows may be unknown (-1): estimate ~64 bytes a row.
    rows += f.rows >= 0 ? f.rows : Math.ceil(f.bytes / 64);
  }
  return { bytes, rows };
}
