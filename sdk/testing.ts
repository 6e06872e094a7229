/**
 * `dagctl/testing`: an in-memory executor of an operator's stages, built to the contract in
 * operators/types.ts, so operator tests (the project's own and operator authors') run the real
 * stage code without the engine:
 *  - params parsed with the operator's zod schema (defaults applied);
 *  - 'partition' stages: one instance per partition of inputs[0] (sorted; a single instance with
 *    partition '' when inputs[0] is unpartitioned), inputs[0] narrowed to that partition;
 *    'bucket': B instances reading bucket b of every instance of the prior stage/round;
 *    'single': one instance;
 *  - iterative stages repeat while Σ metrics[iterate.metric] > 0, up to maxRounds;
 *  - shuffles, blobs and outputs kept in memory; every written row is checked against the schema
 *    it was opened with (exact columns, types, nullability) and open() twice throws;
 *  - outputs[i].previous() returns the given previous version (rows, or files with deletion
 *    vectors: a merge-on-read version) or null, counting the rows streamed from it
 *    (previousRowsRead); outputs are only given to stages with writesOutputs; an output's carry()
 *    takes a previous file into the result (its live rows join `rows`, the file joins `files`);
 *  - batches are small (batchSize, default 7) to exercise batch boundaries;
 *  - rawFiles(): partitions of an input given with an explicit `schema` (one file per partition,
 *    for the partition's instance and for whole-input handles alike), and previous() versions,
 *    also hand out Parquet files (hyparquet codec; previous versions split into files of
 *    `fileRows`, default 3 rows) so late-materializing / per-file readers run on real bytes; with
 *    priorRawFiles, prior-stage handles hand out one DGSH shuffle file per prior instance.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DagctlError } from '../core/errors.js';
import { fingerprint } from '../core/hash.js';
import { buildBundle } from '../operators/modules/bundle.js';
import { loadBundle } from '../operators/modules/load.js';
import { encodeDeletes } from '../storage/dataset/deletes.js';
import type { ColumnBatch, Row, Schema, Value } from '../storage/types.js';
import { createHyparquetCodec } from '../storage/parquet/hyparquet.js';
import { encodeShuffle } from '../storage/shuffle/format.js';
import type {
  AnyOperator, RawFile, VersionFile, InputHandle, OperatorDef, OutputHandle, OutputWriter, PriorStage, ShuffleOutput, StageContext, StageResult, StageSpec,
} from '../operators/types.js';

/**
 * `schema`: what the input's schema() reports (its Parquet footer); default: inferred from rows.
 * `rawBytes`: rewrites each rawFiles() file's encoded bytes (to plant what no writer of rows
 * would write, e.g. a string value that is not UTF-8); the rows read through batches() stay as given.
 */
export type MemInput =
  | { name?: string; rows: Row[]; schema?: Schema }
  | { name?: string; partitions: Record<string, Row[]>; schema?: Schema; rawBytes?: (bytes: Uint8Array) => Uint8Array }
  | { name?: string; lines: string[] };

/** A view version as files, each with the row positions the version has deleted from it. */
export interface MemVersion { files: Array<{ rows: Row[]; deleted?: number[]; carriedFrom?: number }> }

export interface RunOptions {
  inputs: MemInput[];
  /** Number of declared outputs (default: the operator's outputs.min). */
  outputs?: number;
  /** previous() version per output: rows (split into files of fileRows) or files (null/absent: none). */
  previous?: Array<Row[] | MemVersion | null>;
  /** The schema previous() files are written with, per output (default: inferred, every field nullable). */
  previousSchemas?: Array<Schema | undefined>;
  buckets?: number;
  batchSize?: number;
  /** Rows per Parquet file handed out by previous() handles' rawFiles() (default 3). */
  fileRows?: number;
  /**
   * Prior-stage handles (prior.bucket(b), all(), stageOutput()) also hand out rawFiles(): one DGSH
   * shuffle file per prior instance, as the task runner's do (default false: rows only).
   */
  priorRawFiles?: boolean;
  /**
   * Output writers also take writeColumns(): each batch is encoded by the flat codec's
   * encodeColumns and read back with hyparquet into the collected rows (default false: rows only).
   */
  columnOutputs?: boolean;
  /** The stages' abort signal (default: never aborted): to test how an operator handles a cancel. */
  signal?: AbortSignal;
}

export interface InstanceRecord { stage: string; round: number; partition: string; bucket: number; metrics: Record<string, number> }

export interface RunResult {
  /** rows: the output version's live rows; files: it as a version (one file per writing instance, then carried files). */
  outputs: Array<{ schema: Schema | null; rows: Row[]; files: MemVersion['files'] }>;
  /** Metrics summed over every instance of every stage and round. */
  metrics: Record<string, number>;
  instances: InstanceRecord[];
  /** Rounds run per stage name. */
  rounds: Record<string, number>;
  /** Rows streamed from previous() handles, over every instance (read amplification checks). */
  previousRowsRead: number;
}

function approxBytes(rows: Row[]): number {
  let n = 0;
  for (const r of rows) for (const v of Object.values(r)) n += v instanceof Uint8Array ? v.length : typeof v === 'string' ? v.length : 8;
  return n;
}

/** Column types as the in-memory rows suggest them (the harness has no Parquet footer to read). */
function inferSchema(rows: Row[]): Schema | null {
  const first = rows[0];
  if (first === undefined) return null;
  return Object.entries(first).map(([name, v]) => ({
    name,
    type: v instanceof Uint8Array ? 'bytes' : typeof v === 'number' ? (Number.isInteger(v) ? 'int64' : 'double') : typeof v === 'boolean' ? 'boolean' : 'string',
    nullable: true,
  }));
}

const codec = createHyparquetCodec();
const flatCodec = createHyparquetCodec({ writer: 'flat', name: 'flat' });

/** The rows as Parquet files of at most `fileRows` rows each (lazily encoded). */
export function memRawFiles(rows: Row[], schema: Schema, fileRows: number, onRead: (rows: number) => void = () => undefined, rewrite: (bytes: Uint8Array) => Uint8Array = (b) => b): RawFile[] {
  const files: RawFile[] = [];
  for (let i = 0; i < rows.length; i += fileRows) {
    const part = rows.slice(i, i + fileRows);
    files.push({ path: `part-${files.length}.parquet`, bytes: approxBytes(part), read: async () => { onRead(part.length); return rewrite(await codec.encode(schema, part)); } });
  }
  return files;
}

export function memInput(name: string, rows: Row[], batchSize: number, lines: string[] = [], schema?: Schema, rawFiles?: () => RawFile[]): InputHandle {
  return {
    ...(rawFiles === undefined ? {} : { rawFiles }),
    name,
    async schema(): Promise<Schema | null> {
      return schema ?? inferSchema(rows);
    },
    bytes: approxBytes(rows) + lines.reduce((a, l) => a + l.length + 1, 0),
    rows: rows.length + lines.length,
    files: 1,
    async *batches(opts?: { columns?: string[] }): AsyncIterable<Row[]> {
      for (let i = 0; i < rows.length; i += batchSize) {
        const slice = rows.slice(i, i + batchSize);
        const cols = opts?.columns;
        yield cols === undefined ? slice.map((r) => ({ ...r })) : slice.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])));
      }
    },
    async *lines(): AsyncIterable<string[]> {
      for (let i = 0; i < lines.length; i += batchSize) yield lines.slice(i, i + batchSize);
    },
  };
}

function checkRow(schema: Schema, row: Row, where: string): void {
  const names = Object.keys(row);
  if (names.length !== schema.length || schema.some((f) => !(f.name in row))) {
    throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: columns [${names.join(',')}] ≠ schema [${schema.map((f) => f.name).join(',')}]`);
  }
  for (const f of schema) {
    const v: Value | undefined = row[f.name];
    const ok =
      v === null ? f.nullable === true
      : f.type === 'string' ? typeof v === 'string'
      : f.type === 'int64' || f.type === 'int32' ? typeof v === 'number' && Number.isSafeInteger(v)
      : f.type === 'double' ? typeof v === 'number'
      : f.type === 'boolean' ? typeof v === 'boolean'
      : v instanceof Uint8Array;
    if (!ok) throw new DagctlError('DATASET_SCHEMA_MISMATCH', `${where}: column ${f.name} (${f.type}) got ${String(v)}`);
  }
}

interface StageOutput {
  /** Per instance: per bucket rows. */
  shuffles: Row[][][];
  blobs: Array<Map<string, Uint8Array>>;
  /** The schema the stage's shuffle was opened with (what its Parquet files would carry). */
  schema?: Schema;
}

/** One DGSH file per prior instance's rows (instances without rows: no file). */
function shuffleRawFiles(perInstance: Row[][], schema: Schema | undefined): RawFile[] {
  const files: RawFile[] = [];
  if (schema === undefined) return files;
  perInstance.forEach((rows, i) => {
    if (rows.length === 0) return;
    const bytes = encodeShuffle(schema, rows);
    files.push({ path: `prior-${i}.dgsh`, bytes: bytes.length, read: () => Promise.resolve(bytes) });
  });
  return files;
}

function priorOf(out: StageOutput, B: number, batchSize: number, raw: boolean): PriorStage {
  return {
    bucket(b: number): InputHandle {
      if (!Number.isInteger(b) || b < 0 || b >= B) throw new DagctlError('INTERNAL', `prior.bucket(${b}) out of range`);
      const rows = out.shuffles.flatMap((s) => s[b] ?? []);
      const files = raw ? (): RawFile[] => shuffleRawFiles(out.shuffles.map((s) => s[b] ?? []), out.schema) : undefined;
      return memInput(`prior-bucket-${b}`, rows, batchSize, [], rows.length > 0 ? out.schema : undefined, files);
    },
    all(): InputHandle {
      const rows = out.shuffles.flatMap((s) => s.flat());
      const files = raw ? (): RawFile[] => shuffleRawFiles(out.shuffles.map((s) => s.flat()), out.schema) : undefined;
      return memInput('prior-all', rows, batchSize, [], rows.length > 0 ? out.schema : undefined, files);
    },
    blobs(name: string): Uint8Array[] {
      return out.blobs.flatMap((m) => (m.has(name) ? [m.get(name)!] : []));
    },
  };
}

export async function runOperator<P>(op: OperatorDef<P>, rawParams: unknown, opts: RunOptions): Promise<RunResult> {
  const parsed = op.params.safeParse(rawParams);
  if (!parsed.success) throw new DagctlError('OPERATOR_PARAMS_INVALID', parsed.error.message);
  const params = parsed.data;
  const batchSize = opts.batchSize ?? 7;
  const rawB = (params as { buckets?: unknown }).buckets;
  const B = typeof rawB === 'number' ? rawB : opts.buckets ?? 4;
  const nOut = opts.outputs ?? op.outputs.min;
  if (opts.inputs.length < op.inputs.min || opts.inputs.length > op.inputs.max) throw new DagctlError('OPERATOR_INPUT_INVALID', 'input count');
  const inputName = (i: number): string => opts.inputs[i]!.name ?? `in${i}`;
  const wholeInput = (i: number): InputHandle => {
    const inp = opts.inputs[i]!;
    if ('lines' in inp) return memInput(inputName(i), [], batchSize, inp.lines);
    if ('rows' in inp) return memInput(inputName(i), inp.rows, batchSize, [], inp.schema);
    // As the engine's handles: with a schema, one Parquet file per partition (in batch order).
    const parts = Object.keys(inp.partitions).sort(), schema = inp.schema;
    const raw = schema === undefined ? undefined : () => parts.flatMap((k) => memRawFiles(inp.partitions[k]!, schema, Math.max(1, inp.partitions[k]!.length), undefined, inp.rawBytes));
    const h = memInput(inputName(i), parts.flatMap((k) => inp.partitions[k]!), batchSize, [], schema, raw);
    if (raw === undefined) return h;
    // As the engine's entries: each file's path in its partition and a content hash (sha256), for
    // operators that record which files they read.
    const versions = (): VersionFile[] => parts.flatMap((k) => memRawFiles(inp.partitions[k]!, schema!, Math.max(1, inp.partitions[k]!.length), undefined, inp.rawBytes).map((f): VersionFile => {
      const path = `${k}/${f.path}`;
      return { path, bytes: f.bytes, read: f.read, entry: { path, rows: inp.partitions[k]!.length, bytes: f.bytes, sha256: fingerprint(inp.partitions[k]) }, deleted: null };
    }));
    return { ...h, filesWithDeletes: versions };
  };
  const collected: RunResult['outputs'] = Array.from({ length: nOut }, () => ({ schema: null, rows: [], files: [] }));
  const instances: InstanceRecord[] = [];
  const metrics: Record<string, number> = {};
  const rounds: Record<string, number> = {};
  const stages: StageSpec[] = op.stages(params, { inputs: opts.inputs.length });
  let prior: StageOutput | null = null;
  const byStage = new Map<string, StageOutput>();
  let previousRowsRead = 0;
  const versionOf = (i: number): MemVersion | null => {
    const prev = opts.previous?.[i];
    if (prev === null || prev === undefined) return null;
    if (!Array.isArray(prev)) return prev;
    const per = opts.fileRows ?? 3, files: MemVersion['files'] = [];
    for (let k = 0; k < prev.length; k += per) files.push({ rows: prev.slice(k, k + per) });
    return { files };
  };
  const previousOf = async (i: number): Promise<InputHandle | null> => {
    const version = versionOf(i);
    if (version === null) return null;
    const live = version.files.flatMap((f) => f.rows.filter((_, k) => !(f.deleted ?? []).includes(k)));
    const h = memInput(`previous-${i}`, live, batchSize);
    const schema = opts.previousSchemas?.[i] ?? inferSchema(live) ?? inferSchema(version.files.flatMap((f) => f.rows));
    const deletedRows = version.files.reduce((n, f) => n + (f.deleted?.length ?? 0), 0);
    const versionFiles = (): VersionFile[] => (schema === null ? [] : version.files.map((f, k) => {
      const rows = f.rows;
      const deleted = f.deleted === undefined || f.deleted.length === 0 ? null : Int32Array.from(f.deleted);
      const entry = { path: `part-${k}.parquet`, rows: rows.length, bytes: approxBytes(rows), sha256: `mem-${k}`, ...(deleted === null ? {} : { deletes: encodeDeletes(deleted) }) };
      return { path: entry.path, bytes: entry.bytes, entry, deleted, read: async () => { previousRowsRead += rows.length - (deleted?.length ?? 0); return codec.encode(schema, rows); } };
    }));
    return {
      ...h,
      files: version.files.length,
      deletedRows,
      ...(deletedRows > 0 ? {} : { rawFiles: (): RawFile[] => versionFiles() }),
      filesWithDeletes: versionFiles,
      async *batches(o?: { columns?: string[] }): AsyncIterable<Row[]> {
        for await (const b of h.batches(o)) {
          previousRowsRead += b.length;
          yield b;
        }
      },
    };
  };
  for (let si = 0; si < stages.length; si++) {
    const stage = stages[si]!;
    const maxRounds = stage.iterate?.maxRounds ?? 1;
    for (let round = 1; round <= maxRounds; round++) {
      // Instances of this stage (or round).
      const units: Array<{ partition: string; bucket: number; inputs: InputHandle[] }> = [];
      const all = opts.inputs.map((_, i) => wholeInput(i));
      if (stage.fanout === 'partition') {
        const first = opts.inputs[0];
        if (first !== undefined && 'partitions' in first) {
          for (const part of Object.keys(first.partitions).sort()) {
            const rows = first.partitions[part]!, schema = first.schema, rewrite = first.rawBytes;
            const raw = schema === undefined ? undefined : () => memRawFiles(rows, schema, Math.max(1, rows.length), undefined, rewrite);
            units.push({ partition: part, bucket: -1, inputs: [memInput(inputName(0), rows, batchSize, [], schema, raw), ...all.slice(1)] });
          }
        } else units.push({ partition: '', bucket: -1, inputs: all });
      } else if (stage.fanout === 'bucket') {
        for (let b = 0; b < B; b++) units.push({ partition: '', bucket: b, inputs: all });
      } else units.push({ partition: '', bucket: -1, inputs: all });

      const out: StageOutput = { shuffles: [], blobs: [] };
      let metricSum = 0;
      for (const u of units) {
        const shuffleRows: Row[][] = Array.from({ length: B }, () => []);
        const blobs = new Map<string, Uint8Array>();
        let shuffleOpened = false;
        const shuffle: ShuffleOutput = {
          buckets: B,
          open(schema: Schema) {
            if (shuffleOpened) throw new DagctlError('INTERNAL', 'shuffle opened twice');
            shuffleOpened = true;
            out.schema ??= schema;
            return {
              buckets: B,
              async write(bucket: number, rows: Row[]) {
                if (!Number.isInteger(bucket) || bucket < 0 || bucket >= B) throw new DagctlError('INTERNAL', `shuffle bucket ${bucket} out of range`);
                for (const r of rows) checkRow(schema, r, `${op.name}/${stage.name} shuffle`);
                shuffleRows[bucket]!.push(...rows);
              },
            };
          },
        };
        const outputs: OutputHandle[] = stage.writesOutputs === true
          ? collected.map((c, i) => {
              let opened = false;
              let file: Row[] | null = null;
              return {
                name: `out${i}`,
                open(schema: Schema) {
                  if (opened) throw new DagctlError('INTERNAL', `output ${i} opened twice by one instance`);
                  opened = true;
                  c.schema ??= schema;
                  const w: OutputWriter = {
                    async write(rows: Row[]) {
                      for (const r of rows) checkRow(schema, r, `${op.name}/${stage.name} output ${i}`);
                      c.rows.push(...rows);
                      if (file === null) c.files.push({ rows: (file = []) });
                      file.push(...rows);
                    },
                    async carry(f: VersionFile, deleted: Int32Array) {
                      // As the task runner's OutputBinding: a file of the previous version, its deletions only widened.
                      const k = Number(/^part-(\d+)\.parquet$/.exec(f.entry.path)?.[1] ?? -1);
                      const prev = versionOf(i)?.files[k];
                      if (prev === undefined) throw new DagctlError('INTERNAL', `carried ${f.entry.path} is not in the previous version`);
                      const del = [...deleted];
                      if (del.some((p, j) => !Number.isInteger(p) || p < 0 || p >= prev.rows.length || (j > 0 && p <= del[j - 1]!))) throw new DagctlError('INTERNAL', `bad deletion vector for ${f.entry.path}`);
                      if ((prev.deleted ?? []).some((p) => !del.includes(p))) throw new DagctlError('INTERNAL', `carrying ${f.entry.path} would restore a deleted row`);
                      if (c.files.some((x) => x.carriedFrom === k)) throw new DagctlError('INTERNAL', `${f.entry.path} carried twice`);
                      c.files.push({ rows: prev.rows, deleted: del, carriedFrom: k });
                      c.rows.push(...prev.rows.filter((_, j) => !del.includes(j)));
                    },
                  };
                  if (opts.columnOutputs === true) {
                    w.writeColumns = async (batch: ColumnBatch) => {
                      const bytes = await flatCodec.encodeColumns!(schema, batch);
                      for await (const rows of flatCodec.decode(bytes)) await w.write(rows);
                    };
                  }
                  return w;
                },
                previous: () => previousOf(i),
              };
            })
          : [];
        const ctx: StageContext<P> = {
          params, stage, stageIndex: si, round, partition: u.partition, bucket: u.bucket, buckets: B,
          inputs: u.inputs, outputs, shuffle,
          prior: prior === null ? null : priorOf(prior, B, batchSize, opts.priorRawFiles === true),
          stageOutput(name: string) {
            const o = byStage.get(name);
            return o === undefined ? null : priorOf(o, B, batchSize, opts.priorRawFiles === true);
          },
          previous: previousOf,
          putBlob(name: string, bytes: Uint8Array) { blobs.set(name, bytes.slice()); },
          attempt: 1,
          signal: opts.signal ?? new AbortController().signal,
          log() {},
        };
        const res: StageResult = await op.run(ctx);
        const m = res.metrics ?? {};
        instances.push({ stage: stage.name, round, partition: u.partition, bucket: u.bucket, metrics: m });
        for (const [k, v] of Object.entries(m)) metrics[k] = (metrics[k] ?? 0) + v;
        if (stage.iterate !== undefined) metricSum += m[stage.iterate.metric] ?? 0;
        out.shuffles.push(shuffleRows);
        out.blobs.push(blobs);
      }
      prior = out;
      byStage.set(stage.name, out);
      rounds[stage.name] = round;
      if (stage.iterate === undefined || metricSum <= 0) break;
    }
  }
  return { outputs: collected, metrics, instances, rounds, previousRowsRead };
}

/** Convenience for the registry's erased type. */
export function runAny(op: AnyOperator, rawParams: unknown, opts: RunOptions): Promise<RunResult> {
  return runOperator(op, rawParams, opts);
}

/** Sorts rows by their JSON (bytes as arrays) for order-insensitive comparison. */
export function sortRows(rows: Row[]): Row[] {
  const key = (r: Row): string => JSON.stringify(Object.keys(r).sort().map((k) => { const v = r[k]; return v instanceof Uint8Array ? [...v] : v; }));
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Loads an operator module (TypeScript or JavaScript) the way a run does — bundled with its local
 * imports and transpiled by dagctl (operators/modules/) — for tests: `await loadOperator(new
 * URL('./my-op.ts', import.meta.url))`. A module that fails to import or exports no operator throws
 * OPERATOR_MODULE_FAILED / OPERATOR_INVALID.
 */
export async function loadOperator(file: string | URL): Promise<AnyOperator> {
  const abs = path.resolve(file instanceof URL ? fileURLToPath(file) : file);
  const name = 'module-under-test';
  const built = await buildBundle(abs, '', { [name]: `./${path.basename(abs)}` });
  const failed = built.failures[name];
  if (failed !== undefined) throw new DagctlError(failed.code, failed.message, { module: abs });
  const loaded = (await loadBundle(built.bundle, built.refs)).get(name);
  if (loaded === undefined || !loaded.ok) throw new DagctlError(loaded?.code ?? 'OPERATOR_MODULE_FAILED', loaded?.ok === false ? loaded.message : `cannot load ${abs}`, { module: abs });
  return { ...loaded.op, name: path.basename(abs).replace(/\.[cm]?[jt]sx?$/, '') };
}
