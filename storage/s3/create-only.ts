/**
 * putIfAbsent: create-only writes of data files, markers and manifests (PUT with If-None-Match: *).
 *
 * A 412 is not automatically a conflict: when our own earlier attempt was applied but its response
 * was lost, the retry sees our object. So a 412 is resolved by comparing the existing object's
 * sha256 (x-amz-meta-sha256, or the hashed body when a foreign writer left none) with ours:
 * identical → success, different → STORAGE_CONFLICT. Nothing here ever overwrites.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { ObjectInfo } from '../types.js';
import { checkKey } from '../uri.js';
import { META_SHA256, fullKey, objectInfo, retried } from './context.js';
import type { S3Ctx } from './context.js';
import { putMultipartIfAbsent } from './multipart.js';
import { get, headRaw } from './read.js';
import { isPreconditionFailed } from './sdk-errors.js';

/** Thrown inside the retry loop when the object vanished between our 412 and our HEAD. */
class VanishedError extends Error {
  override readonly name = 'VanishedError';
}

/**
 * After a 412: the existing object if it holds exactly our bytes, otherwise STORAGE_CONFLICT.
 * Exported for the multipart path, which resolves its 412s the same way.
 */
export async function resolveExisting(ctx: S3Ctx, key: string, sha256: string): Promise<ObjectInfo> {
  const h = await headRaw(ctx, key);
  if (h === null) throw new VanishedError(`${key} answered 412 but is gone`);
  let actual = h.Metadata?.[META_SHA256];
  if (actual === undefined) actual = sha256Hex(await get(ctx, key));
  if (actual !== sha256) {
    throw new DagctlError('STORAGE_CONFLICT', `${key} already exists in ${ctx.rootUri} with different content`, {
      uri: ctx.rootUri,
      key,
      sha256,
      existingSha256: actual,
    });
  }
  return objectInfo(key, h.ContentLength, h.ETag, h.LastModified);
}

export async function putIfAbsent(ctx: S3Ctx, key: string, body: Uint8Array): Promise<ObjectInfo> {
  checkKey(key);
  const sha256 = sha256Hex(body);
  if (body.byteLength >= ctx.cfg.multipartThreshold) {
    return putMultipartIfAbsent(ctx, key, chunksOf(body, ctx.cfg.partSize), { sha256, resolveExisting });
  }
  return retried(ctx, 'putIfAbsent', key, async () => {
    try {
      const out = await ctx.client.send(
        new PutObjectCommand({
          Bucket: ctx.bucket,
          Key: fullKey(ctx, key),
          Body: body,
          ContentLength: body.byteLength,
          IfNoneMatch: '*',
          Metadata: { [META_SHA256]: sha256 },
        }),
      );
      return objectInfo(key, body.byteLength, out.ETag);
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
    }
    // Outside the catch so a VanishedError (retryable: it has no HTTP status) re-runs the PUT.
    return resolveExisting(ctx, key, sha256);
  });
}

function* chunksOfSync(body: Uint8Array, size: number): Generator<Uint8Array> {
  for (let off = 0; off < body.byteLength; off += size) yield body.subarray(off, Math.min(off + size, body.byteLength));
}

async function* chunksOf(body: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  yield* chunksOfSync(body, size);
}
