/**
 * Create-only multipart upload: parts are streamed (one part buffered at a time) and the object only
 * appears on CompleteMultipartUpload, which carries If-None-Match: * — so a large file is as
 * create-only as a small one. The sha256 goes into the object metadata at CreateMultipartUpload, so
 * the caller must know it up front (dagctl writers hash files for their FileEntry anyway); the
 * streamed bytes are hashed again and the upload is aborted if they disagree.
 *
 * Retried completion: if our CompleteMultipartUpload was applied but its response lost, the retry
 * answers 412 (object exists) or NoSuchUpload; both are resolved by comparing sha256.
 * Any failure aborts the upload (best effort) so no parts are left billed.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { DagctlError } from '../../core/errors.js';
import type { ObjectInfo } from '../types.js';
import { checkKey } from '../uri.js';
import { META_SHA256, fullKey, objectInfo, retried } from './context.js';
import type { S3Ctx } from './context.js';
import { headRaw } from './read.js';
import { errorNameOf, isPreconditionFailed } from './sdk-errors.js';

export interface MultipartOptions {
  /** Hex sha256 of the whole body: stored as x-amz-meta-sha256 and verified against the stream. */
  sha256: string;
  resolveExisting(ctx: S3Ctx, key: string, sha256: string): Promise<ObjectInfo>;
}

/** Re-chunks an arbitrary byte stream into parts of exactly `size` bytes (the last may be shorter). */
async function* parts(chunks: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf = Buffer.allocUnsafe(size);
  let used = 0;
  for await (const chunk of chunks) {
    let off = 0;
    while (off < chunk.byteLength) {
      const n = Math.min(size - used, chunk.byteLength - off);
      buf.set(chunk.subarray(off, off + n), used);
      used += n;
      off += n;
      if (used === size) {
        yield buf;
        buf = Buffer.allocUnsafe(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}

export async function putMultipartIfAbsent(
  ctx: S3Ctx,
  key: string,
  chunks: AsyncIterable<Uint8Array>,
  opts: MultipartOptions,
): Promise<ObjectInfo> {
  checkKey(key);
  // Cheap early exit: do not stream gigabytes to find out at completion that the file exists.
  if ((await headRaw(ctx, key)) !== null) return opts.resolveExisting(ctx, key, opts.sha256);

  const Bucket = ctx.bucket;
  const Key = fullKey(ctx, key);
  const created = await retried(ctx, 'createMultipartUpload', key, () =>
    ctx.client.send(new CreateMultipartUploadCommand({ Bucket, Key, Metadata: { [META_SHA256]: opts.sha256 } })),
  );
  const UploadId = created.UploadId;
  if (UploadId === undefined) throw new DagctlError('STORAGE_IO', `no UploadId for ${key}`, { uri: ctx.rootUri, key });

  let completed = false;
  try {
    const hash = createHash('sha256');
    const done: CompletedPart[] = [];
    let size = 0;
    for await (const part of parts(chunks, ctx.cfg.partSize)) {
      hash.update(part);
      size += part.byteLength;
      const PartNumber = done.length + 1;
      const out = await retried(ctx, 'uploadPart', key, () =>
        ctx.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: part, ContentLength: part.byteLength })),
      );
      done.push({ PartNumber, ETag: out.ETag });
    }
    if (done.length === 0) {
      const out = await retried(ctx, 'uploadPart', key, () =>
        ctx.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: new Uint8Array(0), ContentLength: 0 })),
      );
      done.push({ PartNumber: 1, ETag: out.ETag });
    }
    const actual = hash.digest('hex');
    if (actual !== opts.sha256) {
      throw new DagctlError('STORAGE_IO', `streamed bytes of ${key} do not match the declared sha256`, {
        uri: ctx.rootUri,
        key,
        sha256: opts.sha256,
        actualSha256: actual,
      });
    }
    const info = await retried(ctx, 'completeMultipartUpload', key, async (attempt) => {
      try {
        const out = await ctx.client.send(
          new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: done } }),
        );
        completed = true;
        return objectInfo(key, size, out.ETag);
      } catch (e) {
        // NoSuchUpload on a retry: our completion most likely went through and consumed the upload.
        const maybeOurs = attempt > 1 && errorNameOf(e) === 'NoSuchUpload';
        if (!isPreconditionFailed(e) && !maybeOurs) throw e;
        if (maybeOurs) completed = true;
      }
      // A 412 leaves the upload open (the finally aborts it); NoSuchUpload means it is consumed.
      return opts.resolveExisting(ctx, key, opts.sha256);
    });
    return info;
  } finally {
    if (!completed) {
      await ctx.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    }
  }
}
