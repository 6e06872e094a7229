/**
 * The canonical form of a dataset URI, so that two spellings of one location compare equal and
 * overlap between datasets (one equal to, inside or around another) is a prefix test on segments.
 *
 * Pure, no I/O. Rules:
 *   - scheme case is ignored (`S3://`, `FILE://`);
 *   - plain paths and `file://` URIs are local: relative ones resolve against `baseDir`;
 *     `file://` text is percent-decoded (`%20` is a space; a bad escape is an error), a plain path
 *     is literal; `file://localhost/abs` is `/abs`; `.`, `..` (never above `/`), duplicate and
 *     trailing slashes are removed;
 *   - `s3://bucket/key`: the bucket is lower-cased (S3 bucket names are case-insensitive DNS
 *     labels), the key keeps its case and bytes (keys are case-sensitive) but loses duplicate and
 *     trailing slashes and `.` segments, and `..` pops a segment (never above the bucket: an error);
 *   - any other scheme is an error.
 * Symlinks need the disk: `withRealpath` applies a caller-supplied realpath (see
 * storage/local/realpath.ts) to a local location, at validation time and in the task runner.
 *
 * Contract: canonicalDatasetUri(a) === canonicalDatasetUri(b) iff a and b name one location under
 * these rules; `overlap` is 'equal' | 'inside' | 'around' | null on whole segments only
 * (`/data/a` is not inside `/data/ab`).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface CanonicalLocation {
  /** 'memory' only with `{ memory: true }` (process-local test stores; DAG files cannot name them). */
  scheme: 'file' | 's3' | 'memory';
  /** '' for local paths; the lower-cased bucket for S3. */
  root: string;
  /** Path segments below the root: no '', '.' or '..'. */
  segments: readonly string[];
}

export type CanonicalResult = { ok: true; location: CanonicalLocation; uri: string } | { ok: false; reason: string };

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s;

/** Canonicalises `uri` (see banner); `baseDir` must be an absolute directory. */
export function canonicalizeUri(uri: string, baseDir: string, opts: { memory?: boolean } = {}): CanonicalResult {
  const trimmed = uri.trim();
  if (trimmed === '') return { ok: false, reason: 'empty URI' };
  const m = SCHEME.exec(trimmed);
  if (m === null) return local(path.resolve(baseDir, trimmed));
  const scheme = (m[1] ?? '').toLowerCase();
  let rest = m[2] ?? '';
  if (scheme === 'file') {
    if (rest === '') return { ok: false, reason: 'file:// needs a path' };
    if (/^localhost\//i.test(rest)) rest = rest.slice('localhost'.length);
    let decoded: string;
    try {
      decoded = decodeURIComponent(rest);
    } catch {
      return { ok: false, reason: `bad percent-encoding in "${uri}"` };
    }
    if (decoded.includes('\0')) return { ok: false, reason: 'a path cannot contain NUL' };
    return local(decoded.startsWith('/') ? path.resolve(decoded) : path.resolve(baseDir, decoded));
  }
  if (scheme === 's3') {
    const slash = rest.indexOf('/');
    const bucket = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
    if (bucket === '') return { ok: false, reason: 's3 URIs need a bucket: s3://bucket/prefix' };
    const segments: string[] = [];
    for (const seg of (slash < 0 ? '' : rest.slice(slash + 1)).split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg === '..') {
        if (segments.pop() === undefined) return { ok: false, reason: `"${uri}" climbs above its bucket` };
      } else segments.push(seg);
    }
    const location: CanonicalLocation = { scheme: 's3', root: bucket, segments };
    return { ok: true, location, uri: formatCanonical(location) };
  }
  if (scheme === 'memory' && opts.memory === true) {
    const location: CanonicalLocation = { scheme: 'memory', root: '', segments: rest.split('/').filter((x) => x !== '' && x !== '.') };
    return { ok: true, location, uri: formatCanonical(location) };
  }
  return { ok: false, reason: `unsupported scheme ${scheme}:// (use file:// or s3://, or a path)` };
}

function local(absPath: string): CanonicalResult {
  if (absPath.includes('\0')) return { ok: false, reason: 'a path cannot contain NUL' };
  const location: CanonicalLocation = { scheme: 'file', root: '', segments: absPath.split('/').filter((s) => s !== '') };
  return { ok: true, location, uri: formatCanonical(location) };
}

/** The canonical URI: `file:///a/b` (percent-encoded as Node's pathToFileURL does) or `s3://bucket/a/b`. */
export function formatCanonical(loc: CanonicalLocation): string {
  if (loc.scheme === 'file') return pathToFileURL(`/${loc.segments.join('/')}`).href;
  if (loc.scheme === 'memory') return `memory://${loc.segments.join('/')}`;
  return loc.segments.length === 0 ? `s3://${loc.root}` : `s3://${loc.root}/${loc.segments.join('/')}`;
}

/** The absolute local path of a file location. */
export function localPath(loc: CanonicalLocation): string {
  return `/${loc.segments.join('/')}`;
}

/** A local location with symlinks resolved by `realpath` (absolute path in, absolute path out); S3 unchanged. */
export function withRealpath(loc: CanonicalLocation, realpath: (absPath: string) => string): CanonicalLocation {
  if (loc.scheme !== 'file') return loc;
  const r = local(realpath(localPath(loc)));
  return r.ok ? r.location : loc;
}

export type Overlap = 'equal' | 'inside' | 'around';

/** How `a` relates to `b`: equal, inside (a nested in b), around (b nested in a), or null (disjoint). */
export function overlap(a: CanonicalLocation, b: CanonicalLocation): Overlap | null {
  if (a.scheme !== b.scheme || a.root !== b.root) return null;
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) if (a.segments[i] !== b.segments[i]) return null;
  if (a.segments.length === b.segments.length) return 'equal';
  return a.segments.length > b.segments.length ? 'inside' : 'around';
}
