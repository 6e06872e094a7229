/**
 * What every S3 store operation needs: the client, where the store is rooted, its settings, and the
 * retry policy. Kept in one small value so the operations can live in separate files.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo } from '../types.js';
import type { ResolvedS3Config } from './config.js';
import type { RetryPolicy } from './retry.js';
import { withRetry } from './retry.js';
import { toStorageError } from './sdk-errors.js';

export interface S3Ctx {
  client: S3Client;
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
  rootUri: string;
  cfg: ResolvedS3Config;
  policy: RetryPolicy;
}

/** Object metadata names (sent as x-amz-meta-<name>). */
export const META_SHA256 = 'sha256';
export const META_WRITE_ID = 'dagctl-write-id';

export function fullKey(ctx: S3Ctx, key: string): string {
  return ctx.prefix + key;
}

/** lastModified only when the server reported it (write responses do not carry it). */
export function objectInfo(key: string, size: number | undefined, etag: string | undefined, lastModified?: Date): ObjectInfo {
  const info: ObjectInfo = { key, size: size ?? 0, etag: etag ?? '' };
  if (lastModified !== undefined) info.lastModified = lastModified.getTime();
  return info;
}

/** Runs one S3 call under the retry policy; a final failure becomes a DagctlError (STORAGE_IO). */
export async function retried<T>(ctx: S3Ctx, op: string, key: string, fn: (attempt: number) => Promise<T>): Promise<T> {
  try {
    return await withRetry(ctx.policy, fn);
  } catch (e) {
    throw toStorageError(e, op, { uri: ctx.rootUri, key });
  }
}
