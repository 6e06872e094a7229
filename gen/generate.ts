/**
 * `generate(kind, opts, onProgress)`: writes a synthetic SuperWebAnalytics dataset.
 *
 * Layout: `date=YYYY-MM-DD/part-*.parquet` per day, rows split evenly over `days` days from
 * `start`, streamed in chunks through a DataFileWriter (memory bounded by the chunk and one file's
 * buffer, never by --rows). Each completed day gets a commit marker
 * `_commits/gen-<kind>-<date>-<seed>@<fp16>.json` whose fingerprint covers (kind, seed, date,
 * rows of the day, persons, generator version). Re-running the same day is a no-op (marker
 * found); asking for a day already generated with other parameters throws STORAGE_CONFLICT
 * instead of mixing two populations in one partition (checked for every day before anything is
 * written); appending new days never touches existing partitions.
 *
 * Pageviews with a codec that takes columns may be generated and encoded on `threads` worker
 * threads (gen/day-worker.ts; default 1: this thread only — on the shared 2-core box two threads
 * doubled the CPU time and lengthened the wall time, BENCHMARKS.md; at most one per day), days dealt
 * round-robin; this thread stores their files in day order and writes the markers, so the files,
 * their names and the markers are the same as a serial generation's.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../workers/threads/pool.js';
import { DagctlError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { fingerprint } from '../core/hash.js';
import { COMMITS_PREFIX } from '../storage/dataset/layout.js';
import { readCommitMarker, writeCommitMarker } from '../storage/dataset/markers.js';
import { DataFileWriter } from '../storage/dataset/writer.js';
import { defaultCodec, getCodec } from '../storage/parquet/registry.js';
import type { FileEntry, ObjectStore, ParquetCodec } from '../storage/types.js';
import { dayRows, type GenKind, GEN_KINDS, SCHEMAS } from './kinds.js';
import { pageviewBatches, batchRows, PageviewTables } from './columns.js';
import { PersonTable } from './persons.js';
import type { DayWorkerData, DayWorkerIn, DayWorkerOut } from './day-worker.js';

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
  /** Worker threads for pageviews (default 1 = this thread only). */
  threads?: number;
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
  const people = tables === null ? new PersonTable(opts.seed, persons) : null;
  // Every day's marker and conflicts first: a conflict refuses before anything is written.
  const todo: { d: number; date: string; rows: number; instanceId: string; fp: string }[] = [];
  const planned: ({ skipped: true; files: number } | null)[] = [];
  for (let d = 0; d < days; d++) {
    const date = new Date(t0 + d * 86_400_000).toISOString().slice(0, 10);
    const dayRowsN = Math.floor(opts.rows / days) + (d < opts.rows % days ? 1 : 0);
    const instanceId = `gen-${kind}-${date}-${opts.seed}`;
    const fp = fingerprint({ kind, seed: opts.seed, date, rows: dayRowsN, persons, version: GENERATOR_VERSION });
    const existing = await readCommitMarker(opts.store, instanceId, fp);
    if (existing !== null) {
      planned.push({ skipped: true, files: existing.files.length });
      continue;
    }
    const other = (await opts.store.list(`${COMMITS_PREFIX}gen-${kind}-${date}-`)).filter((o) => o.key.endsWith('.json'));
    if (other.length > 0) {
      throw new DagctlError('STORAGE_CONFLICT', `${kind} for ${date} was already generated with other parameters (${other.map((o) => o.key).join(', ')})`, { date, markers: other.map((o) => o.key) });
    }
    planned.push(null);
    todo.push({ d, date, rows: dayRowsN, instanceId, fp });
  }
  const maxRows = opts.maxRowsPerFile ?? 100_000;
  const threads = Math.min(opts.threads ?? 1, todo.length);
  const named = tables !== null && codec.encodeColumns !== undefined && getCodecOrNull(codec.name) === codec;
  const pool = threads > 1 && named ? new DayWorkers(threads, { seed: opts.seed, persons, maxRows, codec: codec.name }, todo) : null;
  try {
    let next = 0;
    for (let d = 0; d < days; d++) {
      const date = new Date(t0 + d * 86_400_000).toISOString().slice(0, 10);
      const plan = planned[d];
      if (plan !== null && plan !== undefined) {
        const dayRowsN = Math.floor(opts.rows / days) + (d < opts.rows % days ? 1 : 0);
        rowsDone += dayRowsN;
        result.days.push({ date, rows: dayRowsN, files: plan.files, skipped: true });
        onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d + 1, days });
        continue;
      }
      const t = todo[next++]!;
      const writer = new DataFileWriter({ store: opts.store, codec, schema: SCHEMAS[kind], folder: `date=${date}/`, salt: `${t.instanceId}@${t.fp}`, maxRows });
      const step = (rows: number): void => {
        rowsDone += rows;
        onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d, days });
      };
      const aborted = (): void => {
        if (opts.signal?.aborted === true) throw new DagctlError('TASK_CANCELLED', 'generation interrupted');
      };
      if (pool !== null) {
        // Pageviews encoded on a worker thread: stored here, in order.
        for (;;) {
          aborted();
          const f = await pool.next(next - 1);
          if (f === null) break;
          await writer.writeEncoded(f.bytes, f.rows);
          pool.ack(next - 1);
          step(f.rows);
        }
      } else if (tables !== null) {
        // Pageviews: column batches of one file each, straight into the flat writer's column input
        // (rows only for a codec without it).
        for (const batch of pageviewBatches({ seed: opts.seed, date, rows: t.rows, persons }, maxRows, tables)) {
          aborted();
          if (codec.encodeColumns !== undefined) await writer.writeColumns(batch);
          else await writer.write(batchRows(batch));
          step(batch.rows);
        }
      } else if (people !== null) {
        for (const chunk of dayRows({ kind, seed: opts.seed, date, rows: t.rows, persons }, 10_000, people)) {
          aborted();
          await writer.write(chunk);
          step(chunk.length);
        }
      }
      const files: FileEntry[] = await writer.close();
      await writeCommitMarker(opts.store, { instanceId: t.instanceId, fingerprint: t.fp, runId: `gen-${opts.seed}`, committedAt: new Date().toISOString(), files });
      result.days.push({ date, rows: t.rows, files: files.length, skipped: false });
      result.files += files.length;
      result.bytes += files.reduce((n, f) => n + f.bytes, 0);
      onProgress({ kind, date, rowsDone, rowsTotal: opts.rows, daysDone: d + 1, days });
    }
  } finally {
    await pool?.close();
  }
  result.rows = rowsDone;
  return result;
}

function getCodecOrNull(name: string): ParquetCodec | null {
  try {
    return getCodec(name);
  } catch {
    return null;
  }
}

/**
 * The worker threads of one parallel generation: job j of `todo` runs on thread j % n (each
 * thread takes its days in order); next(j) yields job j's files in order, then null.
 */
class DayWorkers {
  private readonly workers: Worker[] = [];
  private readonly queues: Exclude<DayWorkerOut, { type: 'error' }>[][] = [];
  private readonly waiters: ((() => void) | null)[] = [];
  private readonly failed: (DagctlError | null)[] = [];

  constructor(n: number, base: Omit<DayWorkerData, 'days'>, todo: { date: string; rows: number }[]) {
    for (let w = 0; w < n; w++) {
      const data: DayWorkerData = { ...base, days: todo.filter((_, j) => j % n === w).map(({ date, rows }) => ({ date, rows })) };
      const worker = startThread(new URL('./day-worker.js', import.meta.url), null, { workerData: data });
      this.queues.push([]);
      this.waiters.push(null);
      this.failed.push(null);
      const wake = (): void => {
        const f = this.waiters[w];
        this.waiters[w] = null;
        f?.();
      };
      worker.on('message', (m: DayWorkerOut) => {
        if (m.type === 'error') this.failed[w] = new DagctlError((ERROR_CODES as readonly string[]).includes(m.code) ? (m.code as ErrorCode) : 'INTERNAL', `generating pageviews on a worker thread: ${m.message}`);
        else this.queues[w]!.push(m);
        wake();
      });
      worker.on('error', (e) => {
        this.failed[w] = new DagctlError('INTERNAL', `gen worker thread failed: ${e.message}`);
        wake();
      });
      worker.on('exit', () => {
        this.failed[w] ??= this.queues[w]!.length === 0 ? new DagctlError('INTERNAL', 'gen worker thread exited early') : null;
        wake();
      });
      this.workers.push(worker);
    }
  }

  /** Job j's next file, or null once its day is done. */
  async next(j: number): Promise<{ bytes: Uint8Array; rows: number } | null> {
    const w = j % this.workers.length;
    const q = this.queues[w]!;
    while (q.length === 0) {
      const e = this.failed[w];
      if (e !== null && e !== undefined) throw e;
      await new Promise<void>((res) => (this.waiters[w] = res));
    }
    const m = q.shift()!;
    if (m.type === 'day') return null;
    return { bytes: m.bytes, rows: m.rows };
  }

  ack(j: number): void {
    const msg: DayWorkerIn = { type: 'ack' };
    this.workers[j % this.workers.length]!.postMessage(msg);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
