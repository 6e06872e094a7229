/**
 * listSource({ committed: 'auto' }): a source dataset written by dagctl is read through its commit
 * markers, so files a crashed writer left without a marker stay invisible; a dataset without
 * markers lists every data file.
 */
import assert from 'node:assert/strict';
import { listSource } from '../../storage/dataset/source.js';
import { writeCommitMarker } from '../../storage/dataset/markers.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { ObjectStore, Schema } from '../../storage/types.js';

const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'ts', type: 'int64' }];

async function day(store: ObjectStore, date: string, salt: string, n: number) {
  const w = new DataFileWriter({ store, codec: defaultCodec(), schema, folder: `date=${date}/`, salt });
  await w.write(Array.from({ length: n }, (_, i) => ({ url: `u${i}`, ts: i })));
  return w.close();
}

describe('listSource committed mode', () => {
  it('hides files no commit marker names, in a dataset that has markers', async () => {
    const store = new MemoryObjectStore('memory://committed-test');
    const good = await day(store, '2024-01-01', 'a', 10);
    await writeCommitMarker(store, { instanceId: 'gen-a', fingerprint: 'f'.repeat(64), runId: 'r', committedAt: 'now', files: good });
    const orphan = await day(store, '2024-01-02', 'b', 5); // a writer died before its marker
    const plain = await listSource(store, { format: 'parquet', partitionBy: 'date' });
    assert.equal(plain.length, good.length + orphan.length);
    const committed = await listSource(store, { format: 'parquet', partitionBy: 'date', committed: 'auto' });
    assert.deepEqual(committed.map((f) => f.path), good.map((f) => f.path));
  });

  it('lists every file of a dataset without markers', async () => {
    const store = new MemoryObjectStore('memory://uncommitted-test');
    const files = await day(store, '2024-01-01', 'a', 3);
    const listed = await listSource(store, { format: 'parquet', partitionBy: 'date', committed: 'auto' });
    assert.deepEqual(listed.map((f) => f.path), files.map((f) => f.path));
  });
});
