/**
 * A value that starts with U+FEFF (a "BOM") is an ordinary value: every writer and every reader
 * keeps it (storage/parquet/utf8.ts decodes with ignoreBOM), so a value is what its bytes say. Over
 * every codec: the row decoder (strict and 'mark'), and the raw string-column pages (PLAIN and
 * dictionary) decoded with decodeUtf8 give back exactly the written values, BOM-prefixed and
 * plain side by side (a plain reference: the rows themselves).
 */
import assert from 'node:assert/strict';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { CODEC_NAMES, getCodec } from '../../storage/parquet/registry.js';
import { decodeUtf8, decodeUtf8Lossy } from '../../storage/parquet/utf8.js';
import type { Row, Schema } from '../../storage/types.js';

const schema: Schema = [{ name: 'plain', type: 'string' }, { name: 'dict', type: 'string' }];
/** `plain`: all distinct (PLAIN pages); `dict`: two values (dictionary pages). Half start with U+FEFF. */
const rows: Row[] = Array.from({ length: 200 }, (_, i) => ({
  plain: i % 2 === 0 ? `\uFEFFx${i}` : `x${i}`,
  dict: i % 2 === 0 ? '\uFEFFx' : 'x',
}));
rows.push({ plain: '\uFEFF', dict: '\uFEFF\uFEFFx' });

describe('storage/parquet: a leading U+FEFF is part of the value', () => {
  it('decodeUtf8 and decodeUtf8Lossy keep it', () => {
    const b = new TextEncoder().encode('\uFEFFab');
    assert.equal(decodeUtf8(b), '\uFEFFab');
    assert.equal(decodeUtf8Lossy(b), '\uFEFFab');
  });

  for (const codec of CODEC_NAMES) {
    it(`${codec}: the row decoder returns the written values (strict and mark)`, async () => {
      const c = getCodec(codec);
      const bytes = await c.encode(schema, rows);
      for (const invalidUtf8 of ['error', 'mark'] as const) {
        const got: Row[] = [];
        for await (const batch of c.decode(bytes, { invalidUtf8 })) got.push(...batch.map((r) => ({ ...r })));
        assert.deepEqual(got, rows, invalidUtf8);
      }
    });

    if (codec === 'parquetjs-lite') continue; // raw pages: only files of the column-scan writers
    it(`${codec}: string-column pages (plain and dictionary) hold the written values`, async () => {
      const f = openColumnFile(await getCodec(codec).encode(schema, rows));
      for (const col of ['plain', 'dict']) {
        const got: string[] = [];
        for (let g = 0; g < f.rowGroups.length; g++) {
          for (const p of f.byteArrayPages(g, col) ?? assert.fail(`${col}: no pages`)) {
            for (let i = 0; i < p.count; i++) got.push(decodeUtf8(p.data.subarray(p.start[i], p.start[i]! + p.len[i]!)));
          }
        }
        assert.deepEqual(got, rows.map((r) => r[col]), col);
      }
    });
  }
});
