/**
 * storage/parquet/string-column.ts fromDictionary against a plain reference: dictionary indices
 * written here by an independent LSB-first bit packer (bit-packed runs of every width 0..32, RLE
 * runs between them, the page ending right after the last run so its last values sit in the page's
 * last bytes) decode to the dictionary entries they name; an index past the dictionary — anywhere,
 * the page's last value included — is PARQUET_INVALID, for every row and for chosen rows only.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { fromDictionary } from '../../storage/parquet/string-column.js';
import { plainPage } from '../helpers/pages.js';

type Run = { rle: true; value: number; count: number } | { rle: false; values: number[] };

/** The RLE / bit-packed hybrid of `runs` at `width` bits, after the width byte (the reference encoder). */
function encode(width: number, runs: Run[]): Uint8Array {
  const out: number[] = [width];
  const uleb = (v: number): void => {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 128;
      out.push(b);
    } while (v > 0);
  };
  for (const r of runs) {
    if (r.rle) {
      uleb(r.count * 2);
      for (let k = 0; k < (width + 7) >> 3; k++) out.push(Math.floor(r.value / 2 ** (8 * k)) % 256);
    } else {
      const groups = Math.ceil(r.values.length / 8);
      uleb(groups * 2 + 1);
      const bytes = new Array<number>(groups * width).fill(0);
      r.values.forEach((v, i) => {
        for (let b = 0; b < width; b++) if (Math.floor(v / 2 ** b) % 2 === 1) bytes[(i * width + b) >> 3]! |= 1 << ((i * width + b) & 7);
      });
      out.push(...bytes);
    }
  }
  return Uint8Array.from(out);
}

const valuesOf = (runs: Run[]): number[] => runs.flatMap((r) => (r.rle ? Array<number>(r.count).fill(r.value) : r.values));

describe('storage/parquet/string-column: dictionary indices', function () {
  this.timeout(120_000);
  const dict = plainPage(Array.from({ length: 300 }, (_, i) => `entry-${i}`));

  const pages = (maxIndex: number) => fc.integer({ min: 0, max: 32 }).chain((width) => {
    const top = Math.min(width === 0 ? 0 : 2 ** width - 1, maxIndex);
    const run: fc.Arbitrary<Run> = fc.oneof(
      fc.record({ rle: fc.constant(true as const), value: fc.integer({ min: 0, max: top }), count: fc.integer({ min: 1, max: 40 }) }),
      // A bit-packed run holds whole groups of 8 values; only the page's last run may end early (below).
      fc.record({ rle: fc.constant(false as const), values: fc.array(fc.integer({ min: 0, max: top }), { minLength: 1, maxLength: 9 }).map((g) => g.flatMap((v) => Array<number>(8).fill(v).map((x, k) => (x + k) % (top + 1)))) }),
    );
    return fc.record({ width: fc.constant(width), runs: fc.array(run, { minLength: 1, maxLength: 6 }), cut: fc.integer({ min: 0, max: 7 }) }).map(({ width, runs, cut }) => {
      const last = runs[runs.length - 1] as Run;
      if (!last.rle) runs[runs.length - 1] = { rle: false, values: last.values.slice(0, Math.max(1, last.values.length - cut)) };
      return { width, runs };
    });
  });

  it('decodes every run of every width to the entries it names (fast-check)', () => {
    fc.assert(fc.property(pages(dict.count - 1), ({ width, runs }) => {
      const values = valuesOf(runs);
      // Bit-packed runs hold whole groups of 8: decode exactly the values written (n), as a page does.
      const page = fromDictionary(dict, encode(width, runs), values.length, 'c', null);
      assert.equal(page.count, values.length);
      values.forEach((v, i) => {
        assert.equal(page.start[i], dict.start[v]);
        assert.equal(page.len[i], dict.len[v]);
      });
    }), { numRuns: 400 });
  });

  it('an index past the dictionary is PARQUET_INVALID wherever it is, the page\'s last value included', () => {
    fc.assert(fc.property(pages(dict.count - 1).filter((p) => p.width >= 9), fc.nat(), ({ width, runs }, pick) => {
      const values = valuesOf(runs);
      const at = pick % values.length;
      // Put index `dict.count` at one value (the last one in half of the cases), rewriting its run.
      const target = pick % 2 === 0 ? values.length - 1 : at;
      let seen = 0;
      const bad = runs.map((r): Run => {
        const n = r.rle ? r.count : r.values.length;
        const here = target >= seen && target < seen + n;
        const off = target - seen;
        seen += n;
        if (!here) return r;
        return r.rle ? { rle: false, values: Array.from({ length: r.count }, (_, k) => (k === off ? dict.count : r.value)) } : { rle: false, values: r.values.map((v, k) => (k === off ? dict.count : v)) };
      });
      const data = encode(width, bad);
      for (const only of [null, { rows: Int32Array.from(values.keys()), from: 0, to: values.length, base: 0 }]) {
        assert.throws(() => fromDictionary(dict, data, values.length, 'c', only), (e: unknown) => isDagctlError(e) && e.code === 'PARQUET_INVALID');
      }
    }), { numRuns: 300 });
  });
});
