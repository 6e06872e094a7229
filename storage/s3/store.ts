/**
 * S3 implementation of the ObjectStore port (storage/types.ts) for `s3://bucket/prefix` URIs, over
 * AWS S3 and S3-compatible servers (MinIO, versitygw…). Entry point: createS3ObjectStore, imported
 * dynamically by storage/open.ts so the AWS SDK loads only when an s3:// URI is used.
 *
 * Guarantees (see docs/s3.md): data files, markers and manifests are written with If-None-Match: *
 * and never overwritten; _CURRENT moves only by If-Match compare-and-swap; every request is retried
 * with full-jitter backoff on 5xx/throttling/network errors, and a retried write's 412 is checked
 * against our own sha256 / write id before it is reported. delete() exists only for vacuum/staging.
 *
 * Preconditions: the bucket exists; credentials come from the standard AWS chain (env, profile…);
 * the server honours conditional PutObject (AWS since 2024-08/11, MinIO, versitygw >= 1.8).
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo, ObjectStore } from '../types.js';
import { putIfMatch } from './cas.js';
import { createS3Client } from './client.js';
import { resolveS3Config } from './config.js';
import type { S3StoreOptions } from './config.js';
import { fullKey, retried } from './context.js';
import type { S3Ctx } from './context.js';
import { putIfAbsent, resolveExisting } from './create-only.js';
import { list, listDirs } from './listing.js';
import { putMultipartIfAbsent } from './multipart.js';
import { get, head } from './read.js';
import { isNotFound, isRetryable } from './sdk-errors.js';
import { checkKey } from '../uri.js';
import { parseS3Uri } from './uri.js';

export type { S3StoreOptions } from './config.js';

export interface S3ObjectStoreOptions extends S3StoreOptions {
  /** Use this client instead of building one (tests, shared connection pools). */
  client?: S3Client;
}

export class S3ObjectStore implements ObjectStore {
  readonly rootUri: string;
  private readonly ctx: S3Ctx;

  constructor(uri: string, opts: S3ObjectStoreOptions = {}) {
    const { bucket, prefix, rootUri } = parseS3Uri(uri);
    const cfg = resolveS3Config(opts);
    this.rootUri = rootUri;
    this.ctx = {
      client: opts.client ?? createS3Client(cfg),
      bucket,
      prefix,
      rootUri: this.rootUri,
      cfg,
      policy: { maxAttempts: cfg.maxAttempts, baseMs: cfg.retryBaseMs, capMs: cfg.retryCapMs, isRetryable },
    };
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return list(this.ctx, prefix);
  }

  listDirs(prefix: string): Promise<string[]> {
    return listDirs(this.ctx, prefix);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return head(this.ctx, key);
  }

  get(key: string): Promise<Uint8Array> {
    return get(this.ctx, key);
  }

  putIfAbsent(key: string, body: Uint8Array): Promise<ObjectInfo> {
    return putIfAbsent(this.ctx, key, body);
  }

  /**
   * Create-only streaming write of a large object (multipart, If-None-Match: * on completion) with
   * one part in memory at a time. `sha256` (hex, of the whole stream) must be known up front; the
   * upload is aborted if the streamed bytes do not hash to it.
   */
  putStreamIfAbsent(key: string, chunks: AsyncIterable<Uint8Array>, sha256: string): Promise<ObjectInfo> {
    return putMultipartIfAbsent(this.ctx, key, chunks, { sha256, resolveExisting });
  }

  putIfMatch(key: string, body: Uint8Array, expectedEtag: string | null): Promise<ObjectInfo> {
    return putIfMatch(this.ctx, key, body, expectedEtag);
  }

  /** Only for staging garbage and `dataset vacuum`. Deleting a missing key is not an error. */
  async delete(key: string): Promise<void> {
    checkKey(key);
    await retried(this.ctx, 'delete', key, async () => {
      try {
        await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.ctx.bucket, Key: fullKey(this.ctx, key) }));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    });
  }

  /** Releases the client's sockets (tests and short-lived CLIs). */
  close(): void {
    this.ctx.client.destroy();
  }
}

export function createS3ObjectStore(uri: string, opts?: S3ObjectStoreOptions): S3ObjectStore {
  return new S3ObjectStore(uri, opts);
}
