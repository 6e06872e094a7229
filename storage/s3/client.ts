/**
 * Builds the @aws-sdk/client-s3 client of a store.
 *
 * Why these settings:
 * - maxAttempts 1: retries live in storage/s3/retry.ts so the store can see each attempt — a 412
 *   after a retried create-only PUT must be checked against our own checksum, which the SDK's
 *   internal retries would hide.
 * - requestChecksumCalculation/responseChecksumValidation WHEN_REQUIRED: S3-compatible servers do
 *   not all accept the SDK's default CRC trailers (aws-chunked bodies); we verify sha256 ourselves.
 * - requestTimeout: a request whose response never arrives fails and is retried instead of hanging.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedS3Config } from './config.js';

export function createS3Client(cfg: ResolvedS3Config): S3Client {
  return new S3Client({
    region: cfg.region,
    ...(cfg.endpoint !== undefined ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle,
    ...(cfg.credentials !== undefined ? { credentials: cfg.credentials } : {}),
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { requestTimeout: cfg.requestTimeoutMs, connectionTimeout: Math.min(cfg.requestTimeoutMs, 10_000) },
  });
}
