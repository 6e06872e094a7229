/**
 * Proves the S3 test server honours the conditional writes the store relies on, before any store
 * suite trusts it: If-None-Match: * and If-Match on PutObject (sequential and under a 16-way race:
 * exactly one winner), and If-None-Match: * on CompleteMultipartUpload. Raw SDK calls, no store code.
 */
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { deletePrefix, freshUri, rawClient, requireS3, testBucket } from './env.js';

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

async function putStatus(client: S3Client, input: ConstructorParameters<typeof PutObjectCommand>[0]): Promise<number | undefined> {
  try {
    const out = await client.send(new PutObjectCommand(input));
    return out.$metadata.httpStatusCode;
  } catch (e) {
    return status(e);
  }
}

describe('S3 test server: conditional writes', function () {
  let client: S3Client;
  let prefix: string;
  const Bucket = testBucket();

  before(function () {
    requireS3(this);
    client = rawClient();
    prefix = freshUri('server').slice(`s3://${Bucket}/`.length) + '/';
  });
  after(async () => {
    if (client !== undefined) {
      await deletePrefix(client, prefix);
      client.destroy();
    }
  });

  it('rejects If-None-Match: * on an existing key with 412 and keeps the first body', async () => {
    const Key = `${prefix}inm`;
    assert.equal(await putStatus(client, { Bucket, Key, Body: 'one', IfNoneMatch: '*' }), 200);
    assert.equal(await putStatus(client, { Bucket, Key, Body: 'two', IfNoneMatch: '*' }), 412);
    const got = await client.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await got.Body?.transformToString(), 'one');
  });

  it('honours If-Match: a stale etag gets 412, the current etag replaces', async () => {
    const Key = `${prefix}im`;
    const first = await client.send(new PutObjectCommand({ Bucket, Key, Body: 'v1', IfNoneMatch: '*' }));
    const etag1 = first.ETag;
    assert.ok(etag1 !== undefined);
    const second = await client.send(new PutObjectCommand({ Bucket, Key, Body: 'v2', IfMatch: etag1 }));
    assert.notEqual(second.ETag, etag1);
    assert.equal(await putStatus(client, { Bucket, Key, Body: 'v3', IfMatch: etag1 }), 412);
  });

  it('lets exactly one of 16 concurrent If-None-Match: * writers win', async () => {
    const Key = `${prefix}race-create`;
    const codes = await Promise.all(Array.from({ length: 16 }, (_, i) => putStatus(client, { Bucket, Key, Body: `w${i}`, IfNoneMatch: '*' })));
    assert.equal(codes.filter((c) => c === 200).length, 1, `codes: ${codes.join(',')}`);
    assert.equal(codes.filter((c) => c === 412).length, 15, `codes: ${codes.join(',')}`);
  });

  it('lets exactly one of 16 concurrent If-Match writers with the same etag win', async () => {
    const Key = `${prefix}race-cas`;
    const base = await client.send(new PutObjectCommand({ Bucket, Key, Body: 'base', IfNoneMatch: '*' }));
    const codes = await Promise.all(Array.from({ length: 16 }, (_, i) => putStatus(client, { Bucket, Key, Body: `w${i}`, IfMatch: base.ETag })));
    assert.equal(codes.filter((c) => c === 200).length, 1, `codes: ${codes.join(',')}`);
  });

  it('rejects If-None-Match: * on CompleteMultipartUpload when the key exists', async () => {
    const Key = `${prefix}mpu`;
    await client.send(new PutObjectCommand({ Bucket, Key, Body: 'small', IfNoneMatch: '*' }));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const part = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'part' }));
    let code: number | undefined;
    try {
      await client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
      );
      code = 200;
    } catch (e) {
      code = status(e);
    }
    assert.equal(code, 412);
  });
});
