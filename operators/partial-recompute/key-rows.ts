/**
 * The positions of a Parquet file's rows whose key is in a set: what a merge-on-read view version
 * deletes from a file it carries over (partial-recompute: the old rows of the persons it
 * recomputes). Only the key column is read; nothing is decoded but the Bloom filter's hits.
 *
 *   keyRows(bytes, { key, drop, bloom }) → Int32Array (sorted file row positions) | null
 *
 * A PLAIN, REQUIRED, un-dictionaried key column goes through the page kernel
 * (storage/parquet/page-kernel.ts probePlainPage: decompressed and probed where it lies); other
 * byte-array layouts are probed page by page in JS (SplitBlockBloom.probeRanges). A hit counts only
 * if its decoded key is in `drop` (the filter is a pre-filter) — or, given `dropKeys` (the same set
 * for the kernel), if the kernel finds its bytes among them, no string made. null when the key column cannot be
 * read that way (nullable, a value anywhere in the column that is not UTF-8 — checked page by
 * page, misses included —, …): the caller decodes rows instead (strictly: PARQUET_INVALID_UTF8).
 * Preconditions: `bloom` holds every key of `drop`.
 */
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { type KernelKeys, probeKeysPage, probePlainPage } from '../../storage/parquet/page-kernel.js';
import { pageUtf8 } from '../../storage/parquet/utf8.js';
import type { SplitBlockBloom } from './split-bloom.js';

export interface KeyRowsSpec {
  key: string;
  drop: ReadonlySet<string>;
  bloom: SplitBlockBloom;
  /** Optional: `drop` as the page kernel's key set (KernelKeys.of): then its path makes no strings. */
  dropKeys?: KernelKeys | null;
}

export function keyRows(bytes: Uint8Array, spec: KeyRowsSpec): Int32Array | null {
  const f = openColumnFile(bytes);
  let out = new Int32Array(64);
  let n = 0;
  const push = (p: number): void => {
    if (n === out.length) {
      const g = new Int32Array(n * 2);
      g.set(out);
      out = g;
    }
    out[n++] = p;
  };
  const layout = spec.bloom.layout();
  for (let g = 0; g < f.rowGroups.length; g++) {
    let row = f.rowGroups[g]!.rowStart;
    const bodies = f.plainByteArrayBodies(g, spec.key);
    if (bodies !== null && spec.dropKeys != null) {
      // Exact in the kernel: only the rows of drop's keys come back (as rows; ids unused).
      let most = 0;
      for (const b of bodies) most = Math.max(most, b.count);
      const rows = new Int32Array(most), ids = new Int32Array(most);
      for (const b of bodies) {
        let utf8 = true;
        const end = probeKeysPage(b.body, b.compressed, b.size, b.count, layout, spec.dropKeys, rows, ids, 0, () => { utf8 = false; }).end;
        if (!utf8) return null;
        for (let h = 0; h < end; h++) push(row + rows[h]!);
        row += b.count;
      }
      continue;
    }
    if (bodies !== null) {
      for (const b of bodies) {
        let utf8 = true;
        const at = row;
        probePlainPage(b.body, b.compressed, b.size, b.count, layout, (buf, s, l, i) => {
          if (utf8 && spec.drop.has(buf.toString('utf8', s, s + l))) push(at + i);
        }, () => { utf8 = false; });
        if (!utf8) return null;
        row += b.count;
      }
      continue;
    }
    const pages = f.byteArrayPages(g, spec.key);
    if (pages === null || !pages.every(pageUtf8)) return null;
    for (const p of pages) {
      const hits = new Int32Array(p.count);
      const nh = spec.bloom.probeRanges(p.data, p.start, p.len, p.count, hits, 0);
      const buf = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
      for (let h = 0; h < nh; h++) {
        const i = hits[h]!, s = p.start[i]!, l = p.len[i]!;
        if (spec.drop.has(buf.toString('utf8', s, s + l))) push(row + i);
      }
      row += p.count;
    }
  }
  return out.slice(0, n);
}
