/**
 * A speed-layer micro-batch's aggregates (pure): Kafka pageview records → per hour and URL, the
 * pageview count and the sparse HLL entries of the persons seen.
 *
 *   speedNormalizer(params?) → (record value) → { ok, hour, url, person } | { ok: false, reason }
 *   aggregate(records, normalizer) → { hours, valid, rejects }
 *
 * Records are parsed as ingest parses them (ingest/records.ts toPageview: the same rejects) and
 * normalized as the batch DAG's normalize operator does with the given params (default: its
 * defaults, as dags/ use them): operators/lib/text/url.ts for the URL, operators/lib/text/identifiers.ts for
 * the person. A person is hashed exactly as rollup hashes it (MurmurHash3 of the id, HyperLogLog
 * positions at p' = 25), so a realtime hour's sketch merges with the batch view's.
 * Not done in realtime (the batch layer corrects it once it absorbs the hour): dedupe of repeated
 * (url, person, ts) events across batches, and equiv-component resolution of persons.
 */
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { hashString } from '../../operators/lib/sketches/murmur3.js';
import { normalizeIdentifier } from '../../operators/lib/text/identifiers.js';
import { DEFAULT_TRACKING_PARAMS, urlNormalizer } from '../../operators/lib/text/url.js';
import { toPageview } from '../../ingest/records.js';
import { SPEED_HLL_P, type UrlHour } from './state.js';

export interface SpeedNormalizeParams {
  stripParams: string[];
  foldWww: boolean;
  trailingSlash: 'keep' | 'strip' | 'add';
  dropQuery: boolean;
  defaultScheme: 'http' | 'https' | null;
  stripUserZeros: boolean;
}

/** normalize's defaults (operators/normalize/normalize.ts NormalizeParams). */
export const DEFAULT_SPEED_NORMALIZE: SpeedNormalizeParams = {
  stripParams: DEFAULT_TRACKING_PARAMS, foldWww: false, trailingSlash: 'keep', dropQuery: false, defaultScheme: 'http', stripUserZeros: true,
};

export type SpeedEvent = { ok: true; hour: number; url: string; person: string } | { ok: false; reason: string };

export function speedNormalizer(p: SpeedNormalizeParams = DEFAULT_SPEED_NORMALIZE): (value: Uint8Array | null) => SpeedEvent {
  const normUrl = urlNormalizer(p);
  const urls = new Map<string, ReturnType<typeof normUrl>>();
  return (value) => {
    const c = toPageview(value);
    if (!c.ok) return c;
    const raw = String(c.row.url);
    let u = urls.get(raw);
    if (u === undefined) {
      u = normUrl(raw);
      if (urls.size >= 100_000) urls.clear();
      urls.set(raw, u);
    }
    if (!u.ok) return { ok: false, reason: u.reason };
    const id = normalizeIdentifier(String(c.row.person), p);
    if (!id.ok) return { ok: false, reason: id.reason };
    const ts = Number(c.row.ts);
    return { ok: true, hour: ts - (ts % 3600), url: u.url, person: id.id };
  };
}

export interface Aggregated {
  hours: Map<number, Map<string, UrlHour>>;
  valid: number;
  rejects: Record<string, number>;
}

const hash = new Uint32Array(4);
const pos = new Int32Array(4);

export function aggregate(values: (Uint8Array | null)[], normalize: (value: Uint8Array | null) => SpeedEvent): Aggregated {
  const hours = new Map<number, Map<string, UrlHour>>();
  const rejects: Record<string, number> = {};
  let valid = 0;
  for (const v of values) {
    const e = normalize(v);
    if (!e.ok) {
      rejects[e.reason] = (rejects[e.reason] ?? 0) + 1;
      continue;
    }
    valid++;
    let urls = hours.get(e.hour);
    if (urls === undefined) hours.set(e.hour, (urls = new Map()));
    let u = urls.get(e.url);
    if (u === undefined) urls.set(e.url, (u = { count: 0, entries: new Map() }));
    u.count++;
    hashString(e.person, hash);
    HyperLogLog.positions(SPEED_HLL_P, hash[0]!, hash[1]!, pos);
    const idx = pos[0]!, rank = pos[1]!;
    if ((u.entries.get(idx) ?? 0) < rank) u.entries.set(idx, rank);
  }
  return { hours, valid, rejects };
}
