/**
 * storage/parquet/string-column.ts with `rows` (decode only some rows: serving/view.ts block reads):
 * at every wanted row the value equals the row that was written (a plain reference: the rows
 * themselves), for PLAIN and dictionary pages (RLE and bit-packed indices, narrow and wide), two
 * writers, several pages and row groups, random ascending row sets (fast-check); pages holding no
 * wanted row are not decoded, and serving/view-rows.ts PageRows refuses to read a row that was not
 * decoded (another page's, or a dictionary page's row not asked for: INTERNAL, a caller's bug) rather than
 * hand back bytes.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { isDagctlError } from '../../core/errors.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { Row, Schema } from '../../storage/types.js';
import { PageRows } from '../../serving/view-rows.js';

const schema: Schema = [{ name: 'id1', type: 'string' }, { name: 'id2', type: 'string' }];
const cases: Array<[string, Row[]]> = [
  ['plain and a 3-bit dictionary', Array.from({ length: 3000 }, (_, i) => ({ id1: `u${i}`, id2: `v${i % 7}` }))],
  ['long runs of one value (RLE indices)', Array.from({ length: 20_000 }, (_, i) => ({ id1: `k${Math.floor(i / 900)}`, id2: `r${Math.floor(i / 37) % 40}` }))],
  ['70,000 rows, many pages', Array.from({ length: 70_000 }, (_, i) => ({ id1: `cookie:${(i * 2654435761 >>> 0).toString(16)}`, id2: `user:${i % 1000}` }))],
  ['wide (13-bit) dictionary indices', Array.from({ length: 70_000 }, (_, i) => ({ id1: `e${(i * 7919) % 30_000}`, id2: `w${Math.floor(i / 3) % 5000}` }))],
];

/** dagctl's writers put a column chunk in one page; hyparquet-writer with 4 KiB pages writes many. */
const WRITERS: Record<string, (rows: Row[]) => Promise<Uint8Array>> = {
  flat: (rows) => getCodec('flat').encode(schema, rows),
  hyparquet: (rows) => getCodec('hyparquet').encode(schema, rows),
  'hyparquet-writer, 4 KiB pages': async (rows) => new Uint8Array(parquetWriteBuffer({
    columnData: schema.map((f) => ({ name: f.name, data: rows.map((r) => r[f.name] as string), type: 'STRING' as const, nullable: false })),
    codec: 'SNAPPY', rowGroupSize: 65_536, pageSize: 4096,
  })),
};

describe('storage/parquet/string-column: only the wanted rows', function () {
  this.timeout(120_000);
  for (const [writer, write] of Object.entries(WRITERS)) {
    for (const [what, rows] of cases) {
      it(`${what} (${writer}): the wanted rows' values equal the written rows`, async () => {
        const bytes = await write(rows);
        const f = openColumnFile(bytes);
        let skipped = 0;
        const check = (g: number, col: string, want: Int32Array): void => {
          const { rowStart } = f.rowGroups[g]!;
          const pages = f.byteArrayPages(g, col, want);
          assert.notEqual(pages, null);
          for (const p of pages!) if (p.count > 0 && p.start.length === 0) skipped++;
          const pr = new PageRows(pages!);
          for (const r of want) assert.equal(Buffer.from(pr.bytes(r)).toString(), rows[rowStart + r]![col], `${col} row ${rowStart + r}`);
        };
        for (let g = 0; g < f.rowGroups.length; g++) {
          const n = f.rowGroups[g]!.rows;
          for (const col of ['id1', 'id2']) {
            // Fixed sets: the first row, the last, one run in the middle, every row.
            check(g, col, Int32Array.of(0));
            check(g, col, Int32Array.of(n - 1));
            const mid = Math.floor(n / 2);
            check(g, col, Int32Array.from({ length: Math.min(40, n - mid) }, (_, i) => mid + i));
            check(g, col, Int32Array.from({ length: n }, (_, i) => i));
            fc.assert(fc.property(fc.uniqueArray(fc.nat({ max: n - 1 }), { minLength: 1, maxLength: 60 }), (set) => check(g, col, Int32Array.from(set.sort((a, b) => a - b)))), { numRuns: 40 });
          }
        }
        if (writer.includes('4 KiB')) assert.ok(skipped > 0, 'pages without a wanted row must be left undecoded');
      });
    }
  }

  it('a row that was not asked for is refused, never read as bytes', async () => {
    const rows = cases[2]![1];
    const bytes = await WRITERS['hyparquet-writer, 4 KiB pages']!(rows);
    const f = openColumnFile(bytes);
    for (const col of ['id1', 'id2']) {
      const pr = new PageRows(f.byteArrayPages(0, col, Int32Array.of(0))!);
      assert.equal(Buffer.from(pr.bytes(0)).toString(), rows[0]![col]);
      const last = f.rowGroups[0]!.rows - 1;
      assert.throws(() => pr.bytes(last), (e: unknown) => isDagctlError(e, 'INTERNAL'));
      // A dictionary page decodes only the asked rows' indices: its next row is refused too (a PLAIN page is split whole).
      if (col === 'id2' || f.byteArrayPages(0, col)![0]!.count === 1) assert.throws(() => pr.bytes(1), (e: unknown) => isDagctlError(e, 'INTERNAL'));
    }
  });
});
