/**
 * Storage URIs and object keys.
 *
 * URIs: `file:///abs/path`, `file://./rel/path` (relative to the base dir), plain paths (absolute,
 * or relative to the base dir), `s3://bucket/prefix`, and `memory://name` (a process-local store
 * for tests and demos). Anything else is STORAGE_URI_INVALID.
 *
 * Keys are '/'-separated paths relative to a store root: no leading '/', no empty, '.' or '..'
 * segments, no backslashes or NULs, and no segment starting with '.', which is reserved for
 * stores' temp and lock files (never listed). Every ObjectStore validates keys with `checkKey`.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DagctlError } from '../core/errors.js';

export type StorageLocation =
  | { scheme: 'file'; path: string }
  | { scheme: 's3'; bucket: string; prefix: string }
  | { scheme: 'memory'; name: string };

export function parseStorageUri(uri: string, baseDir: string = process.cwd()): StorageLocation {
  if (uri === '') throw new DagctlError('STORAGE_URI_INVALID', 'empty storage URI');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(uri);
  if (m === null) {
    if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(uri)) throw new DagctlError('STORAGE_URI_INVALID', `unsupported URI "${uri}"`, { uri });
    return { scheme: 'file', path: isAbsolute(uri) ? resolve(uri) : resolve(baseDir, uri) };
  }
  const scheme = (m[1] ?? '').toLowerCase();
  const rest = m[2] ?? '';
  switch (scheme) {
    case 'file': {
      if (rest.startsWith('/')) {
        try {
          return { scheme: 'file', path: resolve(fileURLToPath(`file://${rest}`)) };
        } catch (e) {
          throw new DagctlError('STORAGE_URI_INVALID', `bad file URI "${uri}"`, { uri }, { cause: e });
        }
      }
      if (rest === '' || rest.startsWith('localhost/')) throw new DagctlError('STORAGE_URI_INVALID', `bad file URI "${uri}"`, { uri });
      return { scheme: 'file', path: resolve(baseDir, decodeURIComponent(rest)) };
    }
    case 's3': {
      const slash = rest.indexOf('/');
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new DagctlError('STORAGE_URI_INVALID', `bad S3 bucket in "${uri}"`, { uri });
      return { scheme: 's3', bucket, prefix };
    }
    case 'memory':
      if (!/^[A-Za-z0-9._/-]+$/.test(rest)) throw new DagctlError('STORAGE_URI_INVALID', `bad memory URI "${uri}"`, { uri });
      return { scheme: 'memory', name: rest };
    default:
      throw new DagctlError('STORAGE_URI_INVALID', `unsupported URI scheme "${scheme}" in "${uri}"`, { uri });
  }
}

/** The canonical URI of a location (file URIs absolute). */
export function formatStorageUri(loc: StorageLocation): string {
  switch (loc.scheme) {
    case 'file':
      return pathToFileURL(loc.path).href;
    case 's3':
      return loc.prefix === '' ? `s3://${loc.bucket}` : `s3://${loc.bucket}/${loc.prefix}`;
    case 'memory':
      return `memory://${loc.name}`;
  }
}

/** Throws STORAGE_URI_INVALID unless `key` is a valid object key (see banner). */
export function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0')) throw badKey(key);
  for (const seg of key.split('/')) if (seg === '' || seg.startsWith('.')) throw badKey(key);
}

/** A list prefix: '' or a key prefix (may end with '/'); same rules as keys for whole segments. */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

function badKey(key: string): DagctlError {
  return new DagctlError('STORAGE_URI_INVALID', `invalid object key "${key}"`, { key });
}

/** Joins key parts with '/', dropping empty parts and duplicate slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '')
    .join('/');
}
