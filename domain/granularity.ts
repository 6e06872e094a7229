/**
 * Time granularities of the pageviews-over-time views (the book's SuperWebAnalytics.com):
 * h = 3600 s, d = 86400 s (UTC days), w = 7 d, m = 28 d (4 weeks, not a calendar month).
 * A bucket is ts − ts mod g: every boundary is aligned on the epoch, so each coarser bucket is
 * exactly tiled by finer ones (a w bucket by 7 d buckets, an m bucket by 4 w buckets).
 */
export const GRANULARITY_SECONDS = { h: 3600, d: 86_400, w: 604_800, m: 2_419_200 } as const;
export type Granularity = keyof typeof GRANULARITY_SECONDS;
export const GRANULARITIES: Granularity[] = ['h', 'd', 'w', 'm'];

export function bucketStart(ts: number, g: Granularity): number {
  const s = GRANULARITY_SECONDS[g];
  return ts - (((ts % s) + s) % s);
}
