/**
 * Publication of a view version, and reading the published view.
 *
 *   publishVersion(store, { version, dataset, files, monotonic?, now? }) → PublishResult
 *   readCurrent(store) → { pointer, manifest } | null
 *   listVersions(store) → version names (sorted)
 *
 * Protocol: (1) write `_versions/<version>/_MANIFEST.json` create-only (a retry of the same
 * publication with the same files reuses the existing manifest; different files under an existing
 * version → STORAGE_CONFLICT); (2) read `_CURRENT` and its etag; (3) putIfMatch the new pointer
 * against that etag. A concurrent publisher that swapped in between makes (3) fail with
 * STORAGE_PRECONDITION_FAILED: re-read and retry (bounded, jittered). So the pointer always names
 * exactly one complete manifest — never a mix — and the last successful swap wins. With
 * `monotonic: true` a publisher never replaces a pointer whose version sorts after its own
 * (string order), making the outcome independent of timing: the greatest version wins.
 *
 * Readers call readCurrent and read only the files listed in the manifest. Manifests are
 * immutable and written before the pointer, so a reader sees either the old or the new view.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { canonicalJson } from '../../core/hash.js';
import type { CurrentPointer, FileEntry, Manifest, ObjectStore } from '../types.js';
import { liveRows } from './deletes.js';
import { CURRENT_KEY, jsonBytes, MANIFEST_NAME, manifestKey, parseJson, versionFolder, VERSIONS_PREFIX } from './layout.js';

export interface PublishOptions {
  version: string;
  dataset: string;
  files: FileEntry[];
  monotonic?: boolean;
  now?: Date;
  maxAttempts?: number;
}

export interface PublishResult {
  pointer: CurrentPointer;
  manifest: Manifest;
  /** false when monotonic and a greater version was already current. */
  swapped: boolean;
  attempts: number;
}

export async function publishVersion(store: ObjectStore, opts: PublishOptions): Promise<PublishResult> {
  const manifest = await writeManifest(store, opts);
  const pointer: CurrentPointer = { version: opts.version, path: versionFolder(opts.version) };
  const body = jsonBytes(pointer);
  const maxAttempts = opts.maxAttempts ?? 100;
  for (let attempt = 1; ; attempt++) {
    const head = await store.head(CURRENT_KEY);
    if (opts.monotonic === true && head !== null) {
      const cur = await readPointer(store);
      if (cur !== null && cur.version >= opts.version) {
        return { pointer: cur.version === opts.version ? pointer : cur, manifest, swapped: false, attempts: attempt };
      }
    }
    try {
      await store.putIfMatch(CURRENT_KEY, body, head?.etag ?? null);
      return { pointer, manifest, swapped: true, attempts: attempt };
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_PRECONDITION_FAILED') || attempt >= maxAttempts) throw e;
      await sleep(Math.random() * Math.min(50, 2 ** attempt));
    }
  }
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

export async function readCurrent(store: ObjectStore): Promise<{ pointer: CurrentPointer; manifest: Manifest } | null> {
  // A vacuum may delete the version a slow reader's pointer named: re-read the pointer then.
  for (let attempt = 0; ; attempt++) {
    const pointer = await readPointer(store);
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
