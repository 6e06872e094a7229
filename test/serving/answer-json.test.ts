/**
 * serving/query.ts answerJson (the text `dagctl serve` sends) is JSON.stringify of answer()'s
 * object, byte for byte, with its UTF-8 length — for what a generated view does not hold: key
 * values and a view name with non-ASCII, quotes, backslashes and control characters, two key
 * columns, a key column named like an array index (JSON orders those first), a view without
 * sketches (uniques null), rounded ranges, keys the view lacks, and the speed layer's realtime
 * hours (through its port) after the high-water mark. Refusals are the same errors.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256Hex } from '../../core/hash.js';
import { isDagctlError } from '../../core/errors.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { buildViewIndex } from '../../serving/key-index.js';
import { answer, answerJson, type AnswerOptions, type SpeedSource } from '../../serving/query.js';
import { BlockCache, loadView, type ViewSnapshot } from '../../serving/view.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row, Schema } from '../../storage/types.js';

const H = 3600, T0 = 1_438_905_600; // a Friday, 00:00 UTC
const VALUES = ['http://a/', 'http://é/ü?x="q"\\', '\uFEFF\u0001tab\there', '日本/😀', 'plain'];

/** A view of `keyColumns` (values from VALUES) over 10 days of hours and days, with or without sketches, published as v1 named `name`. */
async function view(name: string, keyColumns: string[], hll: boolean): Promise<{ snap: ViewSnapshot; keys: string[][] }> {
  const schema: Schema = [...keyColumns.map((c) => ({ name: c, type: 'string' as const })), { name: 'granularity', type: 'string' }, { name: 'bucket', type: 'int64' }, { name: 'pageviews', type: 'int64' }, { name: 'uniques', type: 'int64' }, ...(hll ? [{ name: 'hll', type: 'bytes' as const }] : [])];
  const keys = keyColumns.length === 1 ? VALUES.map((v) => [v]) : VALUES.flatMap((v, i) => [[v, VALUES[(i + 1) % VALUES.length]!]]);
  const rows: Row[] = [];
  let n = 0;
  for (const key of keys) {
    for (let h = 0; h < 240; h++) {
      if ((h * 7 + n) % 5 === 0) continue; // hours without pageviews
      const sk = new HyperLogLog(14);
      for (let i = 0; i < 1 + (h % 4); i++) sk.add(`${key.join('|')}-${h}-${i}`);
      rows.push({ ...Object.fromEntries(keyColumns.map((c, k) => [c, key[k]!])), granularity: 'h', bucket: T0 + h * H, pageviews: 1 + ((h + n) % 9), uniques: 1, ...(hll ? { hll: sk.serialize() } : {}) });
    }
    for (let d = 0; d < 10; d++) {
      const sk = new HyperLogLog(14);
      for (let i = 0; i < 40 + d; i++) sk.add(`${key.join('|')}-d${d}-${i}`);
      rows.push({ ...Object.fromEntries(keyColumns.map((c, k) => [c, key[k]!])), granularity: 'd', bucket: T0 + d * 24 * H, pageviews: 100 + d + n, uniques: 1, ...(hll ? { hll: sk.serialize() } : {}) });
    }
    n++;
  }
  const store = new MemoryObjectStore(`answer-json-${keyColumns.join('-')}`);
  const bytes = await getCodec('flat').encode(schema, rows);
  await store.putIfAbsent('part-0.parquet', bytes);
  const files: FileEntry[] = [{ path: 'part-0.parquet', rows: rows.length, bytes: bytes.length, sha256: sha256Hex(bytes) }];
  const { bucketExtent, keyIndex } = await buildViewIndex(store, 'v1', files);
  await publishVersion(store, { version: 'v1', dataset: name, files, bucketExtent, keyIndex, deltaLog: false });
  return { snap: await loadView(store, { cache: new BlockCache(1 << 20) }), keys };
}

/** answerJson equals JSON.stringify(answer) with its UTF-8 length, or both refuse with the same code. */
async function same(snap: ViewSnapshot, where: Record<string, string>, from: number, to: number, opts: AnswerOptions = {}): Promise<void> {
  let want: string;
  try {
    want = JSON.stringify(await answer(snap, where, from, to, opts));
  } catch (e) {
    const code = isDagctlError(e) ? e.code : String(e);
    await assert.rejects(answerJson(snap, where, from, to, opts), (e2: unknown) => isDagctlError(e2, code as never));
    return;
  }
  const got = await answerJson(snap, where, from, to, opts);
  assert.equal(got.json, want);
  assert.equal(got.bytes, Buffer.byteLength(want));
}

describe('serving answerJson', () => {
  const range = fc.tuple(fc.integer({ min: -2 * H, max: 240 * H + 2 * H }), fc.integer({ min: 1, max: 240 * H }), fc.boolean()).map(([a, len, aligned]) => {
    const from = T0 + (aligned ? a - (((a % H) + H) % H) : a);
    return [from, from + (aligned ? len - (len % H) + H : len)] as const;
  });

  for (const [name, keyColumns, hll] of [['vüe "1"', ['url'], true], ['two-keys', ['url', 'ref'], true], ['index-named', ['url', '0'], false]] as const) {
    it(`is JSON.stringify of answer(): ${name}, keys ${keyColumns.join(', ')}, ${hll ? 'with' : 'without'} sketches`, async () => {
      const { snap, keys } = await view(name, [...keyColumns], hll);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: keys.length }), range, async (k, [from, to]) => {
          const key = keys[k] ?? keyColumns.map(() => 'not in the view');
          await same(snap, Object.fromEntries(keyColumns.map((c, j) => [c, key[j]!])), from, to);
        }),
        { numRuns: 120 },
      );
      // A refusal is the same error.
      await same(snap, { nope: 'x' }, T0, T0 + H);
    });
  }

  it('with the speed layer\'s realtime hours after the high-water mark', async () => {
    const { snap } = await view('speedy', ['url'], true);
    const hwm = snap.extent!.to;
    const speed: SpeedSource = {
      read: async (url, from, to) => {
        const hours = [];
        for (let h = from; h < to; h += H) {
          const sk = new HyperLogLog(14);
          sk.add(`${url}@${h}`);
          hours.push({ hour: h, pageviews: 3 + ((h / H) % 4), sketch: (h / H) % 3 === 0 ? null : sk.serialize() });
        }
        return { meta: { maxHour: hwm + 5 * H, expiredBelow: null, ttlSeconds: null }, hours };
      },
    };
    for (const url of VALUES) {
      for (const [from, to] of [[hwm - 30 * H, hwm + 3 * H], [hwm, hwm + 6 * H], [hwm + H + 10, hwm + 2 * H], [hwm - 2 * H, hwm + 7 * H]]) await same(snap, { url }, from!, to!, { speed });
    }
  });
});
