/**
 * lib/sample-store (partial-recompute's per-person sample store): entries against a plain Map of
 * distinct samples (fast-check), malformed blobs, headers, and the covers check.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK, StoreEntries, StoreError, coverCheck, encodeEntries, headerText, identityOf, parseHeader, parseStoreFile, storeRows, type Cover } from '../../operators/partial-recompute/sample-store.js';
import type { VersionFile } from '../../operators/types.js';

const enc = new TextEncoder();

describe('operators/partial-recompute/sample-store', () => {
  it('a lookup gives exactly the person\'s distinct samples (fast-check), -1 for a person without an entry', () => {
    const person = fc.oneof(fc.integer({ min: 0, max: 40 }).map((i) => `user:${i}`), fc.string({ maxLength: 6 }), fc.constantFrom('é', '名前', '😀x'));
    const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -(2 ** 51) + 1, max: 2 ** 51 - 1 }));
    fc.assert(fc.property(fc.array(fc.record({ person, age: value, ts: value }), { maxLength: 200 }), fc.array(person, { maxLength: 10 }), (samples, probes) => {
      const byPerson = new Map<string, Array<[number, number]>>();
      for (const s of samples) (byPerson.get(s.person) ?? byPerson.set(s.person, []).get(s.person)!).push([s.age, s.ts]);
      const ages: number[] = [], tss: number[] = [], persons: Array<{ person: string; from: number; n: number }> = [];
      for (const [p, xs] of byPerson) {
        persons.push({ person: p, from: ages.length, n: xs.length });
        for (const [a, t] of xs) { ages.push(a); tss.push(t); }
      }
      const blob = encodeEntries(persons, ages, tss);
      assert.ok(blob !== null);
      const e = new StoreEntries(blob);
      assert.equal(e.size, byPerson.size);
      for (const p of [...byPerson.keys(), ...probes]) {
        const got: string[] = [];
        const n = e.lookup(p, enc.encode(p), (a, t) => got.push(`${a}@${t}`));
        const want = [...new Set((byPerson.get(p) ?? []).map(([a, t]) => `${a}@${t}`))].sort();
        assert.equal(n, byPerson.has(p) ? want.length : -1);
        assert.deepEqual(got.sort(), want);
      }
    }), { numRuns: 300 });
  });

  it('refuses values it cannot encode exactly, and malformed blobs (StoreError)', () => {
    assert.equal(encodeEntries([{ person: 'a', from: 0, n: 1 }], [1.5], [0]), null);
    assert.equal(encodeEntries([{ person: 'a', from: 0, n: 1 }], [1], [2 ** 52]), null);
    const blob = encodeEntries([{ person: 'a', from: 0, n: 2 }, { person: 'b', from: 2, n: 1 }], [1, 2, 3], [10, 20, 30])!;
    assert.throws(() => new StoreEntries(blob.subarray(0, blob.length - 1)), StoreError);
    const bad = blob.slice();
    bad[0] = 0;
    assert.throws(() => new StoreEntries(bad), StoreError);
  });

  it('a store file\'s chunks (at most CHUNK bytes, row order) give back its header and entries; a chunk missing is a StoreError', () => {
    const persons = Array.from({ length: 5000 }, (_, i) => ({ person: `user:${i}`, from: 2 * i, n: 2 }));
    const ages = Array.from({ length: 10000 }, (_, i) => i % 90), tss = Array.from({ length: 10000 }, (_, i) => 1_700_000_000 + i * 977);
    const entries = encodeEntries(persons, ages, tss)!;
    const header = { covers: [['d=1/a.parquet', 10, 'h1']] as Cover[], bucket: 2, buckets: 3 };
    const rows = storeRows(header, entries);
    assert.ok(rows.length > 2 && rows.every((r) => r.chunk.length <= CHUNK));
    const back = parseStoreFile(rows.map((r) => r.chunk));
    assert.deepEqual(back.header, header);
    const got: number[] = [];
    assert.equal(back.entries.lookup('user:4321', enc.encode('user:4321'), (a, t) => got.push(a, t)), 2);
    assert.deepEqual(got, [ages[8642], tss[8642], ages[8643], tss[8643]]);
    assert.throws(() => parseStoreFile(rows.slice(0, -1).map((r) => r.chunk)), StoreError);
    assert.throws(() => parseStoreFile([rows[0]!.chunk.subarray(0, 3)]), StoreError);
  });

  it('headers round-trip; the covers check wants every covered file unchanged and returns the others', () => {
    const covers: Cover[] = [['d=1/a.parquet', 10, 'h1'], ['d=2/b.parquet', 20, 'h2']];
    assert.deepEqual(parseHeader(headerText({ covers, bucket: 1, buckets: 4 })), { covers, bucket: 1, buckets: 4 });
    assert.equal(parseHeader(headerText({ covers, bucket: 4, buckets: 4 })), null);
    assert.equal(parseHeader('{"covers":[["x",1]],"bucket":0,"buckets":1}'), null);
    assert.equal(parseHeader('not json'), null);
    const file = (path: string, bytes: number, sha256: string, deleted: Int32Array | null = null): VersionFile => ({ path, bytes, read: () => Promise.resolve(new Uint8Array()), entry: { path, rows: 1, bytes, sha256 }, deleted });
    const master = (fs: VersionFile[]): ReturnType<typeof identityOf> => identityOf({ filesWithDeletes: () => fs });
    const now = master([file('d=2/b.parquet', 20, 'h2'), file('d=1/a.parquet', 10, 'h1'), file('d=3/c.parquet', 5, 'h3')])!;
    assert.deepEqual(now.covers.map((c) => c[0]), ['d=1/a.parquet', 'd=2/b.parquet', 'd=3/c.parquet']);
    assert.deepEqual(coverCheck(covers, now)?.map((f) => f.path), ['d=3/c.parquet']);
    assert.equal(coverCheck(covers, master([file('d=1/a.parquet', 10, 'h1'), file('d=2/b.parquet', 20, 'hX')])!), null);
    assert.equal(coverCheck(covers, master([file('d=1/a.parquet', 10, 'h1'), file('d=2/b.parquet', 21, 'h2')])!), null);
    assert.equal(coverCheck(covers, master([file('d=1/a.parquet', 10, 'h1')])!), null);
    // No identity (no sha256, no etag) or deleted rows: no covers at all.
    assert.equal(master([file('d=1/a.parquet', 10, '')]), null);
    assert.equal(master([file('d=1/a.parquet', 10, 'h1', Int32Array.of(0))]), null);
    assert.equal(identityOf({}), null);
  });
});
