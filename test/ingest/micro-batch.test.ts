/**
 * Unit tests of the storage side of ingest (no broker): record conversion and reject reasons, and
 * the batch commit protocol on a local store — replayed batches are skipped, a crashed batch is
 * redone into the same files, claims fix boundaries, resume reads the dataset.
 */
import assert from 'node:assert/strict';
import { LocalObjectStore } from '../../storage/local/store.js';
import { listSource } from '../../storage/dataset/index.js';
import { getCodec } from '../../storage/parquet/registry.js';
import { isDagctlError } from '../../core/errors.js';
import { commitBatch, type IngestRecord } from '../../ingest/micro-batch.js';
import { batchId, checkTopic, claimRange, readResume } from '../../ingest/offsets.js';
import { toAge, toPageview } from '../../ingest/records.js';
import { readRows } from '../../storage/dataset/index.js';
import { tempDir } from '../storage/helpers.js';

const codec = getCodec('hyparquet');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const pv = (i: number, day = 0): IngestRecord => ({ offset: i, key: null, value: enc(JSON.stringify({ url: `/u/${i}`, person: `p${i % 7}`, ts: 1_709_251_200 + day * 86_400 + i })) });

describe('ingest records', () => {
  it('converts valid values and names every malformed one', () => {
    const ok = toPageview(enc('{"url":"/a","person":"c1","ts":1709251200,"x":1}'));
    assert.deepEqual(ok, { ok: true, row: { url: '/a', person: 'c1', ts: 1709251200 }, date: '2024-03-01' });
    const cases: [Uint8Array | null, string][] = [
      [null, 'null-value'],
      [new Uint8Array([0xff]), 'invalid-utf8'],
      [enc('{'), 'invalid-json'],
      [enc('"s"'), 'not-object'],
      [enc('null'), 'not-object'],
      [enc('{"url":"","person":"p","ts":1}'), 'bad-url'],
      [enc('{"url":"/a","person":3,"ts":1}'), 'bad-person'],
      [enc('{"url":"/a","person":"p","ts":"1"}'), 'bad-ts'],
      [enc('{"url":"/a","person":"p","ts":9007199254740993}'), 'bad-ts'],
      [enc('{"url":"/a","person":"p","ts":253402300800}'), 'ts-out-of-range'],
    ];
    for (const [v, reason] of cases) assert.deepEqual(toPageview(v), { ok: false, reason }, String(reason));
  });

  it('converts age samples; a bad age or person is a reject', () => {
    assert.deepEqual(toAge(enc('{"person":"user:1","age":33,"ts":1709251200,"x":1}')), { ok: true, row: { person: 'user:1', age: 33, ts: 1709251200 }, date: '2024-03-01' });
    const cases: [Uint8Array | null, string][] = [
      [null, 'null-value'],
      [enc('[1]'), 'not-object'],
      [enc('{"age":3,"ts":1}'), 'bad-person'],
      [enc('{"person":"p","age":-1,"ts":1}'), 'bad-age'],
      [enc('{"person":"p","age":151,"ts":1}'), 'bad-age'],
      [enc('{"person":"p","age":3.5,"ts":1}'), 'bad-age'],
      [enc('{"person":"p","age":"3","ts":1}'), 'bad-age'],
      [enc('{"person":"p","age":3}'), 'bad-ts'],
      [enc('{"person":"p","age":3,"ts":-1}'), 'ts-out-of-range'],
    ];
    for (const [v, reason] of cases) assert.deepEqual(toAge(v), { ok: false, reason }, String(reason));
  });

  it('refuses topic names that would clash with reserved keys', () => {
    for (const t of ['_x', '.x', 'a/b', '']) assert.throws(() => checkTopic(t), (e) => isDagctlError(e, 'PARAM_INVALID'));
    checkTopic('page.views-1_x');
  });
});

describe('ingest micro-batch commit', () => {
  it('an ages batch writes the ages schema; another kind on the same partition is INGEST_CONFLICT, never mixed', async () => {
    const store = new LocalObjectStore(await tempDir('ingest-ages'));
    const age = (i: number, v: unknown = 20 + i): IngestRecord => ({ offset: i, key: null, value: enc(JSON.stringify({ person: `user:${i % 3}`, age: v, ts: 1_709_251_200 + i })) });
    const a = await commitBatch(store, codec, { topic: 'ag', partition: 0, firstOffset: 0, lastOffset: 2, records: [age(0), age(1, 'x'), age(2)], kind: 'ages' }, { runId: 'r1' });
    if (a.outcome === 'reclaimed') assert.fail('unexpected reclaim');
    assert.equal(a.outcome, 'committed');
    assert.equal(a.marker.ingest.kind, 'ages');
    assert.deepEqual(a.marker.ingest.rejects, { 'bad-age': 1 });
    const rows: unknown[] = [];
    for await (const b of readRows(store, a.marker.files, codec)) rows.push(...b);
    assert.deepEqual(rows, [{ person: 'user:0', age: 20, ts: 1_709_251_200 }, { person: 'user:2', age: 22, ts: 1_709_251_202 }]);
    assert.equal((await readResume(store, 'ag', 0, 'ages')).committedThrough, 2);
    // A pageviews ingester resuming this partition, or meeting an ages claim, refuses.
    await assert.rejects(readResume(store, 'ag', 0, 'pageviews'), (e) => isDagctlError(e, 'INGEST_CONFLICT'));
    await claimRange(store, { batchId: batchId('ag', 0, 3, 4), topic: 'ag', partition: 0, firstOffset: 3, lastOffset: 4, kind: 'ages' });
    await assert.rejects(commitBatch(store, codec, { topic: 'ag', partition: 0, firstOffset: 3, lastOffset: 4, records: [pv(3), pv(4)] }, { runId: 'r2' }), (e) => isDagctlError(e, 'INGEST_CONFLICT'));
  });

  it('the dataset holds one kind across topics (_ingest/kind.json): another kind from another topic is INGEST_CONFLICT before anything is written', async () => {
    const age = (i: number): IngestRecord => ({ offset: i, key: null, value: enc(JSON.stringify({ person: `user:${i}`, age: 30, ts: 1_709_251_200 + i })) });
    const root = await tempDir('ingest-kind');
    const store = new LocalObjectStore(root);
    await commitBatch(store, codec, { topic: 'ag', partition: 0, firstOffset: 0, lastOffset: 1, records: [age(0), age(1)], kind: 'ages' }, { runId: 'r1' });
    const before = (await store.list('')).map((o) => o.key).sort();
    // A fresh store object (another process): nothing cached.
    const other = new LocalObjectStore(root);
    await assert.rejects(commitBatch(other, codec, { topic: 'pv', partition: 0, firstOffset: 0, lastOffset: 1, records: [pv(0), pv(1)] }, { runId: 'r2' }), (e) => isDagctlError(e, 'INGEST_CONFLICT') && e.details.found === 'ages');
    assert.deepEqual((await other.list('')).map((o) => o.key).sort(), before, 'nothing written');
    // The same kind from another topic is fine.
    await commitBatch(other, codec, { topic: 'ag2', partition: 3, firstOffset: 0, lastOffset: 1, records: [age(0), age(1)], kind: 'ages' }, { runId: 'r3' });
    // A dataset ingested before the kind object existed takes its markers' kind.
    await store.delete('_ingest/kind.json');
    await assert.rejects(commitBatch(new LocalObjectStore(root), codec, { topic: 'pv', partition: 1, firstOffset: 0, lastOffset: 0, records: [pv(0)] }, { runId: 'r4' }), (e) => isDagctlError(e, 'INGEST_CONFLICT'));
    assert.deepEqual(JSON.parse(Buffer.from(await store.get('_ingest/kind.json')).toString()), { kind: 'ages' });
  });

  it('commits once; a replay is skipped and adds no file; rejects stay out of data files', async () => {
    const store = new LocalObjectStore(await tempDir('ingest-mb'));
    const records = [pv(0), pv(1, 1), { offset: 2, key: enc('k'), value: enc('nope') }, pv(3)];
    const a = await commitBatch(store, codec, { topic: 'pv', partition: 0, firstOffset: 0, lastOffset: 3, records }, { runId: 'r1' });
    if (a.outcome === 'reclaimed') assert.fail('unexpected reclaim');
    assert.equal(a.outcome, 'committed');
    assert.equal(a.marker.instanceId, 'ingest-pv-p0-0-3');
    assert.deepEqual(a.marker.ingest.rejects, { 'invalid-json': 1 });
    assert.equal(a.marker.ingest.rows, 3);
    assert.deepEqual(a.marker.files.map((f) => f.partition), ['2024-03-01', '2024-03-02']);
    const before = (await store.list('')).map((o) => o.key);
    const b = await commitBatch(store, codec, { topic: 'pv', partition: 0, firstOffset: 0, lastOffset: 3, records }, { runId: 'r2' });
    assert.equal(b.outcome, 'skipped');
    assert.deepEqual((await store.list('')).map((o) => o.key), before);
    const listed = await listSource(store, { format: 'parquet', partitionBy: 'date' });
    assert.deepEqual(listed.map((f) => f.path), a.marker.files.map((f) => f.path));
    assert.deepEqual(await readResume(store, 'pv', 0), { committedThrough: 3, pending: [], committedBatches: 1 });
  });

  it('a batch crashed after its files is redone into the same files; claims pin boundaries', async () => {
    const store = new LocalObjectStore(await tempDir('ingest-crash'));
    const records = [pv(10), pv(11), pv(12)];
    await assert.rejects(
      commitBatch(store, codec, { topic: 'pv', partition: 2, firstOffset: 10, lastOffset: 12, records }, {
        runId: 'r1',
        onStep: (s) => {
          if (s === 'files-written') throw new Error('crash');
        },
      }),
      /crash/,
    );
    const orphans = await listSource(store, { format: 'parquet', partitionBy: 'date' });
    assert.equal(orphans.length, 1, 'uncommitted file is visible to listSource (see docs/ingest.md)');
    const resume = await readResume(store, 'pv', 2);
    assert.equal(resume.committedThrough, -1);
    assert.deepEqual(resume.pending.map((c) => [c.firstOffset, c.lastOffset]), [[10, 12]]);
    // A later attempt cut differently (e.g. time-bounded) is told to redo the claimed range.
    const other = await commitBatch(store, codec, { topic: 'pv', partition: 2, firstOffset: 10, lastOffset: 11, records: records.slice(0, 2) }, { runId: 'r2' });
    assert.equal(other.outcome, 'reclaimed');
    const redo = await commitBatch(store, codec, { topic: 'pv', partition: 2, firstOffset: 10, lastOffset: 12, records }, { runId: 'r2' });
    if (redo.outcome === 'reclaimed') assert.fail('unexpected reclaim');
    assert.equal(redo.outcome, 'committed');
    assert.deepEqual(redo.marker.files.map((f) => f.path), orphans.map((f) => f.path), 'redo adopts the crashed attempt\'s files');
    assert.equal((await claimRange(store, { batchId: batchId('pv', 2, 10, 99), topic: 'pv', partition: 2, firstOffset: 10, lastOffset: 99 })).lastOffset, 12);
    assert.equal((await readResume(store, 'pv', 2)).committedThrough, 12);
  });

  it('refuses a batch whose records do not span its range', async () => {
    const store = new LocalObjectStore(await tempDir('ingest-bad'));
    await assert.rejects(commitBatch(store, codec, { topic: 'pv', partition: 0, firstOffset: 0, lastOffset: 5, records: [pv(0), pv(1)] }, { runId: 'r' }), (e) => isDagctlError(e, 'INTERNAL'));
  });

  it('does not mistake another topic\'s markers for its own', async () => {
    const store = new LocalObjectStore(await tempDir('ingest-names'));
    await commitBatch(store, codec, { topic: 'a-p1', partition: 5, firstOffset: 0, lastOffset: 0, records: [pv(0)] }, { runId: 'r' });
    assert.equal((await readResume(store, 'a', 1)).committedThrough, -1);
    assert.equal((await readResume(store, 'a-p1', 5)).committedThrough, 0);
  });
});
