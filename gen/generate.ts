/**
 * `generate(kind, opts, onProgress)`: writes a synthetic SuperWebAnalytics dataset.
 *
 * Layout: `date=YYYY-MM-DD/part-*.parquet` per day, rows split evenly over `days` days from
 * `start`, streamed in chunks through a DataFileWriter (memory bounded by the chunk and one file's
 * buffer, never by --rows). Each completed day gets a commit marker
 * `_commits/gen-<kind>-<date>-<seed>@<fp16>.json` whose fingerprint covers (kind, seed, date,
 * rows of the day, persons, generator version). Re-running the same day is a no-op (marker
 * found); asking for a day already generated with other parameters throws STORAGE_CONFLICT
 * instead of mixing two populations in one partition; appending new days never touches
 * existing partitions.
 */
import { DagctlError } from '../core/errors.js';
import { fingerprint } from '../core/hash.js';
import { COMMITS_PREFIX } from '../storage/dataset/layout.js';
import { readCommitMarker, writeCommitMarker } from '../storage/dataset/markers.js';
import { DataFileWriter } from '../storage/dataset/writer.js';
import { defaultCodec } from '../storage/parquet/registry.js';
import type { FileEntry, ObjectStore, ParquetCodec } from '../storage/types.js';
import { dayRows, type GenKind, GEN_KINDS, SCHEMAS } from './kinds.js';
import { pageviewBatches, batchRows, PageviewTables } from './columns.js';
import { PersonTable } from './persons.js';

export const GENERATOR_VERSION = '2';

export interface GenerateOptions {
  store: ObjectStore;
  rows: number;
  seed: number;
  start?: string;
  days?: number;
  persons?: number;
  codec?: ParquetCodec;
  maxRowsPerFile?: number;
  signal?: AbortSignal;
}

export interface GenProgress {
  kind: GenKind;
  date: string;
  rowsDone: number;
  rowsTotal: number;
  daysDone: number;
  days: number;
}

export interface GenerateResult {
  kind: GenKind;
  rows: number;
  files: number;
  bytes: number;
  days: { date: string; rows: number; files: number; skipped: boolean }[];
}

export async function generate(kind: GenKind, opts: GenerateOptions, onProgress: (p: GenProgress) => void = () => undefined): Promise<GenerateResult> {
  if (!GEN_KINDS.includes(kind)) throw new DagctlError('USAGE', `unknown kind "${String(kind)}"`);
  const start = opts.start ?? '2024-01-01';
  const days = opts.days ?? 1;
  const persons = opts.persons ?? 10_000;
  if (!Number.isSafeInteger(opts.rows) || opts.rows < 0) throw new DagctlError('USAGE', '--rows must be a non-negative integer');
  if (!Number.isInteger(days) || days < 1) throw new DagctlError('USAGE', '--days must be a positive integer');
  if (!Number.isInteger(persons) || persons < 1) throw new DagctlError('USAGE', '--persons must be a positive integer');
  if (!Number.isInteger(opts.seed) || opts.seed < 0) throw new DagctlError('USAGE', '--seed must be a non-negative integer');
  const t0 = Date.parse(`${start}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(t0)) throw new DagctlError('USAGE', `--start must be YYYY-MM-DD, got "${start}"`);
  const codec = opts.codec ?? defaultCodec();
  const result: GenerateResult = { kind, rows: 0, files: 0, bytes: 0, days: [] };
  let rowsDone = 0;
  const tables = kind === 'pageviews' ? new PageviewTables(opts.seed, persons) : null;
  const people = tables?.people ?? new PersonTable(opts.seed, persons);
  for (let d = 0; d < days; d++) {
    const date = new Date(t0 + d * 86_400_000).toISOString().slice(0, 10);
    const dayRowsN = Math.floor(opts.rows / days) + (d < opts.rows % days ? 1 : 0);
    const instanceId = `gen-${kind}-${date}-${opts.seed}`;
    const fp = fingerprint({ kind, seed: opts.seed, date, rows: dayRowsN, persons, version: GENERATOR_VERSION });
    const existing = await readCommitMarker(opts.store, instanceId, fp);
    if (existing !== null) {
      rowsDone += dayRowsN;
      result.days.push({ date, rows: dayRowsN, files: existing.files.length, skipped: true });
      onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d + 1, days });
      continue;
    }
    const other = (await opts.store.list(`${COMMITS_PREFIX}gen-${kind}-${date}-`)).filter((o) => o.key.endsWith('.json'));
    if (other.length > 0) {
      throw new DagctlError('STORAGE_CONFLICT', `${kind} for ${date} was already generated with other parameters (${other.map((o) => o.key).join(', ')})`, { date, markers: other.map((o) => o.key) });
    }
    const maxRows = opts.maxRowsPerFile ?? 100_000;
    const writer = new DataFileWriter({ store: opts.store, codec, schema: SCHEMAS[kind], folder: `date=${date}/`, salt: `${instanceId}@${fp}`, maxRows });
    if (tables !== null) {
      // Pageviews: column batches of one file each, straight into the flat writer's column input
      // (rows only for a codec without it).
      for (const batch of pageviewBatches({ seed: opts.seed, date, rows: dayRowsN, persons }, maxRows, tables)) {
        if (opts.signal?.aborted === true) throw new DagctlError('TASK_CANCELLED', 'generation interrupted');
        if (codec.encodeColumns !== undefined) await writer.writeColumns(batch);
        else await writer.write(batchRows(batch));
        rowsDone += batch.rows;
        onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d, days });
      }
    }
    for (const chunk of tables !== null ? [] : dayRows({ kind, seed: opts.seed, date, rows: dayRowsN, persons }, 10_000, people)) {
      if (opts.signal?.aborted === true) throw new DagctlError('TASK_CANCELLED', 'generation interrupted');
      await writer.write(chunk);
      rowsDone += chunk.length;
      onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d, days });
    }
    const files: FileEntry[] = await writer.close();
    await writeCommitMarker(opts.store, { instanceId, fingerprint: fp, runId: `gen-${opts.seed}`, committedAt: new Date().toISOString(), files });
    result.days.push({ date, rows: dayRowsN, files: files.length, skipped: false });
    result.files += files.length;
    result.bytes += files.reduce((n, f) => n + f.bytes, 0);
    onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d + 1, days });
  }
  result.rows = rowsDone;
  return result;
}
