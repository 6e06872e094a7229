/**
 * Names of things inside a dataset (see the layout in storage/types.ts): partition and bucket
 * folders, data file names, commit marker keys, version folders, the _CURRENT pointer, and which
 * keys are data files (not `_*` / `.*` bookkeeping). Pure functions; no I/O.
 */
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';

export const CURRENT_KEY = '_CURRENT';
export const COMMITS_PREFIX = '_commits/';
export const VERSIONS_PREFIX = '_versions/';
export const MANIFEST_NAME = '_MANIFEST.json';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function isDate(s: string): boolean {
  return DATE_RE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
}

/** `date=YYYY-MM-DD/` */
export function dateFolder(date: string): string {
  if (!isDate(date)) throw new DagctlError('PARAM_INVALID', `not a date: "${date}"`, { date });
  return `date=${date}/`;
}

/** `bucket=NNN/` (zero-padded to 3 digits; wider numbers are kept whole). */
export function bucketFolder(bucket: number): string {
  if (!Number.isInteger(bucket) || bucket < 0) throw new DagctlError('PARAM_INVALID', `bad bucket ${bucket}`, { bucket });
  return `bucket=${String(bucket).padStart(3, '0')}/`;
}

/** `part-NNNNN-<hash16>.parquet`: hash over the salt (writer identity) and the content hash. */
export function partFileName(seq: number, contentSha256: string, salt: string, ext = 'parquet'): string {
  const h = sha256Hex(`${salt}\0${contentSha256}`).slice(0, 16);
  return `part-${String(seq).padStart(5, '0')}-${h}.${ext}`;
}

/** The date partition of a key inside a `date=` folder, else undefined. */
export function partitionOf(key: string): string | undefined {
  const m = /(?:^|\/)date=(\d{4}-\d{2}-\d{2})\//.exec(key);
  return m?.[1];
}

/** The bucket of a key inside a `bucket=NNN` folder, else undefined. */
export function bucketOfKey(key: string): number | undefined {
  const m = /(?:^|\/)bucket=(\d+)\//.exec(key);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** True when no segment of the key starts with '_' or '.' (bookkeeping, temps, markers). */
export function isVisibleDataKey(key: string): boolean {
  return key.split('/').every((s) => s !== '' && !s.startsWith('_') && !s.startsWith('.'));
}

export function versionFolder(version: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._=-]*$/.test(version)) throw new DagctlError('PARAM_INVALID', `bad version name "${version}"`, { version });
  return `${VERSIONS_PREFIX}${version}`;
}

export function manifestKey(version: string): string {
  return `${versionFolder(version)}/${MANIFEST_NAME}`;
}

export function markerKey(instanceId: string, fingerprint: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._=-]*$/.test(instanceId)) throw new DagctlError('PARAM_INVALID', `bad instance id "${instanceId}"`, { instanceId });
  if (fingerprint.length < 16) throw new DagctlError('PARAM_INVALID', 'fingerprint must have at least 16 characters', { fingerprint });
  return `${COMMITS_PREFIX}${instanceId}@${fingerprint.slice(0, 16)}.json`;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function jsonBytes(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value, null, 2) + '\n');
}

export function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(dec.decode(bytes)) as T;
  } catch (e) {
    throw new DagctlError('STORAGE_IO', `corrupt ${what}`, { what }, { cause: e });
  }
}
