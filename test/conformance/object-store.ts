/**
 * The ObjectStore conformance suite: every implementation (memory, local, S3) must pass it.
 *
 *   objectStoreConformance('local', async () => ({ store, cleanup }))
 *
 * `make` is called before each test and must return an empty store. Covers list/listDirs sorting
 * and prefixes, get of a missing key, create-only semantics, identical re-put, CAS with null and
 * with etags, concurrent CAS (exactly one of N winners), delete, and key validation; for stores
 * with getRange: whole range = get, inner ranges, zero length, offset past the end, a range running
 * past the end (fewer bytes, which readEntry turns into SHUFFLE_INVALID), missing and invalid keys.
 */
import assert from 'node:assert/strict';
import { isDagctlError, type ErrorCode } from '../../core/errors.js';
import { readEntry } from '../../storage/dataset/read.js';
import type { ObjectStore } from '../../storage/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isDagctlError(e, code), `expected ${code}, got ${String((e as { code?: unknown }).code ?? e)}`);
    return true;
  });
}

export function objectStoreConformance(name: string, make: () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>): void {
  describe(`ObjectStore conformance: ${name}`, function () {
    this.timeout(30_000);
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('get of a missing key throws STORAGE_NOT_FOUND; head returns null', async () => {
      await rejectsWith(store.get('nope/x.bin'), 'STORAGE_NOT_FOUND');
      assert.equal(await store.head('nope/x.bin'), null);
    });

    it('putIfAbsent then get/head round-trips bytes, size and etag', async () => {
      const body = new Uint8Array([0, 1, 2, 255]);
      const info = await store.putIfAbsent('a/b.bin', body);
      assert.equal(info.key, 'a/b.bin');
      assert.equal(info.size, 4);
      assert.deepEqual([...(await store.get('a/b.bin'))], [0, 1, 2, 255]);
      const h = await store.head('a/b.bin');
      assert.equal(h?.etag, info.etag);
      assert.equal(h?.size, 4);
    });

    it('putIfAbsent is create-only: identical bytes succeed, different bytes STORAGE_CONFLICT', async () => {
      await store.putIfAbsent('k', enc.encode('one'));
      await store.putIfAbsent('k', enc.encode('one'));
      await rejectsWith(store.putIfAbsent('k', enc.encode('two')), 'STORAGE_CONFLICT');
      assert.equal(dec.decode(await store.get('k')), 'one');
    });

    it('concurrent putIfAbsent of different bytes: exactly one wins, the content is the winner', async () => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('race', enc.encode(`v${i}`))));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isDagctlError(r.reason, 'STORAGE_CONFLICT'));
      assert.equal(dec.decode(await store.get('race')), `v${won[0]}`);
    });

    it('list is recursive, prefix-filtered and sorted by key', async () => {
      for (const k of ['b/2', 'a/1', 'a/10', 'a/0/x', 'a-1', 'c', 'date=2024-01-02/p', 'date=2024-01-01/p', '_commits/m.json']) await store.putIfAbsent(k, enc.encode(k));
      const all = (await store.list('')).map((o) => o.key);
      assert.deepEqual(all, ['_commits/m.json', 'a-1', 'a/0/x', 'a/1', 'a/10', 'b/2', 'c', 'date=2024-01-01/p', 'date=2024-01-02/p']);
      assert.deepEqual((await store.list('a/')).map((o) => o.key), ['a/0/x', 'a/1', 'a/10']);
      assert.deepEqual((await store.list('a/1')).map((o) => o.key), ['a/1', 'a/10']);
      assert.deepEqual((await store.list('a')).map((o) => o.key), ['a-1', 'a/0/x', 'a/1', 'a/10']);
      assert.deepEqual((await store.list('date=2024-01-02/')).map((o) => o.key), ['date=2024-01-02/p']);
      assert.deepEqual(await store.list('zzz/'), []);
      const sizes = (await store.list('c')).map((o) => o.size);
      assert.deepEqual(sizes, [1]);
    });

    it('listDirs returns immediate child folders, sorted, with trailing slash', async () => {
      for (const k of ['date=2024-01-02/a', 'date=2024-01-01/a', 'date=2024-01-01/sub/b', '_versions/v1/_MANIFEST.json', 'root.parquet']) await store.putIfAbsent(k, enc.encode(k));
      assert.deepEqual(await store.listDirs(''), ['_versions/', 'date=2024-01-01/', 'date=2024-01-02/']);
      assert.deepEqual(await store.listDirs('date=2024-01-01/'), ['date=2024-01-01/sub/']);
      assert.deepEqual(await store.listDirs('_versions/'), ['_versions/v1/']);
      assert.deepEqual(await store.listDirs('missing/'), []);
    });

    it('putIfMatch with null creates only when absent', async () => {
      const a = await store.putIfMatch('_CURRENT', enc.encode('v1'), null);
      await rejectsWith(store.putIfMatch('_CURRENT', enc.encode('v2'), null), 'STORAGE_PRECONDITION_FAILED');
      assert.equal(dec.decode(await store.get('_CURRENT')), 'v1');
      const b = await store.putIfMatch('_CURRENT', enc.encode('v2'), a.etag);
      assert.notEqual(b.etag, a.etag);
      await rejectsWith(store.putIfMatch('_CURRENT', enc.encode('v3'), a.etag), 'STORAGE_PRECONDITION_FAILED');
      assert.equal(dec.decode(await store.get('_CURRENT')), 'v2');
      assert.equal((await store.head('_CURRENT'))?.etag, b.etag);
    });

    it('putIfMatch detects a replace with same-length content (no ABA on etags)', async () => {
      const a = await store.putIfMatch('p', enc.encode('{"version":"v01"}'), null);
      const b = await store.putIfMatch('p', enc.encode('{"version":"v02"}'), a.etag);
      await rejectsWith(store.putIfMatch('p', enc.encode('{"version":"v03"}'), a.etag), 'STORAGE_PRECONDITION_FAILED');
      await store.putIfMatch('p', enc.encode('{"version":"v03"}'), b.etag);
    });

    it('concurrent putIfMatch with the same expected etag: exactly one wins', async () => {
      const base = await store.putIfMatch('_CURRENT', enc.encode('base'), null);
      const n = 10;
      const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => store.putIfMatch('_CURRENT', enc.encode(`w${i}`), base.etag)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `winners: ${won.join(',')}`);
      for (const r of results) if (r.status === 'rejected') assert.ok(isDagctlError(r.reason, 'STORAGE_PRECONDITION_FAILED'));
      assert.equal(dec.decode(await store.get('_CURRENT')), `w${won[0]}`);
    });

    it('concurrent putIfMatch with null: exactly one creates', async () => {
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => store.putIfMatch('x/_CURRENT', enc.encode(`c${i}`), null)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('delete removes the object (idempotent) and empty folders vanish from listDirs', async () => {
      await store.putIfAbsent('d/one', enc.encode('1'));
      await store.putIfAbsent('e/two', enc.encode('2'));
      await store.delete('d/one');
      await store.delete('d/one');
      await rejectsWith(store.get('d/one'), 'STORAGE_NOT_FOUND');
      assert.deepEqual(await store.listDirs(''), ['e/']);
      assert.deepEqual((await store.list('')).map((o) => o.key), ['e/two']);
      await store.putIfAbsent('d/one', enc.encode('again'));
      assert.equal(dec.decode(await store.get('d/one')), 'again');
    });

    describe('getRange (stores that have it)', () => {
      const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);
      // `this.skip()` for stores without ranged reads (S3): readEntry cuts a whole get there.
      const ranged = (title: string, fn: (getRange: NonNullable<ObjectStore['getRange']>) => Promise<void>): void => {
        it(title, async function () {
          if (store.getRange === undefined) this.skip();
          await store.putIfAbsent('r/a.bin', body);
          await fn(store.getRange.bind(store));
        });
      };
      ranged('the whole range equals get; inner ranges are those bytes', async (getRange) => {
        assert.deepEqual([...(await getRange('r/a.bin', 0, body.length))], [...(await store.get('r/a.bin'))]);
        for (const [off, len] of [[0, 1], [1, 7], [8, 64], [999, 1], [123, 877]] as const) {
          assert.deepEqual([...(await getRange('r/a.bin', off, len))], [...body.subarray(off, off + len)], `${off}+${len}`);
        }
      });
      ranged('zero length and an offset at or past the end give no bytes', async (getRange) => {
        assert.equal((await getRange('r/a.bin', 0, 0)).byteLength, 0);
        assert.equal((await getRange('r/a.bin', 500, 0)).byteLength, 0);
        assert.equal((await getRange('r/a.bin', 1000, 8)).byteLength, 0);
        assert.equal((await getRange('r/a.bin', 5000, 8)).byteLength, 0);
      });
      ranged('a range running past the end gives the bytes up to it; readEntry refuses the short read with SHUFFLE_INVALID', async (getRange) => {
        assert.deepEqual([...(await getRange('r/a.bin', 990, 64))], [...body.subarray(990)]);
        const entry = { path: 'r/a.bin', rows: 1, sha256: '', bucket: 0 };
        assert.deepEqual([...(await readEntry(store, { ...entry, offset: 992, bytes: 8 }))], [...body.subarray(992)]);
        await rejectsWith(readEntry(store, { ...entry, offset: 992, bytes: 16 }), 'SHUFFLE_INVALID');
        await rejectsWith(readEntry(store, { ...entry, offset: 2000, bytes: 8 }), 'SHUFFLE_INVALID');
      });
      ranged('a missing key is STORAGE_NOT_FOUND, an invalid one STORAGE_URI_INVALID', async (getRange) => {
        await rejectsWith(getRange('r/absent.bin', 0, 8), 'STORAGE_NOT_FOUND');
        for (const k of ['/abs', 'a//b', '../x', '']) await rejectsWith(getRange(k, 0, 8), 'STORAGE_URI_INVALID');
      });
    });

    it('rejects invalid keys with STORAGE_URI_INVALID', async () => {
      for (const k of ['/abs', 'a//b', '../x', 'a/./b', '.hidden', 'a/.tmp-1', '']) await rejectsWith(store.putIfAbsent(k, enc.encode('x')), 'STORAGE_URI_INVALID');
    });
  });
}
