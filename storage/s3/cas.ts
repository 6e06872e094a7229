/**
 * putIfMatch: compare-and-swap of pointers (_CURRENT). PUT with If-Match: <etag>, or
 * If-None-Match: * when the pointer must not exist yet. A concurrent publisher that lost gets
 * STORAGE_PRECONDITION_FAILED.
 *
 * Retried CAS: if an earlier attempt of this call was applied but its response lost, the retry
 * answers 412 (the etag moved — to ours). Each call therefore tags its write with a random
 * x-amz-meta-dagctl-write-id; after a 412 on attempt > 1 the object is HEADed and, if it carries our
 * id, the call succeeded. (If yet another publisher replaced ours in between, we report the
 * precondition failure — true for the caller's view, and publication is retried at a higher level.)
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { ObjectInfo } from '../types.js';
import { checkKey } from '../uri.js';
import { META_SHA256, META_WRITE_ID, fullKey, objectInfo, retried } from './context.js';
import type { S3Ctx } from './context.js';
import { headRaw } from './read.js';
import { isNotFound, isPreconditionFailed } from './sdk-errors.js';

export async function putIfMatch(ctx: S3Ctx, key: string, body: Uint8Array, expectedEtag: string | null): Promise<ObjectInfo> {
  checkKey(key);
  const writeId = randomUUID();
  const condition = expectedEtag === null ? { IfNoneMatch: '*' } : { IfMatch: expectedEtag };
  return retried(ctx, 'putIfMatch', key, async (attempt) => {
    try {
      const out = await ctx.client.send(
        new PutObjectCommand({
          Bucket: ctx.bucket,
          Key: fullKey(ctx, key),
          Body: body,
          ContentLength: body.byteLength,
          ...condition,
          Metadata: { [META_SHA256]: sha256Hex(body), [META_WRITE_ID]: writeId },
        }),
      );
      return objectInfo(key, body.byteLength, out.ETag);
    } catch (e) {
      // AWS answers If-Match on a missing key with 404 NoSuchKey: the expected version is gone too.
      const lost = isPreconditionFailed(e) || (expectedEtag !== null && isNotFound(e));
      if (!lost) throw e;
    }
    if (attempt > 1) {
      const h = await headRaw(ctx, key);
      if (h !== null && h.Metadata?.[META_WRITE_ID] === writeId) return objectInfo(key, h.ContentLength, h.ETag, h.LastModified);
    }
    throw new DagctlError('STORAGE_PRECONDITION_FAILED', `${key} in ${ctx.rootUri} is not at the expected version`, {
      uri: ctx.rootUri,
      key,
      expectedEtag,
    });
  });
}
