/**
 * S3ObjectStore against the real S3-compatible test server (scripts/provision/s3.sh): create-only
 * semantics, compare-and-swap, listing with pagination and folder pruning, multipart, deletes.
 * Complements the shared conformance suites (test/conformance/*) with S3-specific cases.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { isDagctlError } from '../../core/errors.js';
import type { ErrorCode } from '../../core/errors.js';
import type { S3ObjectStore } from '../../storage/s3/store.js';
import { makeTestStore, rawClient, requireS3, testBucket } from './env.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const hasCode = (code: ErrorCode) => (e: unknown): boolean => isDagctlError(e, code);

describe('S3ObjectStore (real server)', function () {
  let store: S3ObjectStore;
  let cleanup: () => Promise<void>;

  before(function () {
    requireS3(this);
  });
  beforeEach(async () => {
    ({ store, cleanup } = await makeTestStore('store', { listPageSize: 3 }));
  });
  afterEach(async () => {
    await cleanup?.();
  });

  it('creates, reads and heads an object; absent keys are null / STORAGE_NOT_FOUND', async () => {
    const info = await store.putIfAbsent('date=2024-01-01/part-00000-a.parquet', enc('hello'));
    assert.equal(info.size, 5);
    assert.notEqual(info.etag, '');
    assert.equal(dec(await store.get('date=2024-01-01/part-00000-a.parquet')), 'hello');
    const h = await store.head('date=2024-01-01/part-00000-a.parquet');
    assert.equal(h?.etag, info.etag);
    assert.equal(h?.size, 5);
    assert.ok(h?.lastModified !== undefined && Math.abs(h.lastModified - Date.now()) < 60_000, 'lastModified from the server');
    assert.equal(await store.head('missing'), null);
    await assert.rejects(store.get('missing'), hasCode('STORAGE_NOT_FOUND'));
  });

  it('putIfAbsent: identical bytes succeed again, different bytes are STORAGE_CONFLICT and change nothing', async () => {
    const first = await store.putIfAbsent('k', enc('same'));
    const again = await store.putIfAbsent('k', enc('same'));
    assert.equal(again.etag, first.etag);
    await assert.rejects(store.putIfAbsent('k', enc('different')), hasCode('STORAGE_CONFLICT'));
    assert.equal(dec(await store.get('k')), 'same');
  });

  it('stores the writer sha256 as x-amz-meta-sha256', async () => {
    await store.putIfAbsent('m', enc('meta'));
    const client = rawClient();
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: testBucket(), Key: `${store.rootUri.slice(`s3://${testBucket()}/`.length)}/m` }));
      assert.equal(h.Metadata?.sha256, createHash('sha256').update('meta').digest('hex'));
    } finally {
      client.destroy();
    }
  });

  it('resolves a 412 on an object written by a foreign tool (no sha256 metadata) by hashing its body', async () => {
    const client = rawClient();
    const key = `${store.rootUri.slice(`s3://${testBucket()}/`.length)}/foreign`;
    try {
      await client.send(new PutObjectCommand({ Bucket: testBucket(), Key: key, Body: 'theirs' }));
    } finally {
      client.destroy();
    }
    await store.putIfAbsent('foreign', enc('theirs'));
    await assert.rejects(store.putIfAbsent('foreign', enc('ours')), hasCode('STORAGE_CONFLICT'));
  });

  it('putIfMatch: null creates, the current etag swaps, a stale etag or null on an existing key fails', async () => {
    const v1 = await store.putIfMatch('_CURRENT', enc('{"version":"1"}'), null);
    await assert.rejects(store.putIfMatch('_CURRENT', enc('{"version":"x"}'), null), hasCode('STORAGE_PRECONDITION_FAILED'));
    const v2 = await store.putIfMatch('_CURRENT', enc('{"version":"2"}'), v1.etag);
    assert.notEqual(v2.etag, v1.etag);
    await assert.rejects(store.putIfMatch('_CURRENT', enc('{"version":"3"}'), v1.etag), hasCode('STORAGE_PRECONDITION_FAILED'));
    assert.equal(dec(await store.get('_CURRENT')), '{"version":"2"}');
    assert.equal((await store.head('_CURRENT'))?.etag, v2.etag);
  });

  it('putIfMatch: of 8 concurrent publishers from the same etag exactly one wins', async () => {
    const base = await store.putIfMatch('_CURRENT', enc('base'), null);
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.putIfMatch('_CURRENT', enc(`p${i}`), base.etag)));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(isDagctlError(r.reason, 'STORAGE_PRECONDITION_FAILED'));
  });

  it('putIfAbsent: of 8 concurrent writers of different bytes exactly one wins, the rest conflict', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('race', enc(`w${i}`))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(isDagctlError(r.reason, 'STORAGE_CONFLICT'));
  });

  it('list is recursive, prefix-filtered, sorted and paginated (page size 3)', async () => {
    const keys = ['b/2', 'a/1', 'a/3/x', 'a/2', 'ab', 'c', 'a/10', 'date=2024-01-02/p', 'date=2024-01-01/p'];
    for (const k of keys) await store.putIfAbsent(k, enc(k));
    assert.deepEqual((await store.list('')).map((o) => o.key), [...keys].sort());
    assert.deepEqual((await store.list('a/')).map((o) => o.key), ['a/1', 'a/10', 'a/2', 'a/3/x']);
    assert.deepEqual((await store.list('a')).map((o) => o.key), ['a/1', 'a/10', 'a/2', 'a/3/x', 'ab']);
    assert.deepEqual(await store.list('zzz/'), []);
    const one = (await store.list('c'))[0];
    assert.equal(one?.size, 1);
    assert.equal(one?.etag, (await store.head('c'))?.etag);
  });

  it('listDirs returns immediate child folders as prefixes (partition pruning), across pages', async () => {
    for (const d of ['2024-01-03', '2024-01-01', '2024-01-02', '2024-01-04']) await store.putIfAbsent(`t/date=${d}/part-0`, enc(d));
    await store.putIfAbsent('t/date=2024-01-01/sub/deeper', enc('x'));
    await store.putIfAbsent('t/_CURRENT', enc('x'));
    assert.deepEqual(await store.listDirs('t/'), ['t/date=2024-01-01/', 't/date=2024-01-02/', 't/date=2024-01-03/', 't/date=2024-01-04/']);
    assert.deepEqual(await store.listDirs(''), ['t/']);
    assert.deepEqual(await store.listDirs('t/date=2024-01-01/'), ['t/date=2024-01-01/sub/']);
    assert.deepEqual(await store.listDirs('nothing/'), []);
    await assert.rejects(store.listDirs('t'), hasCode('STORAGE_URI_INVALID'));
  });

  it('rejects invalid keys with STORAGE_URI_INVALID', async () => {
    for (const k of ['', '/abs', 'a//b', 'a/../b', '.hidden']) {
      await assert.rejects(store.putIfAbsent(k, enc('x')), hasCode('STORAGE_URI_INVALID'), k);
    }
  });

  it('delete removes an object; deleting a missing key is not an error', async () => {
    await store.putIfAbsent('tmp/x', enc('x'));
    await store.delete('tmp/x');
    assert.equal(await store.head('tmp/x'), null);
    await store.delete('tmp/x');
    assert.deepEqual(await store.listDirs(''), []);
  });
});

describe('S3ObjectStore multipart (real server)', function () {
  this.timeout(120_000);
  const MiB = 1024 * 1024;
  let store: S3ObjectStore;
  let cleanup: () => Promise<void>;

  before(function () {
    requireS3(this);
  });
  beforeEach(async () => {
    ({ store, cleanup } = await makeTestStore('mpu', { multipartThreshold: 5 * MiB, partSize: 5 * MiB }));
  });
  afterEach(async () => {
    await cleanup?.();
  });

  function body(size: number, seed: number): Uint8Array {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  }

  it('writes a large object in parts, create-only, with identical retries succeeding', async () => {
    const big = body(11 * MiB + 123, 1);
    const info = await store.putIfAbsent('big.parquet', big);
    assert.equal(info.size, big.byteLength);
    assert.deepEqual(await store.get('big.parquet'), big);
    assert.equal((await store.putIfAbsent('big.parquet', big)).etag, info.etag);
    await assert.rejects(store.putIfAbsent('big.parquet', body(11 * MiB + 123, 2)), hasCode('STORAGE_CONFLICT'));
  });

  it('putStreamIfAbsent streams odd-sized chunks and aborts when the bytes do not match the declared sha256', async () => {
    const big = body(6 * MiB + 7, 3);
    const sha = createHash('sha256').update(big).digest('hex');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < big.byteLength; off += 1_000_003) yield big.subarray(off, Math.min(off + 1_000_003, big.byteLength));
    }
    await assert.rejects(store.putStreamIfAbsent('s.parquet', chunks(), '0'.repeat(64)), hasCode('STORAGE_IO'));
    assert.equal(await store.head('s.parquet'), null);
    const info = await store.putStreamIfAbsent('s.parquet', chunks(), sha);
    assert.equal(info.size, big.byteLength);
    assert.deepEqual(await store.get('s.parquet'), big);
  });
});
