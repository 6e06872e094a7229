/**
 * Reading a rollup view's rows in place (shared by the key index build, serving/key-index.ts, and
 * the key-block reads, serving/view.ts), one implementation each:
 *
 *   new PageRows(pages).seek(r)         → row r of a row group's byte pages (column-scan.ts
 *                                          byteArrayPages): `.data`, `.start`, `.len`; `.bytes(r)`
 *   widen(extent, g, bucket), extentOf(extent) → the data extent of a version (Manifest.bucketExtent)
 *   sameBytes(a, aStart, aLen, b, bStart, bLen) → whether two byte ranges are equal
 *   granularityOf(bytes | text, file)   → h | d | w | m, or DATASET_SCHEMA_MISMATCH
 *   alignedBucket(g, bucket, file, row) → bucket, or VIEW_INVALID when it is not a bucket start of g
 *   strictText(bytes, column, row, rowGroup, file) → the value, decoded strictly: bytes that are not
 *                                          UTF-8 are PARQUET_INVALID_UTF8 (file, column, row, row
 *                                          group), never U+FFFD (storage/parquet/utf8.ts)
 */
import { DagctlError } from '../core/errors.js';
import { bucketStart, GRANULARITIES, GRANULARITY_SECONDS, type Granularity } from '../domain/granularity.js';
import type { ByteArrayPage } from '../storage/parquet/page-types.js';
import { decodeUtf8, invalidUtf8Error, withUtf8File } from '../storage/parquet/utf8.js';
import type { BucketExtent } from '../storage/types.js';

/**
 * Row positions of a row group's byte pages (pages may hold 0 values). seek() is O(1) amortized for
 * ascending rows (a page pointer moving forward) and a binary search for a row before the pointer.
 */
export class PageRows {
  data: Uint8Array = new Uint8Array(0);
  start = 0;
  len = 0;
  private readonly ends: Int32Array;
  private pi = 0;
  constructor(private readonly pages: ByteArrayPage[]) {
    this.ends = new Int32Array(pages.length);
    let n = 0;
    for (let i = 0; i < pages.length; i++) this.ends[i] = n += pages[i]!.count;
  }

  /** Points data/start/len at row r's value; PARQUET_INVALID past the row group's values. */
  seek(r: number): this {
    const ends = this.ends;
    let pi = this.pi;
    if (pi > 0 && r < ends[pi - 1]!) {
      let lo = 0, hi = pi;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ends[mid]! > r) hi = mid;
        else lo = mid + 1;
      }
      pi = lo;
    }
    while (pi < ends.length && r >= ends[pi]!) pi++;
    this.pi = pi;
    const p = this.pages[pi];
    if (p === undefined || r < 0) throw new DagctlError('PARQUET_INVALID', `row ${r} past the row group's ${ends.length === 0 ? 0 : ends[ends.length - 1]!} values`);
    const i = r - (pi === 0 ? 0 : ends[pi - 1]!);
    // A page left undecoded (byteArrayPages with `rows` not holding r): a caller's bug, never a value.
    if (i >= p.start.length || p.start[i]! < 0) throw new DagctlError('INTERNAL', `row ${r} was not decoded (not among the rows asked for)`);
    this.data = p.data;
    this.start = p.start[i]!;
    this.len = p.len[i]!;
    return this;
  }

  /** Row r's bytes (a view on its page). */
  bytes(r: number): Uint8Array {
    this.seek(r);
    return this.data.subarray(this.start, this.start + this.len);
  }
}

/** Whether a[as, as + al) and b[bs, bs + bl) hold the same bytes. */
export function sameBytes(a: Uint8Array, as: number, al: number, b: Uint8Array, bs: number, bl: number): boolean {
  if (al !== bl) return false;
  for (let i = 0; i < al; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}

/** Widens the extent of granularity g to bucket start `bucket`. */
export function widen(x: BucketExtent, g: Granularity, bucket: number): void {
  const r = x[g];
  if (r === undefined) x[g] = { min: bucket, max: bucket };
  else if (bucket < r.min) r.min = bucket;
  else if (bucket > r.max) r.max = bucket;
}

export interface Extent {
  /** The finest granularity's first bucket start and last bucket end (epoch s). */
  from: number;
  to: number;
}

/** The granularities present (finest first) and the finest one's [first bucket start, last bucket end). */
export function extentOf(x: BucketExtent): { granularities: Granularity[]; extent: Extent | null } {
  const granularities = GRANULARITIES.filter((g) => x[g] !== undefined);
  const finest = granularities[0];
  const r = finest === undefined ? undefined : x[finest];
  return { granularities, extent: finest === undefined || r === undefined ? null : { from: r.min, to: r.max + GRANULARITY_SECONDS[finest] } };
}

const ONE_BYTE: Array<Granularity | undefined> = [];
for (const g of GRANULARITIES) ONE_BYTE[g.charCodeAt(0)] = g;

/** A granularity value (its bytes, or text): h, d, w or m, else DATASET_SCHEMA_MISMATCH naming the file. */
export function granularityOf(v: Uint8Array | string, file: string): Granularity {
  if (typeof v !== 'string') {
    const g = v.length === 1 ? ONE_BYTE[v[0]!] : undefined;
    if (g !== undefined) return g;
  } else if (v in GRANULARITY_SECONDS) return v as Granularity;
  const shown = typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
  throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${file}: granularity "${shown}" is not one of h, d, w, m`, { file, column: 'granularity', value: shown });
}

/**
 * A row's bucket, checked to be a bucket start of its granularity as rollup computes them
 * (domain/granularity.ts bucketStart: epoch-aligned, m = 28 days): else VIEW_INVALID naming the
 * file, row and column. A key block's lookup (view.ts slot) is one entry per (start, granularity)
 * only for aligned starts: a misaligned row (a foreign writer's) would silently replace another.
 */
export function alignedBucket(g: Granularity, bucket: number, file: string, row: number): number {
  if (bucketStart(bucket, g) === bucket) return bucket;
  throw new DagctlError('VIEW_INVALID', `${file}: row ${row}: column bucket holds ${bucket}, not the start of a "${g}" bucket (a multiple of ${GRANULARITY_SECONDS[g]} s since the epoch, as rollup writes them): not a rollup view's row; rebuild the view with rollup`, { file, row, column: 'bucket', value: bucket, granularity: g });
}

/** A string value's bytes decoded strictly: PARQUET_INVALID_UTF8 (file, column, row, row group) when they are not UTF-8. */
export function strictText(bytes: Uint8Array, column: string, row: number, rowGroup: number, file: string): string {
  try {
    return decodeUtf8(bytes);
  } catch {
    throw withUtf8File(invalidUtf8Error(column, row, rowGroup, bytes), file);
  }
}
