/**
 * Dataset URIs as written in DAG files, resolved to absolute URIs:
 *   s3://bucket/prefix     kept as written;
 *   file:///abs/path       kept (normalized);
 *   file://./rel, file://rel, rel/path, ./rel
 *                          relative to the DAG file's directory, made file:///abs;
 *   /abs/path              file:///abs/path.
 * Any other scheme is rejected (BAD_URI), so a typo cannot send data somewhere unexpected.
 *
 * Precondition: `dagDir` is an absolute directory path.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

export type UriResult = { ok: true; uri: string } | { ok: false; reason: string };

export function resolveDatasetUri(uri: string, dagDir: string): UriResult {
  const trimmed = uri.trim();
  if (trimmed === '') return { ok: false, reason: 'empty URI' };
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return { ok: true, uri: fileUri(path.resolve(dagDir, trimmed)) };
  if (scheme === 's3') {
    const rest = trimmed.slice('s3://'.length);
    if (rest === '' || rest.startsWith('/')) return { ok: false, reason: 's3 URIs need a bucket: s3://bucket/prefix' };
    return { ok: true, uri: trimmed };
  }
  if (scheme === 'file') {
    const rest = trimmed.slice('file://'.length);
    if (rest === '') return { ok: false, reason: 'file:// needs a path' };
    return { ok: true, uri: fileUri(rest.startsWith('/') ? path.resolve(decodeURIComponent(rest)) : path.resolve(dagDir, decodeURIComponent(rest))) };
  }
  return { ok: false, reason: `unsupported scheme ${scheme}:// (use file:// or s3://, or a path)` };
}

function fileUri(absPath: string): string {
  return pathToFileURL(absPath).href;
}
