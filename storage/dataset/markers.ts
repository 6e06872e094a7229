/**
 * Commit markers: how a task instance's output becomes part of a dataset, exactly once.
 *
 *   writeCommitMarker(store, marker)                    → CommitMarker (the one that counts)
 *   readCommitMarker(store, instanceId, fingerprint)   → CommitMarker | null  (memoization check)
 *   listCommitMarkers(store)                            → CommitMarker[]
 *
 * A marker lives at `_commits/<instanceId>@<fingerprint[0:16]>.json` and is written create-only.
 * If the key already exists (a retried or duplicated attempt committed first) the existing marker
 * is returned unchanged: first commit wins, and the caller must use the returned marker's files
 * (its own files, if different, are uncommitted garbage for vacuum). A marker whose full
 * fingerprint differs from the requested one is treated as absent by readCommitMarker.
 */
import { isDagctlError } from '../../core/errors.js';
import type { CommitMarker, ObjectStore } from '../types.js';
import { COMMITS_PREFIX, jsonBytes, markerKey, parseJson } from './layout.js';

export async function writeCommitMarker(store: ObjectStore, marker: CommitMarker): Promise<CommitMarker> {
  const key = markerKey(marker.instanceId, marker.fingerprint);
  try {
    await store.putIfAbsent(key, jsonBytes(marker));
    return marker;
  } catch (e) {
    if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
    return parseJson<CommitMarker>(await store.get(key), key);
  }
}

export async function readCommitMarker(store: ObjectStore, instanceId: string, fingerprint: string): Promise<CommitMarker | null> {
  const key = markerKey(instanceId, fingerprint);
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) return null;
    throw e;
  }
  const m = parseJson<CommitMarker>(bytes, key);
  return m.fingerprint === fingerprint ? m : null;
}

export async function listCommitMarkers(store: ObjectStore): Promise<{ key: string; marker: CommitMarker }[]> {
  const out: { key: string; marker: CommitMarker }[] = [];
  for (const o of await store.list(COMMITS_PREFIX)) {
    if (!o.key.endsWith('.json')) continue;
    out.push({ key: o.key, marker: parseJson<CommitMarker>(await store.get(o.key), o.key) });
  }
  return out;
}
