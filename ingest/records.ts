/**
 * Converting Kafka record values into master-dataset rows, one converter per record kind (the
 * schemas are domain/superwebanalytics.ts's):
 *
 *   RECORD_KINDS                  'pageviews' | 'ages' (`dagctl ingest kafka --kind`)
 *   recordKind(kind)              → { schema, convert }
 *   toPageview(value) / toAge(value) → { ok: true, row, date } | { ok: false, reason }
 *
 * A value is UTF-8 JSON; extra fields are ignored:
 *   pageviews  `{"url": string, "person": string, "ts": integer epoch seconds}` → url, person, ts
 *   ages       `{"person": string, "age": integer 0..MAX_AGE, "ts": integer epoch seconds}` →
 *              person, age (int32), ts — "person was `age` years old at ts"
 * Anything else is a reject with a stable reason (REJECT_REASONS), never an exception: one
 * malformed record must not stop the stream nor poison a batch. `date` is the UTC day of `ts`,
 * which picks the `date=YYYY-MM-DD/` partition.
 * Preconditions: none; pure functions.
 */
import type { Row, Schema } from '../storage/types.js';
import { AGES_SCHEMA, PAGEVIEWS_SCHEMA } from '../domain/superwebanalytics.js';

export const REJECT_REASONS = ['null-value', 'invalid-utf8', 'invalid-json', 'not-object', 'bad-url', 'bad-person', 'bad-age', 'bad-ts', 'ts-out-of-range'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Converted = { ok: true; row: Row; date: string } | { ok: false; reason: RejectReason };

export const RECORD_KINDS = ['pageviews', 'ages'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface RecordKindDef {
  /** The master dataset's schema the rows follow. */
  schema: Schema;
  convert(value: Uint8Array | null): Converted;
}

/** Ages beyond this are taken for typos and rejected ('bad-age'). */
export const MAX_AGE = 150;

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

/** The value as a JSON object, or the reason it is not one. */
function parseObject(value: Uint8Array | null): { ok: true; o: Record<string, unknown> } | { ok: false; reason: RejectReason } {
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
  return { ok: true, o: v as Record<string, unknown> };
}

/** `ts` as epoch seconds with its UTC day, or the reason it is not usable. */
function checkTs(ts: unknown): { ok: true; ts: number; date: string } | { ok: false; reason: RejectReason } {
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return { ok: false, reason: 'bad-ts' };
  if (ts < 0 || ts > MAX_TS) return { ok: false, reason: 'ts-out-of-range' };
  return { ok: true, ts, date: new Date(ts * 1000).toISOString().slice(0, 10) };
}

export function toPageview(value: Uint8Array | null): Converted {
  const p = parseObject(value);
  if (!p.ok) return p;
  const { url, person, ts } = p.o;
  if (typeof url !== 'string' || url === '') return { ok: false, reason: 'bad-url' };
  if (typeof person !== 'string' || person === '') return { ok: false, reason: 'bad-person' };
  const t = checkTs(ts);
  if (!t.ok) return t;
  return { ok: true, row: { url, person, ts: t.ts }, date: t.date };
}

export function toAge(value: Uint8Array | null): Converted {
  const p = parseObject(value);
  if (!p.ok) return p;
  const { person, age, ts } = p.o;
  if (typeof person !== 'string' || person === '') return { ok: false, reason: 'bad-person' };
  if (typeof age !== 'number' || !Number.isInteger(age) || age < 0 || age > MAX_AGE) return { ok: false, reason: 'bad-age' };
  const t = checkTs(ts);
  if (!t.ok) return t;
  return { ok: true, row: { person, age, ts: t.ts }, date: t.date };
}

const KINDS: Record<RecordKind, RecordKindDef> = {
  pageviews: { schema: PAGEVIEWS_SCHEMA, convert: toPageview },
  ages: { schema: AGES_SCHEMA, convert: toAge },
};

export function recordKind(kind: RecordKind): RecordKindDef {
  return KINDS[kind];
}

export function isRecordKind(s: string): s is RecordKind {
  return (RECORD_KINDS as readonly string[]).includes(s);
}
