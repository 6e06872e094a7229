/**
 * Maps an `s3://bucket/prefix` URI to the bucket, the key prefix the store prepends, and the
 * canonical root URI. Parsing itself is storage/uri.ts's (shared with the other stores) so every
 * store accepts and rejects the same URIs.
 *
 * Preconditions: none; anything that is not an s3:// URI throws STORAGE_URI_INVALID.
 */
import { DagctlError } from '../../core/errors.js';
import { formatStorageUri, parseStorageUri } from '../uri.js';

export interface S3Location {
  bucket: string;
  /** '' or 'a/b/' (ends with '/' when non-empty, so keys are simply appended). */
  prefix: string;
  rootUri: string;
}

export function parseS3Uri(uri: string): S3Location {
  const loc = parseStorageUri(uri);
  if (loc.scheme !== 's3') throw new DagctlError('STORAGE_URI_INVALID', `not an s3:// URI: ${uri}`, { uri });
  const segments = loc.prefix.split('/');
  // Empty, '.' or '..' segments make keys a filesystem-backed server would resolve or reject.
  if (loc.prefix !== '' && segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new DagctlError('STORAGE_URI_INVALID', `bad key prefix in s3 URI: ${uri}`, { uri });
  }
  return { bucket: loc.bucket, prefix: loc.prefix === '' ? '' : `${loc.prefix}/`, rootUri: formatStorageUri(loc) };
}
