/**
 * Converting Kafka record values into pageview rows (the master dataset's schema, gen/kinds.ts):
 *
 *   toPageview(value) → { ok: true, row, date } | { ok: false, reason }
 *
 * A value is UTF-8 JSON `{"url": string, "person": string, "ts": integer epoch seconds}`; extra
 * fields are ignored. Anything else is a reject with a stable reason (REJECT_REASONS), never an
 * exception: one malformed record must not stop the stream nor poison a batch. `date` is the UTC
 * day of `ts`, which picks the `date=YYYY-MM-DD/` partition.
 * Preconditions: none; pure function.
 */
import type { Row, Schema } from '../storage/types.js';

export const REJECT_REASONS = ['null-value', 'invalid-utf8', 'invalid-json', 'not-object', 'bad-url', 'bad-person', 'bad-ts', 'ts-out-of-range'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Converted = { ok: true; row: Row; date: string } | { ok: false; reason: RejectReason };

/** Schema of the rejects files: enough to find and replay the record by hand. */
export const REJECT_SCHEMA: Schema = [
  { name: 'offset', type: 'int64' },
  { name: 'reason', type: 'string' },
  { name: 'key', type: 'bytes', nullable: true },
  { name: 'value', type: 'bytes', nullable: true },
];

// Partition folders must be real 4-digit-year days: 1970-01-01 .. 9999-12-31.
const MAX_TS = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function toPageview(value: Uint8Array | null): Converted {
  if (value === null) return { ok: false, reason: 'null-value' };
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, reason: 'invalid-utf8' };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'invalid-json' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, reason: 'not-object' };
  const o = v as Record<string, unknown>;
  const { url, person, ts } = o;
  if (typeof url !== 'string' || url === '') return { ok: false, reason: 'bad-url' };
  if (typeof person !== 'string' || person === '') return { ok: false, reason: 'bad-person' };
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return { ok: false, reason: 'bad-ts' };
  if (ts < 0 || ts > MAX_TS) return { ok: false, reason: 'ts-out-of-range' };
  return { ok: true, row: { url, person, ts }, date: new Date(ts * 1000).toISOString().slice(0, 10) };
}
