/**
 * lib/key-rows.ts: the positions of a file's rows whose key is in a set == the oracle (a full
 * decode, positions whose key is in the set), with the set checked in JS (strings) or in the page
 * kernel (KernelKeys); over pages and row groups, PLAIN or dictionary-encoded keys; null for a
 * nullable key column, and for a column holding a value that is not UTF-8 even where no key
 * matches it (the caller decodes rows, strictly).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { keyRows } from '../../operators/partial-recompute/key-rows.js';
import { SplitBlockBloom } from '../../operators/partial-recompute/split-bloom.js';
import { createHyparquetCodec } from '../../storage/parquet/hyparquet.js';
import { KernelKeys } from '../../storage/parquet/page-kernel.js';

const codec = createHyparquetCodec();
const person = fc.oneof(fc.integer({ min: 0, max: 40 }).map((i) => `user:${i}`), fc.string({ maxLength: 5, unit: 'grapheme' }));

describe('lib/key-rows', () => {
  it('== the decoded rows whose key is in the set, strings or kernel keys (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(person, { maxLength: 80 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 0, max: 150 }), fc.boolean(), fc.boolean(), fc.array(person, { maxLength: 10 }),
      async (keys, rowGroupSize, pageSize, nullable, dict, extra) => {
        const bytes = new Uint8Array(parquetWriteBuffer({
          columnData: [{ name: 'person', data: keys, type: 'STRING', nullable, encoding: dict ? 'RLE_DICTIONARY' as const : 'PLAIN' as const }],
          codec: 'SNAPPY', rowGroupSize, ...(pageSize > 0 ? { pageSize } : {}),
        }));
        // A third of the keys (and some strings not in the file) dropped; the filter also holds
        // other keys of the file, at a 30% rate: hits it must not count.
        const drop = new Set([...keys.filter((_, i) => i % 3 === 0), ...extra]);
        const bloom = SplitBlockBloom.forCapacity(Math.max(1, keys.length), 0.3);
        for (const k of [...drop, ...keys.filter((_, i) => i % 3 === 1)]) bloom.add(k);
        const want: number[] = [];
        let at = 0;
        for await (const b of codec.decode(bytes, { columns: ['person'] })) for (const r of b) { if (drop.has(r.person as string)) want.push(at); at++; }
        for (const dropKeys of [undefined, KernelKeys.of([...drop])]) {
          const got = keyRows(bytes, { key: 'person', drop, bloom, ...(dropKeys === undefined ? {} : { dropKeys }) });
          if (nullable && keys.length > 0) assert.equal(got, null);
          else assert.deepEqual([...(got ?? [])], want);
        }
      }), { numRuns: 120 });
  });

  it('null for a key column holding a value that is not UTF-8, hit or not, on every path', () => {
    const drop = new Set(['user:1']);
    const bloom = SplitBlockBloom.forCapacity(10, 0.01);
    bloom.add('user:1');
    for (const dict of [false, true]) {
      const bytes = new Uint8Array(parquetWriteBuffer({
        columnData: [{ name: 'person', data: Array.from({ length: 30 }, (_, i) => (i === 17 ? new Uint8Array([0x75, 0xff]) : `user:${dict ? i % 3 : i}`)), type: 'STRING', nullable: false, encoding: dict ? 'RLE_DICTIONARY' as const : 'PLAIN' as const }],
        codec: 'SNAPPY', rowGroupSize: 10,
      }));
      for (const dropKeys of [undefined, KernelKeys.of([...drop])]) {
        assert.equal(keyRows(bytes, { key: 'person', drop, bloom, ...(dropKeys === undefined ? {} : { dropKeys }) }), null, `dict ${dict}, kernel keys ${dropKeys !== undefined}`);
      }
    }
  });
});
