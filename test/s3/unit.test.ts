/**
 * Server-free tests of the S3 store's pure parts: URI mapping, config resolution from the
 * environment, error classification, and the full-jitter backoff loop. These always run.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { resolveS3Config } from '../../storage/s3/config.js';
import { isNotFound, isPreconditionFailed, isRetryable, toStorageError } from '../../storage/s3/sdk-errors.js';
import { backoffMs, withRetry } from '../../storage/s3/retry.js';
import { parseS3Uri } from '../../storage/s3/uri.js';
import { DagctlError } from '../../core/errors.js';

function sdkError(name: string, status?: number): Error {
  const e = new Error(name) as Error & { $metadata?: { httpStatusCode?: number } };
  e.name = name;
  if (status !== undefined) e.$metadata = { httpStatusCode: status };
  return e;
}

describe('S3 store: URI mapping', () => {
  it('splits bucket and prefix, normalising the prefix to end with /', () => {
    assert.deepEqual(parseS3Uri('s3://my-bucket/a/b'), { bucket: 'my-bucket', prefix: 'a/b/', rootUri: 's3://my-bucket/a/b' });
    assert.deepEqual(parseS3Uri('s3://my-bucket/a/b/'), { bucket: 'my-bucket', prefix: 'a/b/', rootUri: 's3://my-bucket/a/b' });
    assert.deepEqual(parseS3Uri('s3://my-bucket'), { bucket: 'my-bucket', prefix: '', rootUri: 's3://my-bucket' });
  });
  for (const bad of ['s3://', 's3://B/x', 's3://ab', 'file:///tmp/x', 's3://bucket/a//b', 's3://bucket/a/../b', 'memory://x']) {
    it(`rejects ${bad} with STORAGE_URI_INVALID`, () => {
      assert.throws(() => parseS3Uri(bad), (e: unknown) => isDagctlError(e, 'STORAGE_URI_INVALID'));
    });
  }
});

describe('S3 store: config from the environment', () => {
  it('defaults to us-east-1, no endpoint, virtual-hosted style', () => {
    const c = resolveS3Config({ env: {} });
    assert.equal(c.region, 'us-east-1');
    assert.equal(c.endpoint, undefined);
    assert.equal(c.forcePathStyle, false);
  });
  it('takes DAGCTL_S3_ENDPOINT over AWS_ENDPOINT_URL and turns on path style', () => {
    const c = resolveS3Config({ env: { DAGCTL_S3_ENDPOINT: 'http://a:1', AWS_ENDPOINT_URL: 'http://b:2', AWS_REGION: 'eu-west-1' } });
    assert.equal(c.endpoint, 'http://a:1');
    assert.equal(c.region, 'eu-west-1');
    assert.equal(c.forcePathStyle, true);
  });
  it('honours DAGCTL_S3_FORCE_PATH_STYLE both ways', () => {
    assert.equal(resolveS3Config({ env: { DAGCTL_S3_FORCE_PATH_STYLE: '1' } }).forcePathStyle, true);
    assert.equal(resolveS3Config({ env: { AWS_ENDPOINT_URL: 'http://x:1', DAGCTL_S3_FORCE_PATH_STYLE: '0' } }).forcePathStyle, false);
  });
  it('never lets the part size drop below the S3 minimum of 5 MiB', () => {
    assert.equal(resolveS3Config({ env: {}, partSize: 1 }).partSize, 5 * 1024 * 1024);
  });
});

describe('S3 store: error classification', () => {
  it('retries 5xx, throttling and transport errors but not 4xx or programming errors', () => {
    assert.equal(isRetryable(sdkError('InternalError', 500)), true);
    assert.equal(isRetryable(sdkError('Unknown', 503)), true);
    assert.equal(isRetryable(sdkError('SlowDown', 503)), true);
    assert.equal(isRetryable(sdkError('Throttling', 400)), true);
    assert.equal(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), true);
    assert.equal(isRetryable(sdkError('PreconditionFailed', 412)), false);
    assert.equal(isRetryable(sdkError('AccessDenied', 403)), false);
    assert.equal(isRetryable(new TypeError('bug')), false);
    assert.equal(isRetryable(new DagctlError('STORAGE_CONFLICT', 'x')), false);
  });
  it('recognises 404 and 412', () => {
    assert.equal(isNotFound(sdkError('NoSuchKey', 404)), true);
    assert.equal(isNotFound(sdkError('NotFound')), true);
    assert.equal(isPreconditionFailed(sdkError('PreconditionFailed', 412)), true);
    assert.equal(isPreconditionFailed(sdkError('NoSuchKey', 404)), false);
  });
  it('wraps foreign errors as STORAGE_IO and passes DagctlErrors through', () => {
    assert.equal(toStorageError(sdkError('InternalError', 500), 'get', {}).code, 'STORAGE_IO');
    assert.equal(toStorageError(new DagctlError('STORAGE_CONFLICT', 'x'), 'get', {}).code, 'STORAGE_CONFLICT');
  });
});

describe('S3 store: full-jitter backoff', () => {
  it('draws uniformly below min(cap, base·2^attempt)', () => {
    assert.equal(backoffMs(1, 100, 10_000, () => 0.999999), 199);
    assert.equal(backoffMs(3, 100, 10_000, () => 0.5), 400);
    assert.equal(backoffMs(20, 100, 10_000, () => 0.999999), 9999);
    assert.equal(backoffMs(5, 100, 10_000, () => 0), 0);
  });
  it('retries retryable failures up to maxAttempts, then rethrows the last error', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    await assert.rejects(
      withRetry({ maxAttempts: 4, baseMs: 10, capMs: 1000, isRetryable: () => true, random: () => 1, sleep: async (ms) => void sleeps.push(ms) }, async () => {
        calls += 1;
        throw new Error(`fail ${calls}`);
      }),
      /fail 4/,
    );
    assert.equal(calls, 4);
    assert.deepEqual(sleeps, [20, 40, 80]);
  });
  it('does not retry a non-retryable error and passes the attempt number', async () => {
    const seen: number[] = [];
    const out = await withRetry({ maxAttempts: 5, baseMs: 1, capMs: 1, isRetryable: (e) => e instanceof RangeError, sleep: async () => undefined }, async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new RangeError('again');
      return 'ok';
    });
    assert.equal(out, 'ok');
    assert.deepEqual(seen, [1, 2, 3]);
    let calls = 0;
    await assert.rejects(
      withRetry({ maxAttempts: 5, baseMs: 1, capMs: 1, isRetryable: () => false }, async () => {
        calls += 1;
        throw new Error('no');
      }),
    );
    assert.equal(calls, 1);
  });
});
