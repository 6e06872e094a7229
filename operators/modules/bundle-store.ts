/**
 * Code bundles in an object store: where a run's code bundle (operators/modules/bundle.ts) lives,
 * and getting it back by hash on any machine.
 *
 *  - `bundleStoreOf` (pure) decides: a run carried by workers (executor `bullmq`) whose DAG has a
 *    dataset in S3 keeps its bundle in that dataset's bucket under `_dagctl/bundles/`; an object
 *    store URI in `DAGCTL_BUNDLE_STORE` (s3:// or a local folder shared by the workers) overrides
 *    that folder for every worker-carried run (a relative folder is resolved against `cwd`). Embedded runs, and worker runs without either, keep
 *    the bundle in the run record (the local journal, or Redis).
 *  - `placeBundle` uploads the bundle once, content-addressed (`<store>/<hash>.json`, create-only:
 *    a second run of the same code writes nothing), and returns the record with a `bundleRef`
 *    (store URI and hash) in place of the inline bundle.
 *  - `runBundle` gives a run's bundle: inline, else from the machine's cache
 *    (`$DAGCTL_BUNDLE_CACHE/src/<hash>.json`), else fetched from the store and cached. Whatever it
 *    returns was verified against the hash the run recorded: altered bytes are BUNDLE_INVALID, a
 *    missing object BUNDLE_NOT_FOUND — each naming the object's URI. A corrupt cache entry is
 *    fetched again, never trusted. One fetch per hash per process (thread).
 *  - `loadRunBundle` imports a run's module operators from it (operators/modules/load.ts
 *    ensureBundle), unless this process already has them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DagctlError, errorMessage, isDagctlError } from '../../core/errors.js';
import type { DagSpec } from '../../definitions/types.js';
import { openObjectStore } from '../../storage/open.js';
import { parseStorageUri } from '../../storage/uri.js';
import type { ObjectStore } from '../../storage/types.js';
import { bundleHashOf, type CodeBundle } from './bundle.js';
import { bundleLoaded, ensureBundle } from './load.js';
import { bundleCacheDir } from './transpile.js';

/** Where a run's bundle was uploaded: the store folder and the bundle's hash. */
export interface BundleRef {
  uri: string;
  hash: string;
}

export const BUNDLE_STORE_ENV = 'DAGCTL_BUNDLE_STORE';
/** The folder of a bucket that holds bundles when none is configured. */
export const BUNDLE_FOLDER = '_dagctl/bundles';

/**
 * The object-store folder for a run's bundle, or null to keep it in the run record. Only runs
 * carried by workers (`bullmq`) use a store: embedded threads share the submitting machine.
 */
export function bundleStoreOf(dag: DagSpec, executor: 'embedded' | 'bullmq', env: NodeJS.ProcessEnv, cwd: string): string | null {
  if (executor !== 'bullmq' || Object.keys(dag.modules ?? {}).length === 0) return null;
  const configured = env[BUNDLE_STORE_ENV];
  if (configured !== undefined && configured !== '') {
    // A local folder is named absolutely in the record: workers start elsewhere.
    const uri = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(configured) ? configured : path.resolve(cwd, configured);
    return uri.replace(/\/+$/, '');
  }
  // A bucket the run writes (an output's) before a source's: sources may be read-only master data.
  const written = new Set(dag.tasks.flatMap((t) => t.outputs));
  const named = Object.entries(dag.datasets);
  for (const [, ds] of [...named.filter(([n]) => written.has(n)), ...named.filter(([n]) => !written.has(n))]) {
    const m = /^s3:\/\/([^/]+)/i.exec(ds.uri);
    if (m !== null) return `s3://${m[1]}/${BUNDLE_FOLDER}`;
  }
  return null;
}

const keyOf = (hash: string): string => `${hash}.json`;
const bytesOf = (b: CodeBundle): Uint8Array => Buffer.from(JSON.stringify({ hash: b.hash, files: b.files }));

/** The bundle in `bytes` if they parse and hash to `hash`; why not otherwise. */
function decode(bytes: Uint8Array, hash: string): CodeBundle | string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    return `not JSON (${errorMessage(e)})`;
  }
  const files = (v as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files) || !Object.values(files).every((t) => typeof t === 'string')) return 'no files map';
  const got = bundleHashOf(files as Record<string, string>);
  return got === hash ? { hash, files: files as Record<string, string> } : `its content hashes to ${got.slice(0, 12)}`;
}

/** Opens `uri` (BUNDLE_NOT_FOUND-free: a bad URI is STORAGE_URI_INVALID, naming it). */
function open(uri: string): Promise<ObjectStore> {
  parseStorageUri(uri);
  return openObjectStore(uri);
}

/**
 * Uploads the record's inline bundle to `storeUri` once (create-only, by hash) and returns the
 * record with `bundleRef` instead of `bundle`. An object already there that is not this bundle
 * (altered in the store) is BUNDLE_INVALID: nothing is overwritten.
 */
export async function placeBundle<R extends { bundle?: CodeBundle; bundleRef?: BundleRef }>(record: R, storeUri: string): Promise<R & { bundleRef?: BundleRef }> {
  const bundle = record.bundle;
  if (bundle === undefined) return record;
  const store = await open(storeUri);
  const key = keyOf(bundle.hash);
  const at = `${storeUri}/${key}`;
  if ((await store.head(key)) === null) {
    try {
      await store.putIfAbsent(key, bytesOf(bundle));
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
    }
  }
  // Whatever is there now must be this bundle (a racing upload of the same code is).
  const there = decode(await store.get(key), bundle.hash);
  if (typeof there === 'string') throw new DagctlError('BUNDLE_INVALID', `code bundle ${at} is not the run's bundle ${bundle.hash.slice(0, 12)}: ${there}; delete the object (bundles are content-addressed) and submit again`, { bundle: bundle.hash, uri: at });
  const { bundle: _inline, ...rest } = record;
  void _inline;
  return { ...rest, bundleRef: { uri: storeUri, hash: bundle.hash } } as R;
}

const fetching = new Map<string, Promise<CodeBundle>>();

/** The run's bundle, verified against its hash: inline, cached on this machine, or fetched from its store. */
export function runBundle(bundle: CodeBundle | undefined, ref: BundleRef | undefined): Promise<CodeBundle> {
  if (bundle !== undefined) return Promise.resolve(bundle);
  if (ref === undefined) return Promise.reject(new DagctlError('BUNDLE_NOT_FOUND', 'the run declares operator modules but records no code bundle'));
  let p = fetching.get(ref.hash);
  if (p === undefined) {
    p = fetchBundle(ref);
    fetching.set(ref.hash, p);
    p.catch(() => fetching.delete(ref.hash));
  }
  return p;
}

async function fetchBundle(ref: BundleRef): Promise<CodeBundle> {
  const cached = path.join(bundleCacheDir(), 'src', keyOf(ref.hash));
  try {
    const hit = decode(await readFile(cached), ref.hash);
    if (typeof hit !== 'string') return hit;
  } catch {
    // not cached on this machine yet
  }
  const at = `${ref.uri}/${keyOf(ref.hash)}`;
  let bytes: Uint8Array;
  try {
    bytes = await (await open(ref.uri)).get(keyOf(ref.hash));
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) throw new DagctlError('BUNDLE_NOT_FOUND', `code bundle ${at} does not exist: the run's operator code was deleted from its store (bundles are content-addressed; submit the run again to upload it)`, { bundle: ref.hash, uri: at });
    throw e;
  }
  const got = decode(bytes, ref.hash);
  if (typeof got === 'string') throw new DagctlError('BUNDLE_INVALID', `code bundle ${at} is not the run's bundle ${ref.hash.slice(0, 12)}: ${got} (altered in the store?); refusing to run it`, { bundle: ref.hash, uri: at });
  await cache(cached, bytes);
  return got;
}

/** Writes a cache entry (temp + rename); a cache that cannot be written only costs a fetch next time. */
async function cache(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch {
    await rm(tmp, { force: true });
  }
}

/** Loads the run's module operators into this process (thread), fetching its bundle if needed. */
export async function loadRunBundle(run: { bundle?: CodeBundle; bundleRef?: BundleRef; dag: DagSpec }): Promise<void> {
  if (Object.keys(run.dag.modules ?? {}).length === 0) return;
  const hash = run.bundle?.hash ?? run.bundleRef?.hash;
  if (hash !== undefined && bundleLoaded(hash)) return;
  await ensureBundle(await runBundle(run.bundle, run.bundleRef), run.dag.modules ?? {});
}
