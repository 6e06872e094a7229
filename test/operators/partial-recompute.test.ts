/**
 * partial-recompute (birthday inference): the birthday definition on hand-checked samples,
 * choosePartialOrFull, and the invariant partial == full recompute, row for row (fast-check),
 * including the fallback when no previous view exists. The master is given with a Parquet schema
 * (non-nullable person) so its partitions carry raw files and 'fetch' takes the late-materializing
 * path (lib/late-scan.ts); without one it takes the row path — both are checked.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { partialRecompute, choosePartialOrFull, BIRTHDAY_SCHEMA, withThreadTimes } from '../../operators/partial-recompute/partial-recompute.js';
import { threadTimes } from '../../core/thread-cpu.js';
import { StoreEntries, encodeEntries, parseStoreFile, storeRows } from '../../operators/partial-recompute/sample-store.js';
import { inferBirthday, YEAR_SECONDS, type AgeSample } from '../../operators/partial-recompute/birthday.js';
import { SampleTable } from '../../operators/partial-recompute/sample-table.js';
import { runOperator, type MemVersion } from './harness.js';
import { DagctlError } from '../../core/errors.js';
import type { Row, Schema } from '../../storage/types.js';

const MASTER_SCHEMA: Schema = [{ name: 'person', type: 'string' }, { name: 'age', type: 'int64' }, { name: 'ts', type: 'int64' }];

const T = 1_700_000_000;

describe('lib/birthday', () => {
  it('intersects agreeing samples', () => {
    const b = inferBirthday([{ age: 30, ts: T }, { age: 30, ts: T + 100 }, { age: 31, ts: T + YEAR_SECONDS + 50 }])!;
    // [T−31Y+1, T−30Y] ∩ [T+100−31Y+1, T+100−30Y] ∩ [T+50−31Y+1, T+50−30Y] = [T+100−31Y+1, T−30Y]
    assert.deepEqual(b, { birth_from: T + 100 - 31 * YEAR_SECONDS + 1, birth_to: T - 30 * YEAR_SECONDS, samples: 3, support: 3 });
  });
  it('picks the earliest most-supported region when samples conflict; counts duplicates once', () => {
    const b = inferBirthday([{ age: 30, ts: T }, { age: 30, ts: T }, { age: 40, ts: T }, { age: 40, ts: T + 1 }])!;
    assert.equal(b.samples, 3);
    assert.equal(b.support, 2);
    assert.deepEqual([b.birth_from, b.birth_to], [T + 1 - 41 * YEAR_SECONDS + 1, T - 40 * YEAR_SECONDS]);
    assert.equal(inferBirthday([]), null);
    assert.deepEqual(inferBirthday([{ age: 30, ts: T }, { age: 50, ts: T }]), inferBirthday([{ age: 50, ts: T }, { age: 30, ts: T }]));
  });
});

/** Every person's birthday through SampleTable / inferBirthdayInto (the hot path). */
function viaTable(samples: Array<AgeSample & { person: string }>): Map<string, unknown> {
  const t = new SampleTable();
  for (const s of samples) t.add(s.person, s.age, s.ts);
  const out = new Map<string, unknown>();
  t.infer((person, birth_from, birth_to, n, support) => out.set(person, { birth_from, birth_to, samples: n, support }));
  return out;
}

describe('lib/sample-table + inferBirthdayInto', () => {
  it('== inferBirthday per person (fast-check), short and long sample lists', () => {
    // Timestamps half a year apart (± 1 s): intervals that touch ([x, y], [y+1, z]), nest and repeat.
    // An age ≥ 256 takes a long list off the packed (ts·256 + age) sort onto the comparator sort.
    const s = fc.record({ person: fc.integer({ min: 0, max: 3 }).map((i) => `p${i}`), age: fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 256, max: 258 }) }), ts: fc.tuple(fc.integer({ min: -3, max: 8 }), fc.integer({ min: -1, max: 1 })).map(([k, j]) => T + k * (YEAR_SECONDS / 2) + j) }, { noNullPrototype: true });
    fc.assert(fc.property(fc.array(s, { maxLength: 300 }), (samples) => {
      const expected = new Map<string, unknown>();
      for (const p of new Set(samples.map((x) => x.person))) expected.set(p, inferBirthday(samples.filter((x) => x.person === p)));
      assert.deepEqual(viaTable(samples), expected);
    }), { numRuns: 300 });
  });
});

describe('choosePartialOrFull', () => {
  it('prefers partial for a small batch and full for a batch touching most persons', () => {
    assert.equal(choosePartialOrFull(1000, 10_000_000, 1_000_000).mode, 'partial');
    assert.equal(choosePartialOrFull(5_000_000, 10_000_000, 1_000_000).mode, 'full');
    assert.equal(choosePartialOrFull(10, 1000, 0).mode, 'full');
  });
  it('merge-on-read costs partial less (the old view scanned by key, not rewritten), full the same', () => {
    const rw = choosePartialOrFull(10_000, 1_000_000, 100_000, {}, 8_500);
    const mor = choosePartialOrFull(10_000, 1_000_000, 100_000, {}, 8_500, true);
    assert.ok(mor.partialUs < rw.partialUs);
    assert.equal(mor.fullUs, rw.fullUs);
    // Somewhere between a tiny and a huge batch, only merge-on-read makes partial worth it.
    const sizes = Array.from({ length: 200 }, (_, i) => 1000 * (i + 1));
    assert.ok(sizes.some((n) => choosePartialOrFull(n, 1_000_000, 100_000, {}, n, true).mode === 'partial' && choosePartialOrFull(n, 1_000_000, 100_000, {}, n).mode === 'full'));
  });
});

const sample = fc.record({ person: fc.integer({ min: 0, max: 30 }).map((i) => `user:${i}`), age: fc.integer({ min: 0, max: 4 }), ts: fc.integer({ min: 0, max: 5 }).map((k) => T + k * 20_000_000) }, { noNullPrototype: true });

interface ViewOpts { raw?: boolean; params?: Record<string, unknown>; fileRows?: number; priorRaw?: boolean; columnOutputs?: boolean }

async function view(mode: string, master: Row[], batch: Row[], previous: Row[] | MemVersion | null, buckets: number, parts: number, o: ViewOpts = {}): Promise<{ rows: Row[]; written: Row[]; version: MemVersion; metrics: Record<string, number>; previousRowsRead: number }> {
  const partitions: Record<string, Row[]> = {};
  master.forEach((r, i) => { (partitions[`d${i % parts}`] ??= []).push(r); });
  if (parts > 0 && master.length === 0) partitions.d0 = [];
  const m = o.raw === false ? { partitions } : { partitions, schema: MASTER_SCHEMA };
  const r = await runOperator(partialRecompute, { mode, ...o.params }, { inputs: [m, { rows: batch }], previous: [previous], buckets, ...(o.fileRows === undefined ? {} : { fileRows: o.fileRows }), ...(o.priorRaw === true ? { priorRawFiles: true } : {}), ...(o.columnOutputs === true ? { columnOutputs: true, previousSchemas: [BIRTHDAY_SCHEMA] } : {}) });
  const rows = [...r.outputs[0]!.rows].sort((a, b) => ((a.person as string) < (b.person as string) ? -1 : 1));
  return { rows, written: r.outputs[0]!.rows, version: { files: r.outputs[0]!.files }, metrics: r.metrics, previousRowsRead: r.previousRowsRead };
}

describe('operators/partial-recompute/partial-recompute', () => {
  it('partial == full recompute, row for row (fast-check), over two batches, merge-on-read and rewrite', async () => {
    const update = fc.constantFrom('auto', 'merge-on-read', 'rewrite');
    await fc.assert(fc.asyncProperty(
      fc.array(sample, { maxLength: 40 }), fc.array(sample, { maxLength: 12 }), fc.array(sample, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }),
      fc.boolean(), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.boolean(), update, update, fc.constantFrom('on', 'off', 'spill'),
      async (master, batch, batch2, buckets, parts, raw, perBucket, fileRows, viewPerBucket, priorRaw, columnOutputs, update1, update2, fuse) => {
        // perBucket small → partial routes to several recompute buckets (partialBuckets > 1);
        // viewPerBucket small → several instances copy (or carry) the old view (copyBuckets > 1);
        // priorRaw → fetched rows come as DGSH files, read column at a time (lib/shuffle-samples.ts);
        // columnOutputs → a rewritten old view is copied through in column form (lib/view-copy.ts);
        // update → merge-on-read (old files carried with deletion vectors) or rewrite; the second
        // batch patches the first's version, so it reads (and widens, or compacts) deletion vectors.
        // fuse off → the fetch stage always fans out (fuseScanRows 0); on → a partial run with one
        // recompute bucket scans the master in its recompute instance (and reads the batch there:
        // the plan writes no shuffle); spill → the plan holds at most 2 batch rows, so a bigger
        // batch goes to the shuffle and the run does not fuse.
        const fuseParams = fuse === 'off' ? { fuseScanRows: 0 } : fuse === 'spill' ? { fuseHoldRows: 2 } : {};
        const o: ViewOpts = { raw, params: { partialRowsPerBucket: perBucket, partialViewRowsPerBucket: viewPerBucket, viewUpdate: update1, ...fuseParams }, fileRows, priorRaw, columnOutputs };
        const old = await view('full', master, [], null, buckets, parts, o);
        const full = await view('full', master, batch, null, buckets, parts, o);
        const partial = await view('partial', master, batch, old.rows, buckets, parts, o);
        assert.deepEqual(partial.rows, full.rows);
        assert.equal(partial.metrics.fallbackFull, 0);
        assert.equal(partial.metrics.mergeOnRead, update1 === 'rewrite' ? 0 : 1);
        assert.equal(partial.metrics.fused, (fuse === 'on' || (fuse === 'spill' && batch.length <= 2)) && partial.metrics.routeBuckets === 1 ? 1 : 0);
        if (update1 !== 'rewrite') {
          // Merge-on-read: every old file carried or (all its rows deleted) left out; nothing copied.
          const oldFiles = Math.ceil(old.rows.length / fileRows);
          assert.equal((partial.metrics.viewCarriedFiles ?? 0) + (partial.metrics.viewDroppedFiles ?? 0), oldFiles);
          assert.equal(partial.metrics.viewCopiedColumnar ?? 0, 0);
          assert.equal(partial.version.files.filter((f) => f.carriedFrom !== undefined).length, partial.metrics.viewCarriedFiles ?? 0);
        } else if (!columnOutputs) assert.equal(partial.metrics.viewCopiedColumnar ?? 0, 0);
        else if (old.rows.length > 0) {
          // Column outputs: every copying instance took the column path (old view files are
          // hyparquet-writer's here, PLAIN or dictionary-encoded), none fell back to rows.
          assert.ok(partial.metrics.viewCopiedColumnar! > 0);
          // One instance wrote the whole view: its merge kept JS string order (as the row path's sort).
          if (partial.metrics.routeBuckets === 1 && partial.metrics.copyBuckets === 1) assert.deepEqual(partial.written, partial.rows);
        }
        // Raw files: every row group goes through lib/late-scan.ts on raw bytes (PLAIN or
        // dictionary-encoded person pages alike), never its row fallback.
        if (raw && master.length > 0) assert.deepEqual([partial.metrics.lateScanGroups! > 0, partial.metrics.rowScanGroups], [true, 0]);
        // Fetched rows as DGSH files: all read by columns, none as rows.
        if (priorRaw) {
          // (A fused partial's fetched rows never go through the shuffle.)
          for (const r of [full, partial]) assert.deepEqual([r.metrics.fetchedColumnar! > 0, r.metrics.fetchedRowFiles], [r.metrics.fused !== 1 && r.metrics.fetched! > 0, 0]);
          // And the full view equals the row path's (an oracle independent of the columnar reader).
          assert.deepEqual(full.rows, (await view('full', master, batch, null, buckets, parts, { ...o, priorRaw: false })).rows);
        }
        // The batch already appended to the master gives the same view (samples are a set).
        const appended = await view('partial', [...master, ...batch], batch, old.rows, buckets, parts, o);
        assert.deepEqual(appended.rows, full.rows);
        // The next batch patches this version (files with deletion vectors after merge-on-read).
        const o2: ViewOpts = { ...o, params: { ...o.params, viewUpdate: update2 } };
        const master2 = [...master, ...batch];
        const partial2 = await view('partial', master2, batch2, partial.version, buckets, parts, o2);
        assert.deepEqual(partial2.rows, (await view('full', master2, batch2, null, buckets, parts, o2)).rows);
        // auto merges on read unless the version would pass maxViewFiles (64) files or half its
        // physical rows deleted (one deletion per new person), counted here from the version itself.
        const prevDeleted = partial.version.files.reduce((n, f) => n + (f.deleted?.length ?? 0), 0);
        const newPersons = new Set(batch2.map((r) => r.person)).size;
        const autoMor = partial.version.files.length + partial2.metrics.routeBuckets! <= 64 && prevDeleted + Math.min(newPersons, partial.rows.length) <= 0.5 * (partial.rows.length + prevDeleted + newPersons);
        assert.equal(partial2.metrics.mergeOnRead, update2 === 'rewrite' || (update2 === 'auto' && !autoMor) ? 0 : 1);
      }), { numRuns: 80 });
  });

  it('merge-on-read widens deletion vectors and auto compacts past maxDeletedFraction / maxViewFiles', async () => {
    const master = Array.from({ length: 40 }, (_, i) => ({ person: `user:${i % 20}`, age: 30, ts: T + (i % 2) * 1000 }));
    const old = (await view('full', master, [], null, 2, 1)).rows;
    assert.equal(old.length, 20);
    const b1 = [{ person: 'user:3', age: 31, ts: T + YEAR_SECONDS }];
    const o: ViewOpts = { fileRows: 5, params: { viewUpdate: 'auto' } };
    const p1 = await view('partial', master, b1, old, 2, 1, o);
    assert.equal(p1.metrics.mergeOnRead, 1);
    assert.equal(p1.metrics.viewDeletedRows, 1);
    // Four old files of 5 rows carried (user:3's file with one deletion), plus the recomputed row.
    assert.deepEqual(p1.version.files.map((f) => [f.rows.length, f.deleted?.length ?? 0]).sort(), [[1, 0], [5, 0], [5, 0], [5, 0], [5, 1]]);
    const m2 = [...master, ...b1], b2 = [{ person: 'user:3', age: 32, ts: T + 2 * YEAR_SECONDS }, { person: 'user:4', age: 30, ts: T + 5 }];
    const p2 = await view('partial', m2, b2, p1.version, 2, 1, o);
    assert.deepEqual(p2.rows, (await view('full', m2, b2, null, 2, 1)).rows);
    // user:3's row in the first delta file is deleted: that file has no live row left and is not listed.
    assert.equal(p2.metrics.viewDroppedFiles, 1);
    assert.equal(p2.metrics.viewDeletedRows, 2);
    // Past maxDeletedFraction (or maxViewFiles), auto rewrites: no deletion vector survives.
    for (const params of [{ viewUpdate: 'auto', maxDeletedFraction: 0.05 }, { viewUpdate: 'auto', maxViewFiles: 5 }]) {
      const p3 = await view('partial', m2, b2, p1.version, 2, 1, { ...o, params });
      assert.equal(p3.metrics.mergeOnRead, 0);
      assert.deepEqual(p3.rows, p2.rows);
      assert.ok(p3.version.files.every((f) => f.carriedFrom === undefined && (f.deleted ?? []).length === 0));
    }
  });

  it('partial recomputes only the persons with new samples and keeps the others', async () => {
    const master = Array.from({ length: 200 }, (_, i) => ({ person: `user:${i % 50}`, age: 30, ts: T + (i % 4) * 1000 }));
    const old = (await view('full', master, [], null, 4, 2)).rows;
    const batch = [{ person: 'user:3', age: 31, ts: T + YEAR_SECONDS }, { person: 'user:new', age: 20, ts: T }];
    const p = await view('partial', master, batch, old, 4, 2);
    assert.equal(p.metrics.recomputed, 2);
    assert.equal(p.metrics.kept, 49);
    assert.equal(p.metrics.matched, 4);
    assert.equal(p.metrics.fetched, 4 + p.metrics.falsePositives!);
    assert.deepEqual(p.rows, (await view('full', master, batch, null, 4, 2)).rows);
    // The old view is read once — its files split over the recompute instances — not once per
    // recompute bucket (v2: B×), and not shuffled (v3).
    assert.equal(p.previousRowsRead, old.length);
    assert.equal(p.metrics.routeBuckets, 1);
    const wide = await view('partial', master, batch, old, 16, 2);
    assert.equal(wide.previousRowsRead, old.length);
    assert.deepEqual(wide.rows, p.rows);
    const auto = await view('auto', master, batch, old, 4, 2);
    assert.deepEqual(auto.rows, p.rows);
    const rowPath = await view('partial', master, batch, old, 4, 2, { raw: false });
    assert.deepEqual(rowPath.rows, p.rows);
    assert.equal(rowPath.metrics.lateScanGroups, 0);
  });

  it('the property can fail: a partial run that keeps a stale row differs from full', async () => {
    const master = [{ person: 'user:1', age: 30, ts: T }, { person: 'user:2', age: 40, ts: T }];
    const old = (await view('full', master, [], null, 2, 1)).rows;
    const batch = [{ person: 'user:1', age: 31, ts: T + YEAR_SECONDS }];
    const full = (await view('full', master, batch, null, 2, 1)).rows;
    // Wrong old view (user:2 missing): partial must carry that over, so it no longer equals full.
    const partial = (await view('partial', master, batch, old.filter((r) => r.person !== 'user:2'), 2, 1)).rows;
    assert.notDeepEqual(partial, full);
  });

  it('partial == full with renamed person/age/ts columns (late-scan rows re-keyed as samples)', async () => {
    const schema: Schema = [{ name: 'who', type: 'string' }, { name: 'years', type: 'int64' }, { name: 'at', type: 'int64' }];
    const rename = (r: { person: string; age: number; ts: number }): Row => ({ who: r.person, years: r.age, at: r.ts });
    const master = Array.from({ length: 120 }, (_, i) => ({ person: `user:${i % 30}`, age: 30 + (i % 3), ts: T + (i % 5) * 20_000_000 }));
    const batch = [{ person: 'user:3', age: 31, ts: T + YEAR_SECONDS }, { person: 'user:new', age: 20, ts: T }, { person: 'user:7', age: 29, ts: T }];
    const params = { personColumn: 'who', ageColumn: 'years', tsColumn: 'at' };
    const run = async (mode: string, previous: Row[] | null, withBatch: boolean): Promise<{ rows: Row[]; metrics: Record<string, number> }> => {
      const partitions = { d0: master.slice(0, 60).map(rename), d1: master.slice(60).map(rename) };
      const r = await runOperator(partialRecompute, { mode, ...params }, { inputs: [{ partitions, schema }, { rows: withBatch ? batch.map(rename) : [] }], previous: [previous], buckets: 3 });
      return { rows: [...r.outputs[0]!.rows].sort((a, b) => ((a.person as string) < (b.person as string) ? -1 : 1)), metrics: r.metrics };
    };
    const old = (await run('full', null, false)).rows;
    const full = (await run('full', null, true)).rows;
    const partial = await run('partial', old, true);
    assert.equal(partial.metrics.lateScanGroups! > 0, true);
    assert.deepEqual(partial.rows, full);
  });

  it('fused scan read-ahead: a master file that cannot be read fails the run with its error, and an abandoned read-ahead is no unhandled rejection', async () => {
    // Three partitions → three master files, read in order with one read ahead. `rawBytes` runs
    // inside each file's read (call k: the k-th file read).
    const master = Array.from({ length: 30 }, (_, i) => ({ person: `user:${i % 10}`, age: 30 + (i % 3), ts: T + i * 1000 }));
    const batch = [{ person: 'user:1', age: 31, ts: T + 5 }];
    const old = (await view('full', master, [], null, 1, 3)).rows;
    const partitions: Record<string, Row[]> = {};
    master.forEach((r, i) => { (partitions[`d${i % 3}`] ??= []).push(r); });
    // `plant(k)` rewrites the k-th read (from 1); `planted` resolves once the planted failure has
    // been thrown (inside that read, so the read's promise rejects in that same step).
    const run = async (plant: (call: number, b: Uint8Array) => Uint8Array): Promise<unknown> => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown): void => { unhandled.push(e); };
      let calls = 0;
      let thrown!: () => void;
      const planted = new Promise<void>((res) => { thrown = res; });
      const rawBytes = (b: Uint8Array): Uint8Array => {
        calls++;
        try {
          return plant(calls, b);
        } catch (e) {
          thrown();
          throw e;
        }
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        const r = await runOperator(partialRecompute, { mode: 'partial' }, { inputs: [{ partitions, schema: MASTER_SCHEMA, rawBytes }, { rows: batch }], previous: [old], buckets: 1 }).then(() => null, (e: unknown) => e);
        // Barrier: the planted read has rejected (it may still be in flight when the run fails)…
        await planted;
        // …and Node has run its unhandled-rejection pass over it: that pass runs when the microtask
        // queue drains, before the event loop's next phase, so after one setImmediate turn every
        // rejection from before it has been reported (an ordering guarantee, not a timed wait).
        await new Promise<void>((res) => { setImmediate(res); });
        assert.deepEqual(unhandled, []);
        return r;
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    };
    // The plan and fetch stages may read master files too: count only from the fused scan's reads on.
    const failSecond = await run((call, b) => { if (call === 2) throw new DagctlError('STORAGE_IO', 'planted read failure'); return b; });
    assert.ok(failSecond instanceof DagctlError && failSecond.code === 'STORAGE_IO', String(failSecond));
    // First file corrupt (the scan fails) while the read-ahead of the second rejects: the scan's error, nothing unhandled.
    const corruptFirst = await run((call, b) => { if (call === 1) return b.subarray(0, 12); if (call === 2) throw new DagctlError('STORAGE_IO', 'planted read failure'); return b; });
    assert.ok(corruptFirst instanceof DagctlError && corruptFirst.code === 'PARQUET_INVALID', String(corruptFirst));
  });

  it('reports each instance\'s thread CPU time and run-queue wait (cpu.threadMs, cpu.waitMs) where the thread\'s times are known', async () => {
    assert.deepEqual(withThreadTimes({ metrics: { rows: 3 } }, null), { metrics: { rows: 3 } });
    assert.deepEqual(withThreadTimes({ narrow: { fetch: [] } }, { cpuMs: 2.5, waitMs: 1 }), { narrow: { fetch: [] }, metrics: { 'cpu.threadMs': 2.5, 'cpu.waitMs': 1 } });
    // Big enough to run for several scheduler ticks: schedstat's run time moves at ticks and
    // context switches, so an instance of well under a tick (2,000 rows took ~1 ms) could read 0; 50,000 take ~50 ms.
    const master = Array.from({ length: 50_000 }, (_, i) => ({ person: `user:${i % 3000}`, age: 20 + (i % 7), ts: T + i }));
    const r = await view('full', master, [{ person: 'user:1', age: 30, ts: T + 5 }], null, 2, 1);
    if (threadTimes() === null) assert.equal(r.metrics['cpu.threadMs'], undefined);
    else assert.ok(r.metrics['cpu.threadMs']! > 0 && r.metrics['cpu.waitMs']! >= 0, JSON.stringify(r.metrics));
  });

  it('falls back to full when there is no previous view', async () => {
    const master = [{ person: 'user:1', age: 30, ts: T }, { person: 'user:2', age: 40, ts: T }];
    const p = await view('partial', master, [{ person: 'user:1', age: 30, ts: T + 5 }], null, 2, 1);
    assert.equal(p.metrics.fallbackFull! > 0, true);
    assert.deepEqual(p.rows, (await view('full', master, [{ person: 'user:1', age: 30, ts: T + 5 }], null, 2, 1)).rows);
  });
});

/** A run with the sample store declared (second output): the view, the store's version, metrics. */
async function storeRun(mode: string, partitions: Record<string, Row[]>, batch: Row[], previous: MemVersion | null, store: MemVersion | null, buckets: number, params: Record<string, unknown> = {}): Promise<{ rows: Row[]; version: MemVersion; store: MemVersion; metrics: Record<string, number> }> {
  const r = await runOperator(partialRecompute, { mode, ...params }, { inputs: [{ partitions, schema: MASTER_SCHEMA }, { rows: batch }], outputs: 2, previous: [previous, store], buckets });
  const rows = [...r.outputs[0]!.rows].sort((a, b) => ((a.person as string) < (b.person as string) ? -1 : 1));
  return { rows, version: { files: r.outputs[0]!.files }, store: { files: r.outputs[1]!.files }, metrics: r.metrics };
}

describe('partial-recompute with the sample store (second output)', () => {
  it('partial == full (fast-check): the affected persons looked up in the store a full run wrote, master files it does not cover scanned, a stale store not used', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(sample, { maxLength: 40 }), fc.array(sample, { maxLength: 12 }), fc.array(sample, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom('none', 'append', 'change', 'drop'),
      async (master, batch, batch2, buckets, parts, edit) => {
        const partitions: Record<string, Row[]> = {};
        master.forEach((r, i) => { (partitions[`d${i % parts}`] ??= []).push(r); });
        // The store: written by a full run, one file per bucket.
        const base = await storeRun('full', partitions, [], null, null, buckets);
        assert.equal(base.store.files.length, buckets);
        // The master as the next run sees it: unchanged, the batch already appended to it (a file
        // the store does not cover), a covered file changed, or one dropped.
        const now: Record<string, Row[]> = Object.fromEntries(Object.entries(partitions).map(([k, v]) => [k, [...v]]));
        const first = Object.keys(now).sort()[0];
        if (edit === 'append' && batch.length > 0) now.z = batch;
        if (edit === 'change' && first !== undefined) now[first]!.push({ person: 'user:1', age: 3, ts: T + 11 });
        if (edit === 'drop' && first !== undefined) delete now[first];
        const oracle = async (m: Record<string, Row[]>, b: Row[]): Promise<Row[]> => (await view('full', Object.values(m).flat(), b, null, buckets, 1, { raw: false })).rows;
        const partial = await storeRun('partial', now, batch, base.version, base.store, buckets);
        const stale = edit === 'change' || edit === 'drop';
        // useSampleStore false: the scan of the whole master. A changed or dropped master file
        // leaves the persons outside the batch as they were (partial recomputation patches the
        // batch's persons only), so there the scan is the reference; otherwise a full run.
        const off = await storeRun('partial', now, batch, base.version, base.store, buckets, { useSampleStore: false });
        assert.equal(off.metrics.storeMode, 0);
        assert.deepEqual(partial.rows, off.rows);
        if (!stale) assert.deepEqual(partial.rows, await oracle(now, batch));
        assert.equal(partial.metrics.storeMode, 1);
        // The store is used unless a covered file changed or went away; then the scan, and the store carried as it was.
        assert.equal(partial.metrics.storeFallback ?? 0, stale && master.length > 0 ? 1 : 0);
        if (!stale) assert.equal(partial.metrics.storeExtraFiles, edit === 'append' && batch.length > 0 ? 1 : 0);
        assert.equal(partial.store.files.length, buckets);
        assert.equal(partial.store.files.filter((f) => f.carriedFrom !== undefined).length, buckets);
        // The batch joins the master (a file the store does not cover); the next batch over the
        // carried store and the view's next version again equals a full run.
        if (stale) return;
        const now2 = edit === 'append' ? now : { ...now, y: batch };
        const partial2 = await storeRun('partial', now2, batch2, partial.version, partial.store, buckets);
        assert.deepEqual(partial2.rows, await oracle(now2, batch2));
      }), { numRuns: 60 });
  });

  it('a malformed entry read during the lookups fails the run (INTERNAL), no half-used store', async () => {
    const master = [{ person: 'user:1', age: 30, ts: T }, { person: 'user:1', age: 31, ts: T + YEAR_SECONDS }, { person: 'user:2', age: 40, ts: T }];
    const partitions = { d0: master };
    const base = await storeRun('full', partitions, [], null, null, 1);
    const { header } = parseStoreFile(base.store.files[0]!.rows.map((r) => r.chunk as Uint8Array));
    const entries = encodeEntries([{ person: 'user:1', from: 0, n: 2 }, { person: 'user:2', from: 2, n: 1 }], [30, 31, 40], [T, T + YEAR_SECONDS, T])!;
    // user:1's sample count (the byte after its 6-byte key and length) claims one sample more.
    const e = new StoreEntries(entries);
    assert.equal(e.lookup('user:1', new TextEncoder().encode('user:1'), () => undefined), 2);
    const bad = entries.slice();
    const at = bad.indexOf(2, 12 + 8 * 2 + 4 + 7);
    bad[at] = 3;
    const corrupt: MemVersion = { files: [{ rows: storeRows(header, bad) }] };
    const ok = await storeRun('partial', partitions, [{ person: 'user:2', age: 41, ts: T + 9 }], base.version, corrupt, 1);
    assert.equal(ok.metrics.storeFallback ?? 0, 0);
    await assert.rejects(storeRun('partial', partitions, [{ person: 'user:1', age: 32, ts: T + 9 }], base.version, corrupt, 1), (err: unknown) => err instanceof DagctlError && err.code === 'INTERNAL');
  });

  it('an incomplete store (a bucket\'s file missing) is not used: its persons would read as having no master samples', async () => {
    const master = Array.from({ length: 60 }, (_, i) => ({ person: `user:${i % 12}`, age: 20 + (i % 3), ts: T + i * 1000 }));
    const partitions = { d0: master.slice(0, 30), d1: master.slice(30) };
    const base = await storeRun('full', partitions, [], null, null, 3);
    const batch = Array.from({ length: 12 }, (_, i) => ({ person: `user:${i}`, age: 40, ts: T + 5 }));
    const full = (await storeRun('full', partitions, batch, null, null, 3)).rows;
    const whole = await storeRun('partial', partitions, batch, base.version, base.store, 3);
    assert.deepEqual([whole.rows, whole.metrics.storeFallback ?? 0, whole.metrics.storeSamples], [full, 0, 60]);
    const cut = await storeRun('partial', partitions, batch, base.version, { files: base.store.files.slice(1) }, 3);
    assert.deepEqual([cut.rows, cut.metrics.storeFallback], [full, 1]);
  });
});
