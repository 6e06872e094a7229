/**
 * storage/parquet/column-scan.ts and string-column.ts read whole columns page by page: numbers()
 * decodes PLAIN INT32/INT64 pages itself and byteArrayPages() turns dictionary indices (RLE and
 * bit-packed, every width up to 17 bits here) into (start, len) of the dictionary's bytes. Both
 * are checked against the values that were written (a plain reference: the arrays themselves),
 * over random page and row-group sizes from hyparquet-writer (fast-check), with two files read
 * alternately (the readers keep no per-file state between calls) — including a bit-packed run
 * ending at the very end of a page, whose last windows reach past it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { isDagctlError } from '../../core/errors.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import type { ColumnFile } from '../../storage/parquet/page-types.js';

const dec = new TextDecoder();

/** Every value of string column `col` of file f, decoded with byteArrayPages (no row set). */
function strings(f: ColumnFile, col: string): string[] {
  const out: string[] = [];
  for (let g = 0; g < f.rowGroups.length; g++) {
    const pages = f.byteArrayPages(g, col);
    assert.notEqual(pages, null, `row group ${g}`);
    let n = 0;
    for (const p of pages!) {
      for (let i = 0; i < p.count; i++) out.push(dec.decode(p.data.subarray(p.start[i], p.start[i]! + p.len[i]!)));
      n += p.count;
    }
    assert.equal(n, f.rowGroups[g]!.rows);
  }
  return out;
}

async function integers(f: ColumnFile, col: string): Promise<number[]> {
  const out: number[] = [];
  for (let g = 0; g < f.rowGroups.length; g++) out.push(...(await f.numbers(g, [col]))[col]!);
  return out;
}

describe('storage/parquet column-scan + string-column: whole columns over pages', function () {
  this.timeout(120_000);

  it('numbers() == the written INT32 and INT64 values, any page and row-group sizes, two files alternating (fast-check)', async () => {
    const long = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    const file = fc.record({
      ints: fc.array(int, { minLength: 1, maxLength: 3000 }),
      pageSize: fc.integer({ min: 16, max: 8192 }),
      rowGroupSize: fc.integer({ min: 1, max: 4000 }),
      snappy: fc.boolean(),
    }).chain((s) => fc.record({ longs: fc.array(long, { minLength: s.ints.length, maxLength: s.ints.length }) }).map((l) => ({ ...s, ...l })));
    await fc.assert(fc.asyncProperty(file, file, async (x, y) => {
      const open = (s: typeof x): ColumnFile => openColumnFile(new Uint8Array(parquetWriteBuffer({
        columnData: [
          { name: 'a', data: Int32Array.from(s.ints), type: 'INT32', nullable: false, encoding: 'PLAIN' },
          { name: 'b', data: BigInt64Array.from(s.longs.map((v) => BigInt(v))), type: 'INT64', nullable: false, encoding: 'PLAIN' },
        ],
        codec: s.snappy ? 'SNAPPY' : 'UNCOMPRESSED', rowGroupSize: s.rowGroupSize, pageSize: s.pageSize,
      })));
      const fx = open(x), fy = open(y);
      assert.deepEqual(await integers(fx, 'a'), x.ints);
      assert.deepEqual(await integers(fy, 'b'), y.longs);
      assert.deepEqual(await integers(fy, 'a'), y.ints);
      assert.deepEqual(await integers(fx, 'b'), x.longs);
    }), { numRuns: 60 });
  });

  it('an unsafe int64 on a later page is PARQUET_INVALID naming the column', async () => {
    const longs = Array.from({ length: 500 }, (_, i) => BigInt(i));
    longs[437] = 2n ** 60n;
    const f = openColumnFile(new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'b', data: BigInt64Array.from(longs), type: 'INT64', nullable: false, encoding: 'PLAIN' }], codec: 'SNAPPY', pageSize: 256 })));
    await assert.rejects(f.numbers(0, ['b']), (e) => isDagctlError(e, 'PARQUET_INVALID') && e.details.column === 'b' && /row 437\b/.test(e.message));
  });

  it('byteArrayPages() == the written strings: dictionary indices of every width, RLE and bit-packed runs, any page size (fast-check)', () => {
    const file = fc.record({
      // 1 .. 70,000 distinct values: index widths 0 .. 17 bits.
      distinct: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 70_000 })),
      rows: fc.integer({ min: 1, max: 12_000 }),
      run: fc.integer({ min: 1, max: 40 }),
      seed: fc.nat(),
      pageSize: fc.integer({ min: 64, max: 32_768 }),
      rowGroupSize: fc.integer({ min: 1, max: 20_000 }),
    });
    fc.assert(fc.property(file, file, (x, y) => {
      const values = (s: typeof x): string[] => Array.from({ length: s.rows }, (_, i) => `v${((Math.floor(i / s.run) + s.seed) * 2654435761 >>> 0) % s.distinct}`);
      const open = (s: typeof x, v: string[]): ColumnFile => openColumnFile(new Uint8Array(parquetWriteBuffer({
        columnData: [{ name: 's', data: v, type: 'STRING', nullable: false }],
        codec: 'SNAPPY', rowGroupSize: s.rowGroupSize, pageSize: s.pageSize,
      })));
      const vx = values(x), vy = values(y);
      const fx = open(x, vx), fy = open(y, vy);
      assert.deepEqual(strings(fx, 's'), vx);
      assert.deepEqual(strings(fy, 's'), vy);
    }), { numRuns: 60 });
  });
});
