/**
 * Where an ingest stands, stored with the data (the "batch id stored with the state" trick): per
 * topic-partition, which offset ranges are committed to the dataset and which are claimed.
 *
 *   batchId(topic, p, first, last)       → 'ingest-<topic>-p<p>-<first>-<last>' (the marker's instance id)
 *   readResume(store, topic, p, kind)    → { committedThrough, pending } from markers and claims
 *   claimRange(store, claim)             → the claim that holds for its first offset (first writer wins)
 *   datasetKind(store, kind, topic)      — the dataset's record kind (_ingest/kind.json), or INGEST_CONFLICT
 *
 * Keys in the dataset:
 *   _commits/ingest-<topic>-p<p>-<first>-<last>@<fp16>.json   commit marker (storage/dataset/markers.ts)
 *   _ingest/claims/<topic>/p<p>/<first, 20 digits>.json        claim: this batch is exactly [first, last]
 *   _ingest/kind.json                                          the dataset's record kind, create-only
 * A claim is written create-only BEFORE any data file of the batch, so a batch's boundaries are
 * fixed once anything of it can exist: a restarted (or concurrent) ingester that reaches the same
 * first offset redoes exactly that range, produces the same files (same names, same bytes) and the
 * same marker id. Without claims, a time-bounded batch replayed after a crash would be cut
 * elsewhere, and its id (and files) would differ from the first attempt's.
 * A topic partition's batches all hold one record kind (ingest/records.ts): the kind is in every
 * batch fingerprint, claim and marker (absent = 'pageviews', as written before kinds existed), and
 * an ingester of another kind than the partition's last committed batch or a claim stops with
 * INGEST_CONFLICT instead of mixing schemas in one dataset. The dataset as a whole holds one kind
 * too, whatever the topic: every claim first checks `_ingest/kind.json`, which the first claim
 * writes create-only (with the kind of the dataset's last ingest marker when it was ingested
 * before the object existed), so an ingester of the other kind from another topic stops at its
 * first batch, before writing anything.
 * Preconditions: topic names match TOPIC_RE (Kafka allows [A-Za-z0-9._-]; a leading '.' or '_'
 * would clash with the store's reserved names); offsets are non-negative safe integers.
 */
import { DagctlError, isDagctlError } from '../core/errors.js';
import { fingerprint } from '../core/hash.js';
import { COMMITS_PREFIX, jsonBytes, parseJson } from '../storage/dataset/layout.js';
import type { CommitMarker, FileEntry, ObjectStore } from '../storage/types.js';
import type { RecordKind } from './records.js';

/** Bump when the conversion or file layout of a batch changes (part of every batch fingerprint). */
export const INGEST_VERSION = '1';
export const TOPIC_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const CLAIMS_PREFIX = '_ingest/claims/';

export interface Claim {
  batchId: string;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** The record kind of the batch (absent: 'pageviews'). */
  kind?: RecordKind;
}

/** What an ingest marker carries on top of a CommitMarker: the batch's offsets and outcome. */
export interface IngestInfo {
  /** Absent in markers written before kinds existed: 'pageviews'. */
  kind?: RecordKind;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** Kafka records in the range (≤ lastOffset - firstOffset + 1: compaction and control records leave gaps). */
  records: number;
  rows: number;
  rejects: Record<string, number>;
  /** Rejected records (REJECT_SCHEMA), under _rejects/: never data files, never in `files`. */
  rejectFiles: FileEntry[];
}
export interface IngestMarker extends CommitMarker {
  ingest: IngestInfo;
}

export interface PartitionResume {
  /** Last offset committed to the dataset (-1 when nothing is). */
  committedThrough: number;
  /** Claims past committedThrough, in offset order: ranges to redo exactly, before anything new. */
  pending: Claim[];
  /** Committed batches found (for reporting). */
  committedBatches: number;
}

export function checkTopic(topic: string): void {
  if (!TOPIC_RE.test(topic) || topic === '.' || topic === '..') throw new DagctlError('PARAM_INVALID', `topic "${topic}" must match ${TOPIC_RE.source}`, { topic });
}

export function batchId(topic: string, partition: number, first: number, last: number): string {
  return `ingest-${topic}-p${partition}-${first}-${last}`;
}

export function batchFingerprint(topic: string, partition: number, first: number, last: number, kind: RecordKind = 'pageviews'): string {
  return fingerprint({ ingest: INGEST_VERSION, kind, topic, partition, first, last });
}

function kindConflict(topic: string, partition: number, found: RecordKind, kind: RecordKind, where: string): DagctlError {
  return new DagctlError('INGEST_CONFLICT', `${topic}/${partition} holds ${found} records (${where}); this ingester converts ${kind}: ingest ${kind} into another dataset, or use --kind ${found}`, { topic, partition, found, kind });
}

export function claimKey(topic: string, partition: number, first: number): string {
  return `${CLAIMS_PREFIX}${topic}/p${partition}/${String(first).padStart(20, '0')}.json`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/**
 * Reads markers and claims of one topic-partition. Marker offsets come from the key names (one
 * listing, no marker bodies read); only pending claims are read. Overlapping committed ranges mean
 * two writers disagreed on boundaries, which claims exclude: INGEST_CONFLICT.
 */
export async function readResume(store: ObjectStore, topic: string, partition: number, kind: RecordKind = 'pageviews'): Promise<PartitionResume> {
  const prefix = `${COMMITS_PREFIX}ingest-${topic}-p${partition}-`;
  // The exact shape, so topic "a" partition 1 never picks up topic "a-p1"'s markers.
  const re = new RegExp(`^${escapeRe(prefix)}(\\d+)-(\\d+)@[0-9a-f]{16}\\.json$`);
  const ranges: [number, number, string][] = [];
  for (const o of await store.list(prefix)) {
    const m = re.exec(o.key);
    if (m === null) continue;
    ranges.push([Number(m[1]), Number(m[2]), o.key]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let through = -1;
  for (const [first, last] of ranges) {
    if (first <= through) throw new DagctlError('INGEST_CONFLICT', `committed ingest batches overlap at ${topic}/${partition} offset ${first}`, { topic, partition, first, last, through });
    through = last;
  }
  const lastKey = ranges.at(-1)?.[2];
  if (lastKey !== undefined) {
    const found = parseJson<IngestMarker>(await store.get(lastKey), lastKey).ingest.kind ?? 'pageviews';
    if (found !== kind) throw kindConflict(topic, partition, found, kind, lastKey);
  }
  const pending: Claim[] = [];
  for (const o of await store.list(`${CLAIMS_PREFIX}${topic}/p${partition}/`)) {
    const m = /\/(\d{20})\.json$/.exec(o.key);
    if (m === null || Number(m[1]) <= through) continue;
    const c = parseJson<Claim>(await store.get(o.key), o.key);
    if ((c.kind ?? 'pageviews') !== kind) throw kindConflict(topic, partition, c.kind ?? 'pageviews', kind, o.key);
    pending.push(c);
  }
  return { committedThrough: through, pending, committedBatches: ranges.length };
}

export const KIND_KEY = '_ingest/kind.json';
/** Stores whose kind object was read or written by this process (it never changes: create-only). */
const knownKinds = new WeakMap<ObjectStore, RecordKind>();

/** The dataset's record kind (module comment): `kind` when it is, else INGEST_CONFLICT. */
export async function datasetKind(store: ObjectStore, kind: RecordKind, topic: string): Promise<void> {
  let found = knownKinds.get(store);
  if (found === undefined) {
    found = await readKind(store);
    if (found === undefined) {
      // First claim of the dataset (or of an ingest from before the object existed: its last marker's kind).
      const markers = (await store.list(`${COMMITS_PREFIX}ingest-`)).filter((o) => o.key.endsWith('.json'));
      const last = markers.sort((a, b) => (a.lastModified ?? 0) - (b.lastModified ?? 0)).at(-1)?.key;
      const initial = last === undefined ? kind : (parseJson<IngestMarker>(await store.get(last), last).ingest.kind ?? 'pageviews');
      try {
        await store.putIfAbsent(KIND_KEY, jsonBytes({ kind: initial }));
        found = initial;
      } catch (e) {
        if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
        found = (await readKind(store)) ?? initial;
      }
    }
    knownKinds.set(store, found);
  }
  if (found !== kind) {
    throw new DagctlError('INGEST_CONFLICT', `the dataset holds ${found} records (${KIND_KEY}); this ingester (topic ${topic}) converts ${kind}: ingest ${kind} into another dataset, or use --kind ${found}`, { topic, found, kind, key: KIND_KEY });
  }
}

async function readKind(store: ObjectStore): Promise<RecordKind | undefined> {
  try {
    return parseJson<{ kind: RecordKind }>(await store.get(KIND_KEY), KIND_KEY).kind;
  } catch (e) {
    if (isDagctlError(e, 'STORAGE_NOT_FOUND')) return undefined;
    throw e;
  }
}

/**
 * Claims [first, last] create-only, after the dataset's kind (datasetKind). When another claim already holds for `first` (a crashed
 * attempt, or a concurrent ingester), that claim is returned and the caller must batch exactly
 * its range instead.
 */
export async function claimRange(store: ObjectStore, claim: Claim): Promise<Claim> {
  await datasetKind(store, claim.kind ?? 'pageviews', claim.topic);
  const key = claimKey(claim.topic, claim.partition, claim.firstOffset);
  try {
    await store.putIfAbsent(key, jsonBytes(claim));
    return claim;
  } catch (e) {
    if (!isDagctlError(e, 'STORAGE_CONFLICT')) throw e;
    const held = parseJson<Claim>(await store.get(key), key);
    const [found, kind] = [held.kind ?? 'pageviews', claim.kind ?? 'pageviews'];
    if (found !== kind) throw kindConflict(claim.topic, claim.partition, found, kind, key);
    return held;
  }
}
