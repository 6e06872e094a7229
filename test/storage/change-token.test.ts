/**
 * Change tokens (ObjectStore.changeToken) and the commit poll built on them
 * (storage/dataset/source.ts listSourceCommits with a CommitPoll): a poll whose `_commits/` token
 * is unchanged answers from its last listing without listing; any added marker changes the token;
 * a local folder modified within RACY_MS gets no token (the coarse-mtime race). The local folder's
 * mtime is moved with utimes, never waited for.
 */
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCommitMarker } from '../../storage/dataset/markers.js';
import { listSourceCommits, type CommitPoll } from '../../storage/dataset/source.js';
import { folderToken, LocalObjectStore, RACY_MS } from '../../storage/local/store.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import type { ObjectInfo, ObjectStore } from '../../storage/types.js';
import { tempDir } from './helpers.js';

/** Counts list calls; forwards changeToken. */
class Counting implements ObjectStore {
  lists = 0;
  constructor(private readonly inner: ObjectStore) {}
  get rootUri(): string {
    return this.inner.rootUri;
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    this.lists++;
    return this.inner.list(prefix);
  }
  listDirs(prefix: string): Promise<string[]> {
    return this.inner.listDirs(prefix);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  get(key: string): Promise<Uint8Array> {
    return this.inner.get(key);
  }
  putIfAbsent(key: string, body: Uint8Array): Promise<ObjectInfo> {
    return this.inner.putIfAbsent(key, body);
  }
  putIfMatch(key: string, body: Uint8Array, etag: string | null): Promise<ObjectInfo> {
    return this.inner.putIfMatch(key, body, etag);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  changeToken(folder: string): Promise<string | null> {
    return this.inner.changeToken?.(folder) ?? Promise.resolve(null);
  }
}

const marker = (i: number) => ({ instanceId: `gen-ages-2024-03-0${i}-1`, fingerprint: `${i}`.repeat(16), runId: 'r', committedAt: new Date(0).toISOString(), files: [{ path: `date=2024-03-0${i}/part-0.parquet`, rows: 1, bytes: 1, sha256: '', partition: `2024-03-0${i}` }] });
const ids = (r: { commits: { id: string }[] }) => r.commits.map((c) => c.id);

describe('change tokens and the commit poll', () => {
  it('folderToken: none within RACY_MS of the mtime, the id after', () => {
    assert.equal(folderToken(10_000, 'x', 10_000 + RACY_MS - 1), null);
    assert.equal(folderToken(10_000, 'x', 10_000 + RACY_MS), 'x');
  });

  it('local: an unchanged _commits/ is not listed again; an added marker is seen at the next poll; a racy folder is always listed', async () => {
    const dir = await tempDir('change-token');
    const store = new Counting(new LocalObjectStore(dir));
    const age = async (secondsAgo: number) => {
      const t = new Date(Date.now() - secondsAgo * 1000);
      await utimes(join(dir, '_commits'), t, t);
    };
    assert.equal(await store.changeToken('_commits/'), 'absent');
    await writeCommitMarker(store, marker(1));
    assert.equal(await store.changeToken('_commits/'), null, 'just modified: racy');
    const poll: CommitPoll = { skipped: 0, listed: 0 };
    const opts = { format: 'parquet' as const, partitionBy: 'date' as const };
    const first = await listSourceCommits(store, opts, new Map(), poll);
    assert.equal(poll.listed, 1);
    assert.equal(store.lists, 1);
    // Racy at the first listing: the second lists too, and its token (no longer racy) is kept.
    await age(60);
    assert.deepEqual(ids(await listSourceCommits(store, opts, new Map(), poll)), ids(first));
    assert.equal(store.lists, 2);
    for (let i = 0; i < 3; i++) assert.deepEqual(ids(await listSourceCommits(store, opts, new Map(), poll)), ids(first));
    assert.equal(store.lists, 2, 'unchanged: answered from the token');
    assert.equal(poll.skipped, 3);

    await writeCommitMarker(store, marker(2));
    await age(30); // later than the first aging, as a real add moves it
    const after = await listSourceCommits(store, opts, new Map(), poll);
    assert.equal(store.lists, 3);
    assert.equal(after.commits.length, 2);
    assert.ok(ids(after).some((k) => k.includes('2024-03-02')));
  });

  it('memory: every write changes the token', async () => {
    const store = new MemoryObjectStore('ct');
    const t0 = await store.changeToken('_commits/');
    await writeCommitMarker(store, marker(1));
    const t1 = await store.changeToken('_commits/');
    assert.notEqual(t0, t1);
    assert.equal(await store.changeToken('_commits/'), t1);
  });
});
