/**
 * Deletion vectors (storage/dataset/deletes.ts) and the readers and writers that honour them:
 * encode/decode/union/dropDeleted against plain set arithmetic (fast-check), corrupt vectors
 * refused with STORAGE_IO, readRows skipping deleted rows, a published manifest counting live rows,
 * inputHandle hiding rawFiles when a file has deletions, and OutputBinding.carry's checks (a file
 * of the previous version only, deletions only widened, positions inside the file).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeDeletes, dropDeleted, encodeDeletes, liveRows, unionDeletes } from '../../storage/dataset/deletes.js';
import { readRows } from '../../storage/dataset/read.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { openObjectStore } from '../../storage/open.js';
import { Counters, OutputBinding, inputHandle } from '../../workers/runner/handles.js';
import type { FileEntry, Row, Schema } from '../../storage/types.js';
import { isDagctlError } from '../../core/errors.js';

const sortedSet = fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 300 }).map((a) => a.sort((x, y) => x - y));

describe('deletion vectors', () => {
  it('encode → decode round-trips; union and dropDeleted agree with set arithmetic (fast-check)', () => {
    fc.assert(fc.property(sortedSet, sortedSet, fc.integer({ min: 1, max: 50 }), (a, b, batch) => {
      assert.deepEqual([...decodeDeletes(encodeDeletes(a), 5001, 'f')], a);
      assert.equal(encodeDeletes(a).count, a.length);
      const u = unionDeletes(a.length === 0 ? null : Int32Array.from(a), Int32Array.from(b));
      assert.deepEqual([...u], [...new Set([...a, ...b])].sort((x, y) => x - y));
      // dropDeleted over batches of any size == filtering positions.
      const rows: Row[] = Array.from({ length: 5001 }, (_, i) => ({ i }));
      const cursor = { i: 0 }, kept: Row[] = [];
      for (let s = 0; s < rows.length; s += batch) kept.push(...dropDeleted(rows.slice(s, s + batch), s, Int32Array.from(a), cursor));
      const del = new Set(a);
      assert.deepEqual(kept.map((r) => r.i), rows.filter((r) => !del.has(r.i as number)).map((r) => r.i));
    }), { numRuns: 100 });
  });

  it('refuses unsorted positions (INTERNAL) and corrupt vectors (STORAGE_IO)', () => {
    assert.throws(() => encodeDeletes([3, 3]), (e: unknown) => isDagctlError(e, 'INTERNAL'));
    assert.throws(() => encodeDeletes([4, 2]), (e: unknown) => isDagctlError(e, 'INTERNAL'));
    const dv = encodeDeletes([1, 5, 9]);
    const corrupt = [
      { ...dv, count: 4 }, // truncated
      { ...dv, count: 2 }, // trailing bytes
      { count: 2, positions: Buffer.from([1, 0]).toString('base64') }, // a zero gap (duplicate)
    ];
    for (const c of corrupt) assert.throws(() => decodeDeletes(c, 100, 'views/x/part-1.parquet'), (e: unknown) => isDagctlError(e, 'STORAGE_IO') && /part-1\.parquet/.test((e as Error).message));
    assert.throws(() => decodeDeletes(dv, 9, 'f'), (e: unknown) => isDagctlError(e, 'STORAGE_IO')); // position 9 of a 9-row file
    assert.equal(liveRows({ path: 'a', rows: 10, bytes: 1, sha256: '', deletes: dv }), 7);
  });
});

describe('deletion vectors in readers, manifests and carried outputs', () => {
  const schema: Schema = [{ name: 'k', type: 'string' }, { name: 'v', type: 'int64' }];
  const rows: Row[] = Array.from({ length: 25 }, (_, i) => ({ k: `key-${i}`, v: i }));

  async function oneFile(uri: string): Promise<FileEntry> {
    const store = await openObjectStore(uri);
    const w = new DataFileWriter({ store, codec: defaultCodec(), schema, folder: '', salt: 's' });
    await w.write(rows);
    const [f] = await w.close();
    return f!;
  }

  it('readRows skips deleted rows; the manifest counts live rows; rawFiles is withheld', async () => {
    const uri = `memory://deletes-read-${Math.random()}`;
    const f = await oneFile(uri);
    const entry = { ...f, deletes: encodeDeletes([0, 7, 8, 24]) };
    const store = await openObjectStore(uri);
    const got: Row[] = [];
    for await (const b of readRows(store, [entry], defaultCodec(), { batchSize: 4 })) got.push(...b);
    assert.deepEqual(got.map((r) => r.v), rows.map((r) => r.v).filter((v) => ![0, 7, 8, 24].includes(v as number)));
    const pub = await publishVersion(store, { version: 'v1', dataset: 'd', files: [entry] });
    assert.equal(pub.manifest.rows, 21);
    const h = inputHandle('d', uri, [entry], defaultCodec(), new Counters(), () => 0);
    assert.equal(h.rows, 21);
    assert.equal(h.deletedRows, 4);
    assert.equal(h.rawFiles, undefined);
    assert.deepEqual([...h.filesWithDeletes!()[0]!.deleted!], [0, 7, 8, 24]);
    assert.ok(inputHandle('d', uri, [f], defaultCodec(), new Counters(), () => 0).rawFiles !== undefined);
  });

  it('OutputBinding.carry lists a previous file with a wider vector, and refuses anything else', async () => {
    const uri = `memory://deletes-carry-${Math.random()}`;
    const f = await oneFile(uri);
    const prevEntry = { ...f, deletes: encodeDeletes([3]) };
    const store = await openObjectStore(uri);
    const previous = inputHandle('d@v1', uri, [prevEntry], defaultCodec(), new Counters(), () => 0);
    const file = previous.filesWithDeletes!()[0]!;
    const mk = (): OutputBinding => new OutputBinding('d', uri, store, defaultCodec(), '', 'salt', new Counters(), async () => previous);
    const isInternal = (e: unknown): boolean => isDagctlError(e, 'INTERNAL');
    await assert.rejects(mk().open(schema).carry!(file, Int32Array.of(4)), isInternal); // row 3 restored
    await assert.rejects(mk().open(schema).carry!(file, Int32Array.of(3, 25)), isInternal); // past the file's 25 rows
    const stranger = { ...file, entry: { ...file.entry, path: 'elsewhere.parquet' } };
    await assert.rejects(mk().open(schema).carry!(stranger, Int32Array.of(3)), isInternal);
    const ok = mk();
    const w = ok.open(schema);
    await w.carry!(file, Int32Array.of(3, 4, 20));
    await assert.rejects(w.carry!(file, Int32Array.of(3, 4, 20)), isInternal); // twice
    await w.write([{ k: 'new', v: 99 }]);
    const out = await ok.close();
    assert.equal(out.length, 2);
    const carried = out.find((e) => e.path === f.path)!;
    assert.deepEqual([...decodeDeletes(carried.deletes!, carried.rows, carried.path)], [3, 4, 20]);
    const got: Row[] = [];
    for await (const b of readRows(store, out, defaultCodec())) got.push(...b);
    assert.equal(got.length, 25 - 3 + 1);
  });
});
