/**
 * head and get. get verifies the body against the sha256 the writer stored as object metadata, so a
 * torn read (connection dropped mid-body) is retried instead of returned as data.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { ObjectInfo } from '../types.js';
import { checkKey } from '../uri.js';
import { META_SHA256, fullKey, objectInfo, retried } from './context.js';
import type { S3Ctx } from './context.js';
import { isNotFound } from './sdk-errors.js';

/** HEAD with retries; null when the object does not exist. */
export async function headRaw(ctx: S3Ctx, key: string): Promise<HeadObjectCommandOutput | null> {
  return retried(ctx, 'head', key, async () => {
    try {
      return await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: fullKey(ctx, key) }));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  });
}

export async function head(ctx: S3Ctx, key: string): Promise<ObjectInfo | null> {
  checkKey(key);
  const h = await headRaw(ctx, key);
  return h === null ? null : objectInfo(key, h.ContentLength, h.ETag, h.LastModified);
}

class TornReadError extends Error {
  override readonly name = 'TornReadError';
}

export async function get(ctx: S3Ctx, key: string): Promise<Uint8Array> {
  checkKey(key);
  return retried(ctx, 'get', key, async () => {
    let out;
    try {
      out = await ctx.client.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: fullKey(ctx, key) }));
    } catch (e) {
      if (isNotFound(e)) throw new DagctlError('STORAGE_NOT_FOUND', `no object ${key} in ${ctx.rootUri}`, { uri: ctx.rootUri, key });
      throw e;
    }
    if (out.Body === undefined) throw new TornReadError(`empty response body for ${key}`);
    const bytes = await out.Body.transformToByteArray();
    const expected = out.Metadata?.[META_SHA256];
    if (expected !== undefined && sha256Hex(bytes) !== expected) {
      throw new TornReadError(`body of ${key} does not match its sha256 metadata (torn read?)`);
    }
    return bytes;
  });
}
