/**
 * Stable hashing helpers: sha256 of canonical JSON (sorted keys) for fingerprints, and a fast
 * 32-bit string hash (FNV-1a) for bucketing rows in shuffles. Both are deterministic across
 * processes and machines, which fingerprints and shuffles depend on.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted recursively; bigint as decimal string. Arrays keep their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Fingerprint of any JSON-able value: sha256 of its canonical JSON. */
export function fingerprint(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** FNV-1a 32-bit over the UTF-16 code units of a string. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Bucket of a key among `buckets` buckets, stable across processes. */
export function bucketOf(key: string, buckets: number): number {
  return fnv1a32(key) % buckets;
}
