/**
 * Dataset URIs as written in DAG files, resolved to absolute canonical URIs (definitions/canonical-uri.ts):
 *   s3://bucket/prefix     bucket lower-cased, duplicate/trailing slashes and dot segments removed;
 *   file:///abs/path       kept (normalized);
 *   file://./rel, file://rel, rel/path, ./rel
 *                          relative to the DAG file's directory, made file:///abs;
 *   /abs/path              file:///abs/path.
 * Any other scheme is rejected (BAD_URI), so a typo cannot send data somewhere unexpected.
 *
 * Precondition: `dagDir` is an absolute directory path.
 */
import { canonicalizeUri } from './canonical-uri.js';

export type UriResult = { ok: true; uri: string } | { ok: false; reason: string };

export function resolveDatasetUri(uri: string, dagDir: string): UriResult {
  const r = canonicalizeUri(uri, dagDir);
  return r.ok ? { ok: true, uri: r.uri } : r;
}
