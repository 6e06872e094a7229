/**
 * serving/view.ts's key block layout (rows sorted by granularity and hour, found by rowOf; sketches
 * in one buffer, classified at build) and serving/query.ts's in-place merge of a block's sparse
 * sketches (mergeBlockSparse, what answerJson runs when every sketch of a range is a well-formed
 * sparse one), against independent oracles: pageviews summed over a plain list of the rows, uniques
 * as HyperLogLog.deserialize + merge + count() of the buckets decompose chose. Views are random:
 * sparse sketches of every size (unions below and above m/32, where the union turns dense), dense
 * ones, and one bad row (truncated bytes, zero-length bytes — a present sketch, not a missing one — or
 * another precision) that must fail exactly the queries
 * whose buckets hold it, with the error mergeSketches gives.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256Hex } from '../../core/hash.js';
import { isDagctlError } from '../../core/errors.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { buildViewIndex } from '../../serving/key-index.js';
import { answer, answerJson } from '../../serving/query.js';
import { decompose, roundRange } from '../../serving/ranges.js';
import { BlockCache, loadView } from '../../serving/view.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row, Schema } from '../../storage/types.js';
import type { Granularity } from '../../domain/granularity.js';

const H = 3600, D = 24 * H, T0 = 1_438_905_600; // a Friday, 00:00 UTC
const P = 8; // m = 256: a union turns dense past 8 distinct sparse indexes

interface Spec { pageviews: number; items: number; bad: 'none' | 'truncated' | 'precision' | 'empty' }
const spec = (maxItems: number): fc.Arbitrary<Spec | null> =>
  fc.option(fc.record({ pageviews: fc.integer({ min: 1, max: 1000 }), items: fc.integer({ min: 0, max: maxItems }), bad: fc.constant('none' as const) }), { nil: null, freq: 4 });

describe('serving key blocks: rowOf and the in-place sparse merge', () => {
  it('answer pageviews and uniques equal plain sums and HyperLogLog merges, and fail where a bad sketch is', async () => {
    let view = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(spec(12), { minLength: 72, maxLength: 72 }), // 3 days of hours
        fc.array(spec(300), { minLength: 3, maxLength: 3 }), // their days (some dense)
        fc.option(fc.tuple(fc.nat(74), fc.constantFrom('truncated' as const, 'precision' as const, 'empty' as const)), { nil: null }),
        fc.array(fc.tuple(fc.nat(71), fc.integer({ min: 1, max: 72 })), { minLength: 1, maxLength: 12 }),
        async (hours, days, bad, ranges) => {
          const rows: Array<{ g: Granularity; bucket: number; spec: Spec }> = [];
          hours.forEach((s, h) => s !== null && rows.push({ g: 'h', bucket: T0 + h * H, spec: s }));
          days.forEach((s, d) => s !== null && rows.push({ g: 'd', bucket: T0 + d * D, spec: s }));
          if (bad !== null && rows.length > 0) {
            const r = rows[bad[0] % rows.length]!;
            r.spec = { ...r.spec, bad: bad[1] };
          }
          const sketchOf = (r: { g: Granularity; bucket: number; spec: Spec }): Uint8Array => {
            const sk = new HyperLogLog(r.spec.bad === 'precision' ? P + 1 : P);
            for (let i = 0; i < r.spec.items; i++) sk.add(`${r.g}${r.bucket}-${i}`);
            const b = sk.serialize();
            return r.spec.bad === 'truncated' ? b.subarray(0, b.length - 1) : r.spec.bad === 'empty' ? new Uint8Array(0) : b;
          };
          const sketches = new Map(rows.map((r) => [`${r.g}${r.bucket}`, sketchOf(r)]));
          const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'granularity', type: 'string' }, { name: 'bucket', type: 'int64' }, { name: 'pageviews', type: 'int64' }, { name: 'uniques', type: 'int64' }, { name: 'hll', type: 'bytes' }];
          // Rows shuffled within the key (a block sorts them) and a second key around it.
          const table: Row[] = [];
          for (const url of ['http://a/', 'http://b/', 'http://c/']) {
            const own = url === 'http://b/' ? rows : rows.slice(0, 5);
            for (const r of [...own].reverse()) table.push({ url, granularity: r.g, bucket: r.bucket, pageviews: r.spec.pageviews, uniques: 1, hll: sketches.get(`${r.g}${r.bucket}`)! });
          }
          if (table.length === 0) return;
          const store = new MemoryObjectStore(`key-block-${view++}`);
          const bytes = await getCodec('flat').encode(schema, table);
          await store.putIfAbsent('part-0.parquet', bytes);
          const files: FileEntry[] = [{ path: 'part-0.parquet', rows: table.length, bytes: bytes.length, sha256: sha256Hex(bytes) }];
          const { bucketExtent, keyIndex } = await buildViewIndex(store, 'v1', files);
          await publishVersion(store, { version: 'v1', dataset: 'kb', files, bucketExtent, keyIndex, deltaLog: false });
          const snap = await loadView(store, { cache: new BlockCache(1 << 20) });
          if (rows.length === 0) return;
          const lo = snap.extent!.from, hi = snap.extent!.to;
          for (const [a, len] of ranges) {
            const from = Math.max(lo, T0 + a * H), to = Math.min(hi, from + len * H);
            if (from >= to) continue;
            const r = roundRange(from, to, snap.granularities);
            const used = decompose(r.from, r.to, snap.granularities).map((b) => rows.find((x) => x.g === b.granularity && x.bucket === b.start)).filter((x) => x !== undefined);
            const pageviews = used.reduce((s, x) => s + x.spec.pageviews, 0);
            let uniques: number | null = null;
            try {
              let acc: HyperLogLog | null = null;
              for (const x of used) {
                const sk = HyperLogLog.deserialize(sketches.get(`${x.g}${x.bucket}`)!);
                if (acc !== null && sk.p !== acc.p) throw new Error('precision');
                acc = acc === null ? sk : acc.merge(sk);
              }
              uniques = acc === null ? 0 : acc.count();
            } catch {
              uniques = null;
            }
            // A sketch of another precision fails only beside one of the view's precision (mergeSketches' rule).
            const bad = used.some((x) => x.spec.bad === 'truncated' || x.spec.bad === 'empty') || (used.some((x) => x.spec.bad === 'precision') && used.some((x) => x.spec.bad === 'none'));
            assert.equal(uniques === null, bad, 'the oracle fails exactly where a bad sketch is used');
            if (bad) {
              await assert.rejects(answerJson(snap, { url: 'http://b/' }, from, to), (e: unknown) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
              await assert.rejects(answer(snap, { url: 'http://b/' }, from, to), (e: unknown) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
              continue;
            }
            const got = JSON.parse((await answerJson(snap, { url: 'http://b/' }, from, to)).json) as { pageviews: number; uniques: number; buckets: Array<{ pageviews: number }> };
            assert.equal(got.pageviews, pageviews);
            assert.equal(got.uniques, uniques);
            assert.equal(got.buckets.length, decompose(r.from, r.to, snap.granularities).length);
            assert.deepEqual(await answer(snap, { url: 'http://b/' }, from, to).then((x) => [x.pageviews, x.uniques]), [pageviews, uniques]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
