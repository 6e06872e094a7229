/**
 * Opening stores from URIs (storage/uri.ts):
 *   openObjectStore(uri, { baseDir })  → LocalObjectStore | S3 store | MemoryObjectStore
 *   openSource(uri, { baseDir })       → { store, only? } for a source dataset URI that may name a
 *                                        single file (access logs): then the store is rooted at
 *                                        the file's folder and `only` is its key.
 * The S3 store lives in storage/s3/store.ts (another module) and is imported dynamically, so
 * local and memory paths never load the AWS SDK.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DagctlError } from '../core/errors.js';
import { LocalObjectStore } from './local/store.js';
import { namedMemoryStore } from './memory/store.js';
import type { ObjectStore } from './types.js';
import { formatStorageUri, parseStorageUri } from './uri.js';

export interface OpenOptions {
  /** Base directory for relative paths and file://./rel URIs (default: process.cwd()). */
  baseDir?: string;
}

interface S3Module {
  createS3ObjectStore(uri: string): ObjectStore;
}

// A variable specifier keeps tsc from resolving the module at build time (it is owned and built
// separately) and keeps the AWS SDK out of processes that never touch S3.
const S3_MODULE = './s3/store.js';

export async function openObjectStore(uri: string, opts: OpenOptions = {}): Promise<ObjectStore> {
  const loc = parseStorageUri(uri, opts.baseDir);
  switch (loc.scheme) {
    case 'file':
      return new LocalObjectStore(loc.path);
    case 'memory':
      return namedMemoryStore(loc.name);
    case 's3': {
      let mod: S3Module;
      try {
        mod = (await import(S3_MODULE)) as S3Module;
      } catch (e) {
        throw new DagctlError('STORAGE_URI_INVALID', `S3 support is not available: ${e instanceof Error ? e.message : String(e)}`, { uri }, { cause: e });
      }
      return mod.createS3ObjectStore(formatStorageUri(loc));
    }
  }
}

export interface SourceLocation {
  store: ObjectStore;
  /** Key of the single file the URI names, when it names a file rather than a dataset folder. */
  only?: string;
}

const FILE_LIKE = /\.(log|txt|gz|csv|tsv|json|jsonl|ndjson|parquet)$/i;

/**
 * Local URIs name a single file when the path is a regular file. S3 URIs name a single file when
 * the last segment has a data-file extension (FILE_LIKE) — S3 has no folders to stat.
 */
export async function openSource(uri: string, opts: OpenOptions = {}): Promise<SourceLocation> {
  const loc = parseStorageUri(uri, opts.baseDir);
  if (loc.scheme === 'file') {
    const st = await fs.stat(loc.path).catch(() => undefined);
    if (st?.isFile() === true) return { store: new LocalObjectStore(dirname(loc.path)), only: basename(loc.path) };
  }
  if (loc.scheme === 's3' && FILE_LIKE.test(loc.prefix)) {
    const cut = loc.prefix.lastIndexOf('/');
    const parent = formatStorageUri({ ...loc, prefix: cut < 0 ? '' : loc.prefix.slice(0, cut) });
    return { store: await openObjectStore(parent), only: loc.prefix.slice(cut + 1) };
  }
  return { store: await openObjectStore(uri, opts) };
}
