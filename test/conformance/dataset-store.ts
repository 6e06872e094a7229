/**
 * The dataset-layer conformance suite (storage/dataset/) over any ObjectStore: run for memory and
 * local in test/storage/, and for S3 by the S3 tests.
 *
 *   datasetStoreConformance('local', async () => ({ store, cleanup }))
 *
 * Covers: commit markers first-commit-wins, publication never mixed under 2 concurrent publishers
 * × 20 versions with a reader loop, partition pruning (list calls counted by a wrapping store),
 * views never observed half-written by a concurrent reader, writers/readers round trip, vacuum.
 */
import assert from 'node:assert/strict';
import { DagctlError } from '../../core/errors.js';
import { encodeDeletes } from '../../storage/dataset/deletes.js';
import { clearDeltaSnapshotCache, expireDeltaLog, deltaCheckpointKey, deltaCommitKey, LAST_CHECKPOINT_KEY, readDeltaSnapshot } from '../../storage/dataset/delta-log.js';
import { history } from '../../storage/dataset/history.js';
import { CURRENT_KEY, jsonBytes, manifestKey, parseJson } from '../../storage/dataset/layout.js';
import { readCommitMarker, writeCommitMarker } from '../../storage/dataset/markers.js';
import { publications, publishVersion, readCurrent, readPublished } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { listSource } from '../../storage/dataset/source.js';
import { vacuum } from '../../storage/dataset/vacuum.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { CommitMarker, FileEntry, Manifest, ObjectInfo, ObjectStore, Row, Schema } from '../../storage/types.js';
import { rejectsWith } from './object-store.js';

/** Wraps a store and records list/listDirs calls (partition pruning assertions). */
export class CountingStore implements ObjectStore {
  readonly calls: { op: 'list' | 'listDirs'; prefix: string }[] = [];
  constructor(private readonly inner: ObjectStore) {}
  get rootUri(): string {
    return this.inner.rootUri;
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    this.calls.push({ op: 'list', prefix });
    return this.inner.list(prefix);
  }
  listDirs(prefix: string): Promise<string[]> {
    this.calls.push({ op: 'listDirs', prefix });
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
  putIfMatch(key: string, body: Uint8Array, expectedEtag: string | null): Promise<ObjectInfo> {
    return this.inner.putIfMatch(key, body, expectedEtag);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

const SCHEMA: Schema = [
  { name: 'k', type: 'string' },
  { name: 'n', type: 'int64' },
];
const codec = getCodec('hyparquet');

function rows(tag: string, count: number): Row[] {
  return Array.from({ length: count }, (_, i) => ({ k: `${tag}-${i}`, n: i }));
}

async function writeFiles(store: ObjectStore, folder: string, tag: string, count: number, maxRows = 1000): Promise<FileEntry[]> {
  const w = new DataFileWriter({ store, codec, schema: SCHEMA, folder, salt: tag, maxRows });
  await w.write(rows(tag, count));
  return w.close();
}

async function readAll(store: ObjectStore, files: FileEntry[]): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of readRows(store, files, codec)) out.push(...b);
  return out;
}

function marker(instanceId: string, fp: string, files: FileEntry[], runId: string): CommitMarker {
  return { instanceId, fingerprint: fp, runId, committedAt: new Date().toISOString(), files };
}

export function datasetStoreConformance(name: string, make: () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>): void {
  describe(`dataset layer conformance: ${name}`, function () {
    this.timeout(60_000);
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('DataFileWriter rolls files at maxRows and readRows returns every row in order', async () => {
      const files = await writeFiles(store, 'date=2024-01-01/', 'w', 2500, 1000);
      assert.deepEqual(files.map((f) => f.rows), [1000, 1000, 500]);
      assert.ok(files.every((f) => f.partition === '2024-01-01' && /^date=2024-01-01\/part-\d{5}-[0-9a-f]{16}\.parquet$/.test(f.path)));
      assert.deepEqual(await readAll(store, files), rows('w', 2500));
      // a retried attempt with the same rows is idempotent (same names, same bytes)
      assert.deepEqual(await writeFiles(store, 'date=2024-01-01/', 'w', 2500, 1000), files);
    });

    it('commit markers: first commit wins, retries get the winner, memoization reads it', async () => {
      const fp = 'a'.repeat(64);
      const a = await writeFiles(store, '', 'attempt-a', 10);
      const b = await writeFiles(store, '', 'attempt-b', 10);
      assert.equal(await readCommitMarker(store, 'task.map.p2024-01-01', fp), null);
      const [ra, rb] = await Promise.all([writeCommitMarker(store, marker('task.map.p2024-01-01', fp, a, 'r1')), writeCommitMarker(store, marker('task.map.p2024-01-01', fp, b, 'r1'))]);
      assert.deepEqual(ra, rb);
      const read = await readCommitMarker(store, 'task.map.p2024-01-01', fp);
      assert.deepEqual(read, ra);
      assert.equal(await readCommitMarker(store, 'task.map.p2024-01-01', 'b'.repeat(64)), null);
      assert.equal(await readCommitMarker(store, 'task.map.p2024-01-01', 'a'.repeat(16) + 'c'.repeat(48)), null);
    });

    it('partition pruning lists only the requested date folders', async () => {
      for (let d = 1; d <= 9; d++) await writeFiles(store, `date=2024-01-0${d}/`, `d${d}`, 5);
      await store.putIfAbsent('_commits/x@0123456789abcdef.json', new TextEncoder().encode('{}'));
      await store.putIfAbsent('date=2024-01-03/_SUCCESS', new Uint8Array());
      const counting = new CountingStore(store);
      const files = await listSource(counting, { format: 'parquet', partitionBy: 'date', range: { from: '2024-01-03', to: '2024-01-04' } });
      assert.deepEqual([...new Set(files.map((f) => f.partition))], ['2024-01-03', '2024-01-04']);
      assert.ok(files.every((f) => f.rows === -1 && f.etag !== undefined && f.bytes > 0));
      assert.deepEqual(counting.calls, [
        { op: 'listDirs', prefix: '' },
        { op: 'list', prefix: 'date=2024-01-03/' },
        { op: 'list', prefix: 'date=2024-01-04/' },
      ]);
      const all = await listSource(store, { format: 'parquet' });
      assert.equal(all.length, 9);
      const open = await listSource(store, { format: 'parquet', partitionBy: 'date', range: { from: '2024-01-08' } });
      assert.equal(open.length, 2);
    });

    it('publication is never mixed: 2 publishers × 20 versions with a concurrent reader', async () => {
      const fileSets = new Map<string, string[]>();
      const publisher = async (p: string): Promise<void> => {
        for (let i = 0; i < 20; i++) {
          const version = `v${String(i).padStart(3, '0')}-${p}`;
          const files: FileEntry[] = Array.from({ length: 3 }, (_, j) => ({ path: `${version}/f${j}.parquet`, rows: 1, bytes: 1, sha256: version }));
          fileSets.set(version, files.map((f) => f.path));
          await publishVersion(store, { version, dataset: 'view', files });
        }
      };
      let done = false;
      let observed = 0;
      const reader = async (): Promise<void> => {
        while (!done) {
          const cur = await readCurrent(store);
          if (cur === null) continue;
          observed++;
          assert.equal(cur.manifest.version, cur.pointer.version);
          assert.deepEqual(cur.manifest.files.map((f) => f.path), fileSets.get(cur.pointer.version));
        }
      };
      const r = reader();
      await Promise.all([publisher('A'), publisher('B')]);
      done = true;
      await r;
      assert.ok(observed > 0);
      const final = await readCurrent(store);
      assert.ok(final?.pointer.version === 'v019-A' || final?.pointer.version === 'v019-B');
    });

    it('monotonic publication: the later run wins regardless of order and of names', async () => {
      // The later run's DAG name sorts first: order comes from run creation time, never names.
      const later = { dag: 'aaa', dagHash: 'h', runId: 'aaa-2', runCreatedAt: new Date(2000).toISOString() };
      const earlier = { dag: 'zzz', dagHash: 'h', runId: 'zzz-1', runCreatedAt: new Date(1000).toISOString() };
      await publishVersion(store, { version: 'aaa-2', dataset: 'view', files: [], monotonic: true, producer: later });
      const r = await publishVersion(store, { version: 'zzz-1', dataset: 'view', files: [], monotonic: true, producer: earlier });
      assert.equal(r.swapped, false);
      assert.equal((await readCurrent(store))?.pointer.version, 'aaa-2');
    });

    it('each swap records a publication: seq + 1, producer, rows, files; history keeps the earlier ones', async () => {
      const producer = { dag: 'd', dagHash: 'h', runId: 'r', runCreatedAt: new Date(1000).toISOString() };
      for (const [i, v] of ['zz', 'aa', 'mm'].entries()) {
        const files: FileEntry[] = Array.from({ length: i + 1 }, (_, j) => ({ path: `${v}/f${j}.parquet`, rows: 2, bytes: 1, sha256: v }));
        await publishVersion(store, { version: v, dataset: 'view', files, producer: { ...producer, runId: v } });
      }
      const cur = await readCurrent(store);
      assert.equal(cur?.pointer.version, 'mm');
      assert.deepEqual(publications(cur.pointer).map((p) => [p.seq, p.version, p.rows, p.files, p.producer?.runId]), [[1, 'zz', 2, 1, 'zz'], [2, 'aa', 4, 2, 'aa'], [3, 'mm', 6, 3, 'mm']]);
      assert.equal(cur?.manifest.producer?.runId, 'mm');
    });

    it('a check that throws refuses the swap and leaves the current version', async () => {
      await publishVersion(store, { version: 'v1', dataset: 'view', files: [] });
      await rejectsWith(publishVersion(store, { version: 'v2', dataset: 'view', files: [], check: () => { throw new DagctlError('VIEW_SHRINK', 'no'); } }), 'VIEW_SHRINK');
      assert.equal((await readCurrent(store))?.pointer.version, 'v1');
    });

    it('a republished version with other files is STORAGE_CONFLICT; an identical retry is fine', async () => {
      const files: FileEntry[] = [{ path: 'a.parquet', rows: 1, bytes: 1, sha256: 'x' }];
      await publishVersion(store, { version: 'v1', dataset: 'view', files, now: new Date(1000) });
      await publishVersion(store, { version: 'v1', dataset: 'view', files, now: new Date(2000) });
      await rejectsWith(publishVersion(store, { version: 'v1', dataset: 'view', files: [] }), 'STORAGE_CONFLICT');
    });

    it('views are never observed half-written: every file a reader sees in a manifest is readable', async () => {
      let done = false;
      let reads = 0;
      const reader = async (): Promise<void> => {
        while (!done) {
          const cur = await readCurrent(store);
          if (cur === null) {
            await new Promise((r) => setImmediate(r));
            continue;
          }
          const got = await readAll(store, cur.manifest.files);
          assert.equal(got.length, cur.manifest.rows);
          reads++;
        }
      };
      const r = reader();
      for (let v = 0; v < 6; v++) {
        const files = await writeFiles(store, `run${v}/`, `v${v}`, 50 + v * 10, 40);
        await writeCommitMarker(store, marker(`t.reduce.b00${v}`, `${v}`.repeat(64), files, `run${v}`));
        await publishVersion(store, { version: `v${v}`, dataset: 'view', files });
      }
      done = true;
      await r;
      assert.ok(reads > 0);
    });

    it('vacuum keeps retained versions and their files, deletes the rest, refuses without _CURRENT', async () => {
      await writeFiles(store, 'date=2024-01-01/', 'src', 5);
      await rejectsWith(vacuum(store, { keepVersions: 1, olderThanMs: 0 }), 'DATASET_NOT_FOUND');
      const sets: FileEntry[][] = [];
      for (let v = 0; v < 4; v++) {
        const files = await writeFiles(store, '', `ver${v}`, 5);
        sets.push(files);
        await writeCommitMarker(store, marker(`t.single`, String(v).repeat(64), files, `r${v}`));
        await publishVersion(store, { version: `v${v}`, dataset: 'view', files, now: new Date(Date.UTC(2024, 0, 1 + v)) });
      }
      const orphan = await writeFiles(store, '', 'orphan', 3);
      const later = Date.now() + 60_000;
      const dry = await vacuum(store, { keepVersions: 2, olderThanMs: 1000, now: later, dryRun: true });
      assert.deepEqual(dry.deletedVersions.sort(), ['v0', 'v1']);
      assert.ok((await store.head('_versions/v0/_MANIFEST.json')) !== null, 'dry run deletes nothing');
      const lines: string[] = [];
      const rep = await vacuum(store, { keepVersions: 2, olderThanMs: 1000, now: later, log: (l) => lines.push(l) });
      assert.deepEqual(rep.keptVersions, ['v2', 'v3']);
      assert.equal(await store.head('_versions/v1/_MANIFEST.json'), null);
      for (const f of [...(sets[0] ?? []), ...(sets[1] ?? []), ...orphan]) assert.equal(await store.head(f.path), null, f.path);
      for (const f of [...(sets[2] ?? []), ...(sets[3] ?? [])]) assert.ok((await store.head(f.path)) !== null, f.path);
      assert.equal(await readCommitMarker(store, 't.single', '0'.repeat(64)), null);
      assert.ok((await readCommitMarker(store, 't.single', '3'.repeat(64))) !== null);
      assert.ok(lines.length >= rep.deletedFiles.length);
      const cur = await readCurrent(store);
      assert.equal(cur?.pointer.version, 'v3');
      assert.equal((await readAll(store, cur?.manifest.files ?? [])).length, 5);
    });

    it('Delta log: 2 concurrent publishers × 6 versions → one commit per publication in order, each snapshot its files', async () => {
      const publisher = async (p: string): Promise<void> => {
        for (let i = 0; i < 6; i++) {
          const files = await writeFiles(store, '', `${p}${i}`, 3 + i);
          await publishVersion(store, { version: `v${i}-${p}`, dataset: 'view', files, deltaLog: true, codec });
        }
      };
      await Promise.all([publisher('A'), publisher('B')]);
      const cur = await readCurrent(store);
      const pubs = publications(cur!.pointer);
      assert.equal(pubs.length, 12);
      const last = await readDeltaSnapshot(store);
      assert.deepEqual([last?.version, last?.seq], [11, 12]);
      for (const pub of pubs) {
        const snap = await readDeltaSnapshot(store, pub.seq - 1);
        const manifest = parseJson<Manifest>(await store.get(manifestKey(pub.version)), pub.version);
        assert.equal(snap?.seq, pub.seq);
        assert.deepEqual([...snap.files.keys()].sort(), manifest.files.map((f) => f.path).sort(), `Delta version ${pub.seq - 1}`);
      }
      // Versions 9 and later were read from the checkpoint of version 9 (every 10 versions).
      assert.ok((await store.head(deltaCheckpointKey(9))) !== null);
      assert.equal(parseJson<{ version: number }>(await store.get(LAST_CHECKPOINT_KEY), 'last').version, 9);
    });

    it('Delta log: a view published without one starts it at its oldest loggable publication; a missed commit is caught up', async () => {
      const sets: FileEntry[][] = [];
      for (let i = 0; i < 3; i++) {
        sets.push(await writeFiles(store, '', `l${i}`, 3));
        // l0 has deletion vectors (a merge-on-read version); l1's manifest is gone (vacuumed): the
        // log cannot start before l2.
        const files = i === 0 ? sets[0]!.map((f) => ({ ...f, deletes: encodeDeletes([0]) })) : sets[i]!;
        await publishVersion(store, { version: `l${i}`, dataset: 'view', files, deltaLog: false });
      }
      await store.delete(manifestKey('l1'));
      sets.push(await writeFiles(store, '', 'l3', 3));
      await publishVersion(store, { version: 'l3', dataset: 'view', files: sets[3]!, deltaLog: true, codec });
      let snap = await readDeltaSnapshot(store);
      assert.deepEqual([snap?.version, snap?.seq], [1, 4], 'publications 3, 4 as Delta versions 0, 1');
      assert.deepEqual([(await readDeltaSnapshot(store, 0))?.seq, [...(await readDeltaSnapshot(store, 0))!.files.keys()]], [3, sets[2]!.map((f) => f.path)]);
      // A publisher that swapped but never wrote its commit (a crash): the next publication logs both.
      sets.push(await writeFiles(store, '', 'l4', 3), await writeFiles(store, '', 'l5', 3));
      await publishVersion(store, { version: 'l4', dataset: 'view', files: sets[4]!, deltaLog: false });
      await publishVersion(store, { version: 'l5', dataset: 'view', files: sets[5]! });
      snap = await readDeltaSnapshot(store);
      assert.deepEqual([snap?.version, snap?.seq, [...snap!.files.keys()].sort()], [3, 6, sets[5]!.map((f) => f.path).sort()]);
      assert.deepEqual([...(await readDeltaSnapshot(store, 2))!.files.keys()].sort(), sets[4]!.map((f) => f.path).sort());
    });

    it('Delta log: readers take the current files from the log, not from a manifest; a log behind _CURRENT reads as its last commit', async () => {
      const sets: FileEntry[][] = [];
      for (let i = 0; i < 12; i++) {
        sets.push(await writeFiles(store, '', `r${i}`, 3));
        await publishVersion(store, { version: `r${i}`, dataset: 'view', files: sets[i]!, deltaLog: true, codec });
        // Each read (cached after the first) sees the publication just made, its files and hashes.
        const cur = await readCurrent(store);
        assert.equal(cur?.pointer.version, `r${i}`);
        assert.deepEqual(cur?.manifest.files.map((f) => [f.path, f.rows, f.bytes, f.sha256]), sets[i]!.map((f) => [f.path, f.rows, f.bytes, f.sha256]).sort());
        assert.deepEqual([cur?.manifest.dataset, cur?.manifest.rows], ['view', 3]);
      }
      // The current manifest replaced by one listing other files: readers still read the log's.
      await store.delete(manifestKey('r11'));
      await store.putIfAbsent(manifestKey('r11'), jsonBytes({ ...parseJson<Manifest>(await store.get(manifestKey('r10')), 'm'), version: 'r11' }));
      for (const cold of [false, true]) {
        if (cold) clearDeltaSnapshotCache(); // from the checkpoint of version 9 and commits 10, 11
        const cur = await readCurrent(store);
        assert.deepEqual(cur?.manifest.files.map((f) => f.path), sets[11]!.map((f) => f.path).sort(), cold ? 'cold' : 'cached');
        assert.equal(cur?.manifest.files[0]?.sha256, sets[11]!.map((f) => f).sort((a, b) => (a.path < b.path ? -1 : 1))[0]!.sha256);
      }
      // A publisher that swapped `_CURRENT` but has not written its commit: readers see the last logged version.
      const pointer = (await readPublished(store))!.pointer;
      const pub = { ...pointer.publication!, seq: pointer.publication!.seq + 1, version: 'r12' };
      const head = await store.head(CURRENT_KEY);
      await store.putIfMatch(CURRENT_KEY, jsonBytes({ ...pointer, version: 'r12', path: '_versions/r12', publication: pub, history: publications(pointer) }), head!.etag);
      const cur = await readCurrent(store);
      assert.deepEqual([cur?.pointer.version, cur?.pointer.publication?.seq, cur?.manifest.files.map((f) => f.path)], ['r11', pointer.publication!.seq, sets[11]!.map((f) => f.path).sort()]);
    });

    it('Delta log: a corrupt checkpoint refuses the next publication (DELTA_LOG_INVALID naming it)', async () => {
      for (let i = 0; i < 10; i++) await publishVersion(store, { version: `c${i}`, dataset: 'view', files: await writeFiles(store, '', `c${i}`, 2), deltaLog: true, codec });
      assert.equal((await readDeltaSnapshot(store))?.files.size, 1);
      await store.delete(deltaCheckpointKey(9));
      await store.putIfAbsent(deltaCheckpointKey(9), new TextEncoder().encode('not parquet'));
      const err = await publishVersion(store, { version: 'c10', dataset: 'view', files: await writeFiles(store, '', 'c10', 2) }).then(() => null, (e: DagctlError) => e);
      assert.equal(err?.code, 'DELTA_LOG_INVALID');
      assert.equal(err?.details.file, deltaCheckpointKey(9));
      assert.equal((await readPublished(store))?.pointer.version, 'c9');
      // A reader without the snapshot cached refuses the unreadable log, naming the checkpoint.
      clearDeltaSnapshotCache();
      await rejectsWith(readCurrent(store), 'DELTA_LOG_INVALID');
    });

    it('Delta log: merge-on-read versions are deletion vectors (reader 3 / writer 7); readers apply them, cold, cached and past a checkpoint', async () => {
      const v1 = await writeFiles(store, '', 'd1', 4, 2); // 2 files of 2 rows
      await publishVersion(store, { version: 'v1', dataset: 'view', files: v1, deltaLog: true, codec });
      assert.deepEqual((await readDeltaSnapshot(store))?.protocol, { minReaderVersion: 1, minWriterVersion: 2 }, 'no table features until a deletion vector');
      const rowsOf = async (): Promise<Row[]> => readAll(store, (await readCurrent(store))!.manifest.files);
      const all = await readAll(store, v1);
      for (let i = 2; i <= 12; i++) {
        // Odd versions delete row 1 of file 0, even ones rows 0 and 1 of it; file 1 keeps all its rows.
        const pos = i % 2 === 0 ? [0, 1] : [1];
        await publishVersion(store, { version: `v${i}`, dataset: 'view', files: [{ ...v1[0]!, deletes: encodeDeletes(pos) }, v1[1]!], deltaLog: true, codec });
        for (const cold of [false, true]) {
          if (cold) clearDeltaSnapshotCache();
          const cur = await readCurrent(store);
          assert.equal(cur?.pointer.version, `v${i}`);
          const f0 = cur.manifest.files.find((f) => f.path === v1[0]!.path);
          assert.deepEqual(f0?.deletes, encodeDeletes(pos), 'the same encoding as the manifest (file identity)');
          assert.equal(cur?.manifest.rows, 4 - pos.length);
          assert.deepEqual(await rowsOf(), all.filter((_, k) => !pos.includes(k)));
        }
      }
      const snap = await readDeltaSnapshot(store);
      assert.deepEqual(snap?.protocol, { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] });
      assert.equal(snap?.metaData?.configuration && (snap.metaData.configuration as Record<string, string>)['delta.enableDeletionVectors'], 'true');
      assert.ok((await store.head(deltaCheckpointKey(9))) !== null, 'a checkpoint with deletion vectors');
      // Back to the whole file: the logical file with a vector is removed, the plain one added.
      await publishVersion(store, { version: 'v13', dataset: 'view', files: v1, deltaLog: true, codec });
      clearDeltaSnapshotCache();
      assert.deepEqual(await rowsOf(), all);
    });

    it('Delta log: cleanup expires entries past retention before a checkpoint; time travel within it and every reader still work', async () => {
      const sets: FileEntry[][] = [];
      for (let i = 0; i < 23; i++) {
        sets.push(await writeFiles(store, '', `x${i}`, 2));
        await publishVersion(store, { version: `x${i}`, dataset: 'view', files: sets[i]!, deltaLog: true, codec });
      }
      // Nothing is past a retention of an hour.
      assert.deepEqual(await expireDeltaLog(store, { retentionMs: 3_600_000 }), []);
      const dry = await expireDeltaLog(store, { retentionMs: 0, now: Date.now() + 1000, dryRun: true });
      const gone = await expireDeltaLog(store, { retentionMs: 0, now: Date.now() + 1000 });
      assert.deepEqual(gone, dry);
      // The newest checkpoint past retention is version 19: commits 0…18 and checkpoint 9 go.
      assert.deepEqual(gone.sort(), [...Array.from({ length: 19 }, (_, v) => deltaCommitKey(v)), deltaCheckpointKey(9)].sort());
      clearDeltaSnapshotCache();
      assert.deepEqual((await readCurrent(store))?.manifest.files.map((f) => f.path), sets[22]!.map((f) => f.path).sort());
      assert.deepEqual([...(await readDeltaSnapshot(store, 20))!.files.keys()].sort(), sets[20]!.map((f) => f.path).sort());
      const h = await history(store);
      assert.deepEqual(h.filter((e) => e.deltaVersion !== undefined).map((e) => e.deltaVersion), [19, 20, 21, 22]);
      await rejectsWith(readDeltaSnapshot(store, 5), 'DELTA_LOG_INVALID');
      // The log continues after cleanup.
      await publishVersion(store, { version: 'x23', dataset: 'view', files: await writeFiles(store, '', 'x23', 2), deltaLog: true, codec });
      assert.equal((await readDeltaSnapshot(store))?.version, 23);
    });

    it('Delta log: a broken log refuses the publication before anything changes', async () => {
      const v1 = await writeFiles(store, '', 'd1', 4);
      await publishVersion(store, { version: 'v1', dataset: 'view', files: v1, deltaLog: true, codec });
      // A commit after a gap (version 1 missing): the log cannot be continued.
      await store.putIfAbsent(deltaCommitKey(2), new TextEncoder().encode('{"commitInfo":{}}\n'));
      const v3 = await writeFiles(store, '', 'd3', 4);
      const err = await publishVersion(store, { version: 'v3', dataset: 'view', files: v3 }).then(() => null, (e: DagctlError) => e);
      assert.equal(err?.code, 'DELTA_LOG_INVALID');
      assert.equal(err?.details.file, deltaCommitKey(1));
      assert.equal((await readCurrent(store))?.pointer.version, 'v1');
    });
  });
}
