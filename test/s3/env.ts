/**
 * Test gating and fixtures for the S3 suites.
 *
 * Gating: the suites need the server started by `scripts/provision/s3.sh start` (which exports
 * DAGCTL_S3_TEST=1 and AWS_*). Without DAGCTL_S3_TEST they skip — loudly — on a developer machine,
 * but FAIL when CI is set: a CI run that silently skipped the S3 suites would prove nothing.
 * Every store gets a fresh prefix (run id + counter) in DAGCTL_S3_TEST_BUCKET, so runs never see
 * each other's objects; cleanup deletes what the prefix holds.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { S3ObjectStore } from '../../storage/s3/store.js';
import type { S3ObjectStoreOptions } from '../../storage/s3/store.js';

export const S3_SKIP_MESSAGE =
  'S3 suites skipped: DAGCTL_S3_TEST is not set. Run eval "$(scripts/provision/s3.sh start)" first (CI=true makes this a failure).';

let warned = false;

/** Call from a `before` hook: skips (no server, not CI), throws (no server, CI), else returns. */
export function requireS3(ctx: Mocha.Context): void {
  if (process.env.DAGCTL_S3_TEST === '1') {
    if (process.env.AWS_ENDPOINT_URL === undefined && process.env.DAGCTL_S3_ENDPOINT === undefined) {
      throw new Error('DAGCTL_S3_TEST=1 but neither AWS_ENDPOINT_URL nor DAGCTL_S3_ENDPOINT is set');
    }
    return;
  }
  const ci = process.env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false') {
    throw new Error(`CI=${ci} but no S3 test server (DAGCTL_S3_TEST unset): start one with scripts/provision/s3.sh start`);
  }
  if (!warned) {
    warned = true;
    console.warn(`      ${S3_SKIP_MESSAGE}`);
  }
  ctx.skip();
}

export function testBucket(): string {
  return process.env.DAGCTL_S3_TEST_BUCKET ?? 'dagctl-test';
}

const RUN_ID = `run-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
let counter = 0;

/** A fresh s3:// URI under this run's prefix. */
export function freshUri(label: string): string {
  counter += 1;
  return `s3://${testBucket()}/${RUN_ID}/${label}-${counter}`;
}

/** Plain SDK client on the test server (for raw protocol checks and cleanup). */
export function rawClient(endpoint?: string): S3Client {
  return new S3Client({
    region: process.env.AWS_REGION ?? 'us-east-1',
    endpoint: endpoint ?? process.env.DAGCTL_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Deletes every object under `prefix` (a key prefix in the test bucket). */
export async function deletePrefix(client: S3Client, prefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: testBucket(), Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
    );
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: testBucket(), Delete: { Objects: keys, Quiet: true } }));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** A store on a fresh prefix plus its cleanup (the factory shape the conformance suites take). */
export async function makeTestStore(label: string, opts: S3ObjectStoreOptions = {}): Promise<{ store: S3ObjectStore; cleanup(): Promise<void> }> {
  const uri = freshUri(label);
  const store = new S3ObjectStore(uri, opts);
  const prefix = uri.slice(`s3://${testBucket()}/`.length) + '/';
  return {
    store,
    async cleanup() {
      const client = rawClient(opts.endpoint);
      try {
        await deletePrefix(client, prefix);
      } finally {
        client.destroy();
        store.close();
      }
    },
  };
}

/** Deletes everything under an s3:// URI of the test bucket (suite cleanup); undefined is a no-op. */
export async function deleteUri(uri: string | undefined): Promise<void> {
  if (uri === undefined) return;
  const c = rawClient();
  try {
    await deletePrefix(c, uri.slice(`s3://${testBucket()}/`.length) + '/');
  } finally {
    c.destroy();
  }
}
