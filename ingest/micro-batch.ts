/**
 * Committing one micro-batch — one topic-partition's fixed offset range — to a date-partitioned
 * master dataset, exactly once:
 *
 *   commitBatch(store, codec, batch, opts) → { outcome: 'committed' | 'skipped', marker }
 *                                          | { outcome: 'reclaimed', claim }
 *
 *   1. marker `ingest-<topic>-p<p>-<first>-<last>` already there → 'skipped' (a replay; no write).
 *   2. claim [first, last] (ingest/offsets.ts). Another range holds the claim → 'reclaimed': the
 *      caller must re-cut its batch to that claim's range and call again.
 *   3. convert records with the batch's record kind (ingest/records.ts); valid rows → create-only Parquet files in
 *      `date=YYYY-MM-DD/` (DataFileWriter, salt = batch id + fingerprint, rows in offset order, so
 *      a redo writes the same names and bytes); rejects → `_rejects/<batch id>/` (REJECT_SCHEMA).
 *   4. ONE commit marker listing the data files, with the offsets and reject counts (IngestInfo).
 *      This is the commit point: before it the files are invisible to marker-based readers.
 * A crash anywhere before 4 leaves a claim and maybe files; the restart redoes the same range and
 * adopts the same files. A crash after 4 is seen as 'skipped'.
 * Preconditions: messages are exactly the records of [first, last] in offset order (gaps allowed),
 * i.e. the caller never passes a partial range.
 */
import { DagctlError } from '../core/errors.js';
import { DataFileWriter } from '../storage/dataset/writer.js';
import { readCommitMarker, writeCommitMarker } from '../storage/dataset/markers.js';
import { dateFolder } from '../storage/dataset/layout.js';
import type { FileEntry, ObjectStore, ParquetCodec, Row } from '../storage/types.js';
import { batchFingerprint, batchId, claimRange, type Claim, type IngestMarker } from './offsets.js';
import { recordKind, REJECT_SCHEMA, type RecordKind } from './records.js';

export interface IngestRecord {
  offset: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

export interface BatchInput {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  records: IngestRecord[];
  /** How values become rows (default 'pageviews'). */
  kind?: RecordKind;
}

export type BatchStep = 'claimed' | 'files-written' | 'marker-written';

export interface CommitBatchOptions {
  runId: string;
  /** Rows per data file (default 100,000, the writer's default). */
  maxRowsPerFile?: number;
  /** Called after each protocol step (tests inject crashes here). */
  onStep?: (step: BatchStep, id: string) => void | Promise<void>;
}

export type BatchResult = { outcome: 'committed' | 'skipped'; marker: IngestMarker } | { outcome: 'reclaimed'; claim: Claim };

export async function commitBatch(store: ObjectStore, codec: ParquetCodec, b: BatchInput, opts: CommitBatchOptions): Promise<BatchResult> {
  const { topic, partition, firstOffset: first, lastOffset: last } = b;
  const kind = b.kind ?? 'pageviews';
  const def = recordKind(kind);
  const id = batchId(topic, partition, first, last);
  const fp = batchFingerprint(topic, partition, first, last, kind);
  const bad = b.records.find((r, i) => r.offset < first || r.offset > last || (i > 0 && r.offset <= (b.records[i - 1] as IngestRecord).offset));
  if (bad !== undefined || b.records[0]?.offset !== first || b.records.at(-1)?.offset !== last) {
    throw new DagctlError('INTERNAL', `batch ${id} records do not span [${first}, ${last}] in order`, { id });
  }
  const existing = await readCommitMarker(store, id, fp);
  if (existing !== null) return { outcome: 'skipped', marker: existing as IngestMarker };

  const claim = await claimRange(store, { batchId: id, topic, partition, firstOffset: first, lastOffset: last, ...(kind === 'pageviews' ? {} : { kind }) });
  if (claim.lastOffset !== last) return { outcome: 'reclaimed', claim };
  await opts.onStep?.('claimed', id);

  const byDate = new Map<string, Row[]>();
  const rejectRows: Row[] = [];
  const rejects: Record<string, number> = {};
  for (const r of b.records) {
    const c = def.convert(r.value);
    if (c.ok) {
      let rows = byDate.get(c.date);
      if (rows === undefined) byDate.set(c.date, (rows = []));
      rows.push(c.row);
    } else {
      rejects[c.reason] = (rejects[c.reason] ?? 0) + 1;
      rejectRows.push({ offset: r.offset, reason: c.reason, key: r.key, value: r.value });
    }
  }
  const salt = `${id}@${fp}`;
  const files: FileEntry[] = [];
  let rows = 0;
  for (const date of [...byDate.keys()].sort()) {
    const dayRows = byDate.get(date) as Row[];
    const w = new DataFileWriter({ store, codec, schema: def.schema, folder: dateFolder(date), salt, maxRows: opts.maxRowsPerFile ?? 100_000 });
    await w.write(dayRows);
    files.push(...(await w.close()));
    rows += dayRows.length;
  }
  let rejectFiles: FileEntry[] = [];
  if (rejectRows.length > 0) {
    // Under '_': invisible to listSource and to anything reading data files.
    const w = new DataFileWriter({ store, codec, schema: REJECT_SCHEMA, folder: `_rejects/${id}/`, salt });
    await w.write(rejectRows);
    rejectFiles = await w.close();
  }
  await opts.onStep?.('files-written', id);

  const marker: IngestMarker = {
    instanceId: id,
    fingerprint: fp,
    runId: opts.runId,
    committedAt: new Date().toISOString(),
    files,
    ingest: { ...(kind === 'pageviews' ? {} : { kind }), topic, partition, firstOffset: first, lastOffset: last, records: b.records.length, rows, rejects, rejectFiles },
  };
  // First commit wins: a concurrent writer of the same range wrote the same files, so either
  // marker describes the same data.
  const won = (await writeCommitMarker(store, marker)) as IngestMarker;
  await opts.onStep?.('marker-written', id);
  return { outcome: won === marker ? 'committed' : 'skipped', marker: won };
}
