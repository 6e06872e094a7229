/**
 * Late-materializing filtered scan of one Parquet file: probe the key column alone, then decode the
 * other (integer) columns only for the row groups with hits, at the hit rows only
 * (ColumnFile.numbersAt), and gather only the hits — as columns, no object per hit.
 *
 *   for await (const h of lateScanColumns(bytes, { key: 'person', columns: ['age', 'ts'], probe, probeString })) …
 *
 * Yields HitColumns `{ n, keys, values: [column][hit] }` in file order: exactly the rows a full
 * decode followed by `probeString(row[key])` would keep (test/operators/late-scan.test.ts).
 * Fast path (storage/parquet/column-scan.ts): a REQUIRED BYTE_ARRAY key column, PLAIN or
 * dictionary-encoded —
 * `probe(bytes, start, len)` sees the value's raw UTF-8 bytes, no JS string is built for a miss
 * (the cost that dominated partial-recompute's fetch: decoding every master person string).
 * Any other layout (a nullable key, another codec)
 * falls back, from that row group to the file's end, to decoding rows with the default codec and
 * calling probeString. With `bloom` (the probe is that split-block filter's), a PLAIN key column's
 * pages go through the page kernel (storage/parquet/page-kernel.ts probePlainPage: decompressed and
 * probed in WebAssembly, only hits come back; ×1.6–1.8 the JS page probe in `npm run bench --
 * operators`); other layouts take the paths above. Preconditions: `columns` are integer columns
 * (OPERATOR_INPUT_INVALID otherwise, as lib/rows.ts int()); probe, probePage, probeString and
 * bloom agree.
 * Strict UTF-8 (storage/parquet/utf8.ts): a row group whose raw key pages hold a value that is not
 * UTF-8 goes, with the rest of the file, through the row decoder, which fails with
 * PARQUET_INVALID_UTF8 naming column, row and row group (the caller adds the file); on the page
 * kernel's path every value of each page, misses included, is checked where the kernel
 * decompressed it (page-kernel.ts NotUtf8) and the first one that is not UTF-8 fails the scan with
 * PARQUET_INVALID_UTF8 too: a file fails whichever path reads it.
 */
import { DagctlError } from '../../core/errors.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { decodeWithFallback, defaultCodec } from '../../storage/parquet/registry.js';
import { invalidUtf8Error, pageUtf8 } from '../../storage/parquet/utf8.js';
import type { Row } from '../../storage/types.js';
import { int, str } from '../lib/rows.js';
import { type BloomWords, type KernelKeys, type NotUtf8, probeKeysPage, probePlainPage } from '../../storage/parquet/page-kernel.js';
import type { ColumnFile, PageBody } from '../../storage/parquet/page-types.js';

export interface LateScanOptions {
  key: string;
  columns: string[];
  probe(bytes: Uint8Array, start: number, len: number): boolean;
  /**
   * Optional: probe for values i < count of a page at once (one call per page instead of per
   * value), appending the passing i to `hits` from `at`, returning the new end; must agree with
   * probe (e.g. SplitBlockBloom.probeRanges).
   */
  probePage?(bytes: Uint8Array, start: Int32Array, len: Int32Array, count: number, hits: Int32Array, at: number): number;
  probeString(key: string): boolean;
  /** Optional: the split-block Bloom filter probe/probePage test (SplitBlockBloom.layout()). */
  bloom?: BloomWords;
  /**
   * Optional: the exact set the filter pre-filters (its keys all pass `bloom`): then only its
   * members are hits, each with its id — `kernel` (page-kernel.ts KernelKeys: key i ↔ id i) on
   * the page kernel's path, where no key string is made at all; `idOf` (−1 for a non-member) on
   * the others, and on all of them when `kernel` is null.
   */
  keys?: { kernel: KernelKeys | null; idOf(key: string): number };
}

export interface LateScanStats {
  rows: number;
  /** Row groups probed on raw bytes / decoded as rows (fallback). */
  fastGroups: number;
  slowGroups: number;
  /**
   * With `keys`: rows that passed the filter but are not in the set (its false positives) — on the
   * page kernel's path only those it tested (its prefilter rules most other rows out first).
   */
  dropped?: number;
  /** Optional, kept by callers that read the files (partial-recompute's masterHits): ms in reads the scan did not overlap. */
  readWaitMs?: number;
}

/**
 * Hits of one row group (or fallback batch) as columns: keys[h], and values[c][h] per column; with
 * option `keys`, ids[h] (the hit's id in that set) instead, and `keys` empty.
 */
export interface HitColumns {
  n: number;
  keys: string[];
  ids?: Int32Array;
  values: ArrayLike<number>[];
}

/**
 * The hits as columns, no object per hit (a consumer makes rows only if it needs them:
 * partial-recompute's fetch shuffles sample rows, its fused join adds samples by person id).
 */
export async function* lateScanColumns(bytes: Uint8Array, o: LateScanOptions, stats: LateScanStats = { rows: 0, fastGroups: 0, slowGroups: 0 }): AsyncIterable<HitColumns> {
  const keys = o.keys;
  if (keys === undefined) {
    yield* scan(bytes, o, stats);
    return;
  }
  for await (const h of scan(bytes, o, stats)) {
    if (h.ids !== undefined) {
      yield h;
      continue;
    }
    // A path that made key strings: keep the members, with their ids.
    const ids = new Int32Array(h.n), at = new Int32Array(h.n);
    let n = 0;
    for (let i = 0; i < h.n; i++) {
      const id = keys.idOf(h.keys[i]!);
      if (id < 0) continue;
      ids[n] = id;
      at[n++] = i;
    }
    stats.dropped = (stats.dropped ?? 0) + h.n - n;
    if (n > 0) yield { n, keys: [], ids: ids.subarray(0, n), values: h.values.map((v) => Float64Array.from(at.subarray(0, n), (i) => v[i]!)) };
  }
}

async function* scan(bytes: Uint8Array, o: LateScanOptions, stats: LateScanStats): AsyncIterable<HitColumns> {
  const f = openColumnFile(bytes);
  for (let g = 0; g < f.rowGroups.length; g++) {
    const rg = f.rowGroups[g]!;
    stats.rows += rg.rows;
    const bodies = o.bloom !== undefined ? f.plainByteArrayBodies(g, o.key) : null;
    if (bodies !== null) {
      stats.fastGroups++;
      if (o.keys !== undefined && o.keys.kernel !== null) {
        // Each page's values are checked for UTF-8 in kernelIds (notUtf8); hits are ids, no strings.
        const hits = kernelIds(bodies, rg, g, o, o.keys.kernel, stats);
        if (hits.n > 0) yield { ...(await materialize(f, g, o, hits.rows, [], hits.n)), ids: hits.ids };
        continue;
      }
      const hits = kernelHits(bodies, rg, g, o);
      if (hits.n > 0) yield await materialize(f, g, o, hits.rows, hits.keys, hits.n);
      continue;
    }
    const pages = f.byteArrayPages(g, o.key);
    // A key that is not UTF-8: the row decoder reports it (PARQUET_INVALID_UTF8, column/row).
    if (pages === null || !pages.every(pageUtf8)) {
      // The rest of the file through the row decoder (a layout rarely changes between groups).
      stats.slowGroups += f.rowGroups.length - g;
      for (let r = g + 1; r < f.rowGroups.length; r++) stats.rows += f.rowGroups[r]!.rows;
      for await (const rows of slowFrom(bytes, rg.rowStart, o)) {
        yield { n: rows.length, keys: rows.map((r) => r[o.key] as string), values: o.columns.map((c) => rows.map((r) => r[c] as number)) };
      }
      return;
    }
    stats.fastGroups++;
    // Pass 1: probe raw bytes; remember (page, index) of hits.
    let values = 0;
    for (const pg of pages) values += pg.count;
    if (values !== rg.rows) throw new DagctlError('PARQUET_INVALID', `column ${o.key}: ${values} values in a row group of ${rg.rows} rows`, { column: o.key });
    const hitPage = new Int32Array(values), hitIdx = new Int32Array(values);
    let nh = 0;
    const probe = o.probe, probePage = o.probePage;
    for (let p = 0; p < pages.length; p++) {
      const { data, start, len, count } = pages[p]!;
      if (probePage !== undefined) {
        const end = probePage(data, start, len, count, hitIdx, nh);
        hitPage.fill(p, nh, end);
        nh = end;
        continue;
      }
      for (let i = 0; i < count; i++) {
        if (probe(data, start[i]!, len[i]!)) { hitPage[nh] = p; hitIdx[nh] = i; nh++; }
      }
    }
    if (nh === 0) continue;
    // Pass 2: the other columns of this row group (typed arrays) at the hit rows only
    // (numbersAt: only those values decoded), rows for hits only.
    const pageRow: number[] = [];
    let r0 = 0;
    for (const pg of pages) { pageRow.push(r0); r0 += pg.count; }
    const hitRow = new Int32Array(nh);
    for (let h = 0; h < nh; h++) hitRow[h] = pageRow[hitPage[h]!]! + hitIdx[h]!;
    const keys = new Array<string>(nh);
    let buf: Buffer | null = null, bufPage = -1;
    for (let h = 0; h < nh; h++) {
      const p = hitPage[h]!, pg = pages[p]!, i = hitIdx[h]!;
      if (p !== bufPage) { buf = Buffer.from(pg.data.buffer, pg.data.byteOffset, pg.data.byteLength); bufPage = p; }
      keys[h] = decodeKey(buf!, pg.start[i]!, pg.len[i]!, o.key, rg.rowStart + hitRow[h]!, g);
    }
    yield await materialize(f, g, o, hitRow, keys, nh);
  }
}

/** The key column's pages through the page kernel: hit rows (within the group) and their keys. */
function kernelHits(bodies: PageBody[], rg: { rowStart: number; rows: number }, g: number, o: LateScanOptions): { rows: Int32Array; keys: string[]; n: number } {
  const rows = rg.rows;
  let values = 0;
  for (const b of bodies) values += b.count;
  if (values !== rows) throw new DagctlError('PARQUET_INVALID', `column ${o.key}: ${values} values in a row group of ${rows} rows`, { column: o.key });
  const hitRow = new Int32Array(values), keys: string[] = [];
  let r0 = 0, n = 0;
  for (const b of bodies) {
    try {
      probePlainPage(b.body, b.compressed, b.size, b.count, o.bloom!, (bytes, start, len, i) => {
        hitRow[n++] = r0 + i;
        keys.push(decodeKey(bytes, start, len, o.key, rg.rowStart + r0 + i, g));
      }, notUtf8(o.key, rg.rowStart + r0, g));
    } catch (e) {
      if (e instanceof DagctlError) throw e;
      throw new DagctlError('PARQUET_INVALID', `column ${o.key}: ${String(e)}`, { column: o.key }, { cause: e });
    }
    r0 += b.count;
  }
  return { rows: hitRow, keys, n };
}

/** Fails a kernel page's first non-UTF-8 value: PARQUET_INVALID_UTF8 at its row of the file. */
function notUtf8(key: string, pageRow: number, group: number): NotUtf8 {
  return (i, bytes) => {
    throw invalidUtf8Error(key, pageRow + i, group, bytes);
  };
}

/** kernelHits for a key set: the members' rows (within the group) and ids, no key strings. */
function kernelIds(bodies: PageBody[], rg: { rowStart: number; rows: number }, g: number, o: LateScanOptions, keys: KernelKeys, stats: LateScanStats): { rows: Int32Array; ids: Int32Array; n: number } {
  const rows = rg.rows;
  let values = 0;
  for (const b of bodies) values += b.count;
  if (values !== rows) throw new DagctlError('PARQUET_INVALID', `column ${o.key}: ${values} values in a row group of ${rows} rows`, { column: o.key });
  // The kernel may write a whole group's worth of hits: into scratch kept across groups (a
  // group's hits are a few percent of it), then copied out.
  if (idScratch.rows.length < values) idScratch = { rows: new Int32Array(values), ids: new Int32Array(values) };
  const hitRow = idScratch.rows, ids = idScratch.ids;
  let r0 = 0, n = 0;
  for (const b of bodies) {
    try {
      const r = probeKeysPage(b.body, b.compressed, b.size, b.count, o.bloom!, keys, hitRow, ids, n, notUtf8(o.key, rg.rowStart + r0, g));
      for (let h = n; h < r.end; h++) hitRow[h]! += r0;
      n = r.end;
      stats.dropped = (stats.dropped ?? 0) + r.falsePositives;
    } catch (e) {
      if (e instanceof DagctlError) throw e;
      throw new DagctlError('PARQUET_INVALID', `column ${o.key}: ${String(e)}`, { column: o.key }, { cause: e });
    }
    r0 += b.count;
  }
  return { rows: hitRow.slice(0, n), ids: ids.slice(0, n), n };
}
let idScratch = { rows: new Int32Array(0), ids: new Int32Array(0) };

/** The hits' columns: the other columns at the hit rows only (numbersAt), checked integers. */
async function materialize(f: ColumnFile, g: number, o: LateScanOptions, hitRow: Int32Array, keys: string[], nh: number): Promise<HitColumns> {
  const nums = o.columns.length > 0 ? await f.numbersAt(g, o.columns, hitRow, nh) : {};
  const vals = o.columns.map((c) => nums[c]!);
  for (let c = 0; c < vals.length; c++) {
    const col = vals[c]!;
    for (let h = 0; h < nh; h++) {
      if (!Number.isInteger(col[h]!)) throw new DagctlError('OPERATOR_INPUT_INVALID', `column ${o.columns[c]!} is not an integer`, { column: o.columns[c]!, value: String(col[h]) });
    }
  }
  return { n: nh, keys, values: vals };
}

/**
 * ASCII keys (the common case) without TextDecoder; anything else strictly as UTF-8
 * (PARQUET_INVALID_UTF8 at `row` of the file, row group `group`).
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeKey(data: Buffer, start: number, len: number, key: string, row: number, group: number): string {
  let ascii = true;
  for (let i = 0; i < len; i++) if (data[start + i]! >= 0x80) { ascii = false; break; }
  if (ascii) return data.toString('latin1', start, start + len);
  try {
    return utf8.decode(data.subarray(start, start + len));
  } catch {
    throw invalidUtf8Error(key, row, group, data.subarray(start, start + len));
  }
}

/** Rows from `fromRow` on, through the row decoder (the rows before are decoded and skipped). */
async function* slowFrom(bytes: Uint8Array, fromRow: number, o: LateScanOptions): AsyncIterable<Row[]> {
  let at = 0;
  for await (const batch of decodeWithFallback(defaultCodec(), bytes, { columns: [o.key, ...o.columns] })) {
    const first = at;
    at += batch.length;
    if (at <= fromRow) continue;
    const out: Row[] = [];
    for (let i = Math.max(0, fromRow - first); i < batch.length; i++) {
      const row = batch[i]!;
      const k = str(row, o.key);
      if (!o.probeString(k)) continue;
      const r: Row = { [o.key]: k };
      for (const c of o.columns) r[c] = int(row, c);
      out.push(r);
    }
    if (out.length > 0) yield out;
  }
}
