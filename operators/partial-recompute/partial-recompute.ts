/**
 * partial-recompute: the birthday view (lib/birthday.ts) over master ages (inputs[0]) plus a new
 * batch of age samples (inputs[1]), recomputing only the persons with new samples (the book's
 * partial recomputation) — or everything (`mode: full`, or `auto` when lib/partial-plan.ts says
 * full is cheaper). Samples are a set: a sample present in both inputs counts once, so the result
 * is the same whether or not the batch was already appended to the master.
 *
 * Contract: a partial run's view equals a full recompute's, row for row (property-tested); a
 * partial run without a previous view is a full one (metric fallbackFull). Output: BIRTHDAY_SCHEMA,
 * one row per person.
 *
 * Stages:
 *   'plan'      ('single'): one pass over the new batch: its distinct persons → a split-block
 *               Bloom filter (lib/split-bloom.ts, blob 'bloom'), the mode (blob 'plan'; `auto`
 *               weighs partial vs full with the old view's exact row count, ctx.previous(0)), and
 *               for partial: R recompute buckets for the fetched rows (blob 'route') and C
 *               instances copying the old view (blob 'copy'), both sized by rows, and the view
 *               update (blob 'update'). It narrows the fan-out (StageResult.narrow: recompute
 *               instances b < max(R, C) only). With R = 1 and at most fuseScanRows master rows the
 *               run is fused (blob 'fuse'): every fetch instance is pruned, the plan writes no
 *               shuffle (recompute instance 0 reads the batch itself); otherwise the samples are
 *               shuffled by bucket(person) — to one file when the mode is known up front.
 *   'fetch'     ('partition' over the master): partial: the rows whose person passes the filter
 *               (the Bloom join), by a late-materializing scan (lib/late-scan.ts: the person
 *               column probed as raw UTF-8 bytes in place, age/ts decoded only for row groups with
 *               hits, rows only for hits); full: every row. Shuffled by bucket(person).
 *   'recompute' ('bucket', writes the view): the bucket's new samples and fetched rows (false
 *               positives dropped) → its persons' birthdays (lib/sample-table.ts: typed arrays per
 *               person, allocation-free inference; fetched rows read column at a time by
 *               lib/shuffle-samples.ts). Fused: instance 0 probes the master's persons against
 *               the exact set of new persons in the page kernel (KernelKeys: hits come back as
 *               ids) and gathers their age/ts there. Partial: instance b < R recomputes the
 *               persons routed to b; instance b < C carries the old view's unaffected rows from
 *               its files f ≡ b (mod C) — by merge-on-read (the old files listed again with
 *               deletion vectors for the affected persons' rows, OutputWriter.carry,
 *               lib/key-rows.ts reading the person column only; the recomputed rows a new file)
 *               or by rewriting them (lib/view-copy.ts in column form when the output takes
 *               columns, else rows); `viewUpdate: auto` merges on read until maxViewFiles or
 *               maxDeletedFraction, then rewrites (compaction). A view with a Delta log cannot
 *               publish deletion vectors, so its partial runs rewrite. The affected persons
 *               (whose old rows are dropped, whatever file holds them) are exactly the new
 *               batch's persons. Instances beyond max(R, C) return at once.
 */
import { bucketOf, fnv1a32 } from '../../core/hash.js';
import type { Row, Schema } from '../../storage/types.js';
import type { OperatorDef, StageContext, StageResult } from '../types.js';
import { SplitBlockBloom } from './split-bloom.js';
import { KernelKeys } from '../../storage/parquet/page-kernel.js';
import { BucketedWriter, ChunkedWriter, int, str } from '../lib/rows.js';
import { threadTimes, timesSince } from '../../core/thread-cpu.js';
import { lateScanColumns, type HitColumns, type LateScanOptions, type LateScanStats } from './late-scan.js';
import { decodeWithFallback, defaultCodec } from '../../storage/parquet/registry.js';
import { withUtf8File } from '../../storage/parquet/utf8.js';
import { SampleTable } from './sample-table.js';
import { addShuffleSamples } from './shuffle-samples.js';
import { choosePartialOrFull } from './partial-plan.js';
import { copyThrough, type CopyFile, type CopyResult } from './view-copy.js';
import { keyRows } from './key-rows.js';
import { decodeLive } from '../../storage/dataset/read.js';
import { unionDeletes } from '../../storage/dataset/deletes.js';
import type { InputHandle, OutputWriter, RawFile } from '../types.js';
import { partialRecomputeDescriptor, type PartialParams } from './descriptor.js';
import { STORE_SCHEMA, StoreError, coverCheck, encodeEntries, headerText, identityOf, parseStoreFile, storeRows, type StoreEntries, type StoreHeader } from './sample-store.js';
import { DagctlError } from '../../core/errors.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { snappy } from '../../storage/parquet/pages.js';
import type { OutputHandle } from '../types.js';
export type { PartialParams };

export { choosePartialOrFull } from './partial-plan.js';

export const BIRTHDAY_SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'birth_from', type: 'int64' },
  { name: 'birth_to', type: 'int64' },
  { name: 'samples', type: 'int64' },
  { name: 'support', type: 'int64' },
];
const SAMPLE_SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'age', type: 'int64' },
  { name: 'ts', type: 'int64' },
];

type Mode = 'partial' | 'full';
type Sample = { person: string; age: number; ts: number };

/** A new-batch or master row as a shuffle sample row (checked: a string person, integer age and ts). */
function sampleOf(row: Row, p: PartialParams): Sample {
  return { person: str(row, p.personColumn), age: int(row, p.ageColumn), ts: int(row, p.tsColumn) };
}
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The 'route' blob: how many recompute buckets partial mode routes persons to (1..B). */
function readRoute(blobs: Uint8Array[], B: number): number {
  const b = blobs[0];
  const n = b === undefined ? B : Number(dec.decode(b));
  return Number.isInteger(n) && n >= 1 && n <= B ? n : B;
}

/**
 * Recompute buckets for a partial run: one per `perBucket` (param partialRowsPerBucket) expected fetched master
 * rows, at most B. A 1% batch fetches ~10% of the master: at 1M rows that is one bucket, so each
 * fetch instance writes one shuffle file instead of B (per-file encode + commit cost dominated a
 * partial fetch) and one instance recomputes. The default (250k) keeps an instance's rows near a
 * full run's (at 4M master rows, 500k put ~480k fetched rows and 400k view rows in one instance,
 * whose heap then made it ~2× slower per row).
 */
export function partialBuckets(masterRows: number, newPersons: number, oldViewRows: number, fpRate: number, B: number, perBucket: number): number {
  const fetched = masterRows * Math.min(1, newPersons / Math.max(1, oldViewRows) + fpRate);
  return Math.max(1, Math.min(B, Math.ceil(fetched / perBucket)));
}

/**
 * Recompute instances that copy the old view's unaffected rows in a partial run: one per
 * `perBucket` (param partialViewRowsPerBucket, 150k: ~100k-row view → 1 at 1M master rows, 3 at
 * 4M) old view rows, at most B. The others (beyond this
 * and the route's count) return at once: each instance costs a fixed overhead (prior blobs,
 * commit markers, an output file), which at 1M master rows was most of a partial run's time.
 */
export function copyBuckets(oldViewRows: number, B: number, perBucket: number): number {
  return Math.max(1, Math.min(B, Math.ceil(oldViewRows / perBucket)));
}

type Update = 'merge-on-read' | 'rewrite';

/**
 * How a partial run makes the new view version (param viewUpdate; see PartialParams). The
 * deletions it will add are at most one row per new person (a view row per person).
 */
export function viewUpdateOf(p: Pick<PartialParams, 'viewUpdate' | 'maxViewFiles' | 'maxDeletedFraction'>, previous: Pick<InputHandle, 'rows' | 'files' | 'deletedRows' | 'filesWithDeletes'> | null, newPersons: number, newFiles: number): Update {
  if (p.viewUpdate === 'rewrite' || previous === null || previous.filesWithDeletes === undefined) return 'rewrite';
  if (p.viewUpdate === 'merge-on-read') return 'merge-on-read';
  const deleted = (previous.deletedRows ?? 0) + Math.min(newPersons, previous.rows);
  const physical = previous.rows + (previous.deletedRows ?? 0) + newPersons;
  return previous.files + newFiles <= p.maxViewFiles && deleted <= p.maxDeletedFraction * physical ? 'merge-on-read' : 'rewrite';
}

function readPlan(blobs: Uint8Array[]): Mode {
  const b = blobs[0];
  return b !== undefined && dec.decode(b) === 'partial' ? 'partial' : 'full';
}

export const partialRecompute: OperatorDef<PartialParams> = {
  ...partialRecomputeDescriptor,
  async run(ctx): Promise<StageResult> {
    const t0 = threadTimes();
    const r = await (ctx.stage.name === 'plan' ? plan(ctx) : ctx.stage.name === 'fetch' ? fetch(ctx) : recompute(ctx));
    return withThreadTimes(r, timesSince(t0));
  },
};

/**
 * The instance's own thread CPU time and run-queue wait (metrics cpu.threadMs, cpu.waitMs; Linux,
 * core/thread-cpu.ts) from its start to its result — the work the operator did on its thread,
 * whatever the load (the runner's commit after the result is not in it). None where unknown.
 */
export function withThreadTimes(r: StageResult, t: { cpuMs: number; waitMs: number } | null): StageResult {
  if (t === null) return r;
  return { ...r, metrics: { ...r.metrics, 'cpu.threadMs': t.cpuMs, 'cpu.waitMs': t.waitMs } };
}

type Ctx = StageContext<PartialParams>;

async function plan(ctx: Ctx): Promise<StageResult> {
  const p = ctx.params;
  const B = ctx.buckets;
  const persons = new Set<string>();
  const t0 = performance.now();
  const previous = p.mode === 'full' ? null : await ctx.previous(0);
  // The sample store (second output, written by full runs): a partial run reads its persons there.
  const storeFiles = p.mode === 'full' || !p.useSampleStore ? 0 : ((await ctx.previous(1))?.filesWithDeletes?.().length ?? 0);
  const t1 = performance.now();
  // A partial run's recompute instances read every new sample (plan.all()): with the mode known
  // before reading (mode partial and a previous view) they go to one shuffle file, not B (each
  // file is a create-only, fsynced write).
  const oneFile = p.mode === 'partial' && previous !== null;
  const w = new BucketedWriter(ctx.shuffle.open(SAMPLE_SCHEMA));
  const bucket = (person: string): number => (oneFile ? 0 : bucketOf(person, B));
  // A fused run (decided below) writes no shuffle: its recompute instance reads the batch itself.
  // So the rows are held until the plan knows, up to fuseHoldRows; past that they go to the
  // shuffle as they come (and the run does not fuse).
  let held: Sample[] | null = [];
  let newRows = 0;
  for await (const batch of ctx.inputs[1]!.batches({ columns: [p.personColumn, p.ageColumn, p.tsColumn] })) {
    for (const row of batch) {
      const s = sampleOf(row, p);
      persons.add(s.person);
      newRows++;
      if (held !== null) {
        held.push(s);
        if (held.length <= p.fuseHoldRows) continue;
        for (const h of held) if (w.push(bucket(h.person), h)) await w.drain();
        held = null;
      } else if (w.push(bucket(s.person), s)) await w.drain();
    }
  }
  const t2 = performance.now();
  // Source datasets list files without row counts (rows unknown → 0): estimate the master's
  // rows from its bytes at the new batch's bytes per row (same schema).
  const master = ctx.inputs[0]!, fresh = ctx.inputs[1]!;
  const masterRows = master.rows > 0 || master.bytes === 0 ? master.rows : Math.round((master.bytes * Math.max(1, newRows)) / Math.max(1, fresh.bytes));
  // What a partial run would do: R recompute buckets, and the view update it would make — auto
  // weighs partial as that update (merge-on-read scans the old view's person column only).
  const routeIfPartial = partialBuckets(masterRows, persons.size, previous?.rows ?? 0, p.falsePositiveRate, B, p.partialRowsPerBucket);
  const updateIfPartial = viewUpdateOf(p, previous, persons.size, routeIfPartial);
  let mode: Mode = p.mode === 'auto'
    ? choosePartialOrFull(newRows, masterRows, previous?.rows ?? 0, { ...p.cost, falsePositiveRate: p.falsePositiveRate }, persons.size, updateIfPartial === 'merge-on-read').mode
    : p.mode;
  // Nothing to patch without a previous view: partial is a full recompute.
  const fallbackFull = mode === 'partial' && previous === null ? 1 : 0;
  if (fallbackFull === 1) mode = 'full';
  const f = SplitBlockBloom.forCapacity(persons.size, p.falsePositiveRate);
  for (const s of persons) f.add(s);
  // With a store, one instance looks the new persons up (and scans only the master files the
  // store does not cover): fused, whatever the master's size.
  const useStore = mode === 'partial' && storeFiles > 0 && held !== null;
  const routeBuckets = mode === 'partial' ? (useStore ? 1 : routeIfPartial) : B;
  ctx.putBlob('plan', enc.encode(mode));
  const copy = mode === 'partial' ? copyBuckets(previous?.rows ?? 0, B, p.partialViewRowsPerBucket) : B;
  const update = mode === 'partial' ? updateIfPartial : 'rewrite';
  ctx.putBlob('route', enc.encode(String(routeBuckets)));
  ctx.putBlob('copy', enc.encode(String(copy)));
  ctx.putBlob('update', enc.encode(update));
  ctx.putBlob('bloom', f.serialize());
  // Dynamic fan-out: a partial run needs recompute instances b < max(R, C) only, and no fetch
  // instance when fused (the recompute instance scans the master itself).
  const fused = mode === 'partial' && held !== null && (useStore || (routeBuckets === 1 && masterRows <= p.fuseScanRows && p.fuseScanRows > 0));
  ctx.putBlob('fuse', enc.encode(fused ? '1' : '0'));
  ctx.putBlob('store', enc.encode(useStore ? '1' : '0'));
  const t3 = performance.now();
  if (!fused && held !== null) for (const h of held) if (w.push(bucket(h.person), h)) await w.drain();
  await w.flush();
  const narrow = mode === 'partial' ? { recompute: Array.from({ length: Math.max(routeBuckets, copy) }, (_, b) => b), ...(fused ? { fetch: [] } : {}) } : undefined;
  const ms = { 'ms.previous': t1 - t0, 'ms.read': t2 - t1, 'ms.bloom': t3 - t2, 'ms.flush': performance.now() - t3 };
  return { ...(narrow === undefined ? {} : { narrow }), metrics: { ...ms, fused: fused ? 1 : 0, storeMode: useStore ? 1 : 0, newRows, newPersons: persons.size, partial: mode === 'partial' ? 1 : 0, fallbackFull, routeBuckets, copyBuckets: copy, mergeOnRead: update === 'merge-on-read' ? 1 : 0 } };
}

async function fetch(ctx: Ctx): Promise<StageResult> {
  const p = ctx.params;
  const B = ctx.buckets;
  const mode = readPlan(ctx.prior!.blobs('plan'));
  const blob = ctx.prior!.blobs('bloom')[0];
  const R = readRoute(ctx.prior!.blobs('route'), B);
  const f = mode === 'partial' && blob !== undefined ? SplitBlockBloom.deserialize(blob) : null;
  // Fused (blob 'fuse'): the recompute instance scans the master; this instance, when the engine
  // runs it at all (the plan pruned it), has nothing to do.
  if (f !== null && isFused(ctx.prior!.blobs('fuse'))) return { metrics: { masterRows: 0, fetched: 0, idle: 1 } };
  const w = new BucketedWriter(ctx.shuffle.open(SAMPLE_SCHEMA));
  const master = ctx.inputs[0]!;
  const cols = [p.personColumn, p.ageColumn, p.tsColumn];
  const stats: LateScanStats = { rows: 0, fastGroups: 0, slowGroups: 0 };
  let rowsIn = 0;
  const t0 = performance.now();
  if (f !== null) {
    for await (const h of masterHits(master, p, f, stats)) {
      const age = h.values[0]!, ts = h.values[1]!;
      for (let i = 0; i < h.n; i++) {
        const person = h.keys[i]!;
        if (w.push(R === 1 ? 0 : bucketOf(person, R), { person, age: age[i]!, ts: ts[i]! })) await w.drain();
      }
    }
    rowsIn = stats.rows;
  } else {
    for await (const batch of master.batches({ columns: cols })) {
      for (const row of batch) {
        rowsIn++;
        const person = str(row, p.personColumn);
        if (w.push(bucketOf(person, B), { person, age: int(row, p.ageColumn), ts: int(row, p.tsColumn) })) await w.drain();
      }
    }
  }
  const t1 = performance.now();
  await w.flush();
  // No blobs here: every recompute instance loads the blobs of every prior instance it is
  // given (fetch's, twice: as its prior stage and by name), one commit-marker read each; the
  // mode is the 'plan' stage's blob.
  return { metrics: { masterRows: rowsIn, fetched: w.rows, lateScanGroups: stats.fastGroups, rowScanGroups: stats.slowGroups, 'ms.scan': t1 - t0, 'ms.masterRead': stats.readWaitMs ?? 0, 'ms.flush': performance.now() - t1 } };
}

/**
 * A partial run's Bloom join over the master: the hits (persons passing `f`, false positives
 * included) as columns — keys = persons, values = [ages, timestamps] — by late materialization over
 * raw person bytes (lib/late-scan.ts) when the handle hands out files, else from decoded rows.
 */
async function* masterHits(master: InputHandle, p: PartialParams, f: SplitBlockBloom, stats: LateScanStats, keys?: LateScanOptions['keys']): AsyncIterable<HitColumns> {
  const raw = master.rawFiles?.();
  if (raw === undefined) {
    // Decoded rows, the same contract as lateScanColumns: with `keys`, only members, as ids.
    for await (const batch of master.batches({ columns: [p.personColumn, p.ageColumn, p.tsColumn] })) {
      stats.rows += batch.length;
      const persons: string[] = [], ids: number[] = [], ages: number[] = [], tss: number[] = [];
      for (const row of batch) {
        const person = str(row, p.personColumn);
        if (!f.has(person)) continue;
        if (keys !== undefined) {
          const id = keys.idOf(person);
          if (id < 0) {
            stats.dropped = (stats.dropped ?? 0) + 1;
            continue;
          }
          ids.push(id);
        } else persons.push(person);
        ages.push(int(row, p.ageColumn));
        tss.push(int(row, p.tsColumn));
      }
      yield { n: ages.length, keys: persons, ...(keys === undefined ? {} : { ids: Int32Array.from(ids) }), values: [ages, tss] };
    }
    return;
  }
  const opts: LateScanOptions = { key: p.personColumn, columns: [p.ageColumn, p.tsColumn], probe: (b, s, l) => f.hasBytes(b, s, l), probePage: (b, s, l, n, h, at) => f.probeRanges(b, s, l, n, h, at), probeString: (s) => f.has(s), bloom: f.layout(), ...(keys === undefined ? {} : { keys }) };
  // Read-ahead: file i+1's bytes are requested before file i is scanned, so an asynchronous store
  // (S3) fetches them during the scan; a worker thread's local store reads synchronously, inside
  // read() (storage/local/store.ts), so there it only moves the read. stats.readWaitMs: the time
  // spent in read() and waiting for bytes not there yet (the read time the scan did not overlap).
  const request = (i: number): Promise<Uint8Array> | null => {
    if (i >= raw.length) return null;
    const r0 = performance.now();
    const pending = raw[i]!.read();
    stats.readWaitMs = (stats.readWaitMs ?? 0) + performance.now() - r0;
    // A rejected read-ahead is awaited (and thrown) on its turn; never left unhandled meanwhile.
    pending.catch(() => undefined);
    return pending;
  };
  let next = request(0);
  for (let i = 0; i < raw.length; i++) {
    const file = raw[i]!;
    const w0 = performance.now();
    const bytes = await next!;
    stats.readWaitMs = (stats.readWaitMs ?? 0) + performance.now() - w0;
    next = request(i + 1);
    try {
      yield* lateScanColumns(bytes, opts, stats);
    } catch (e) {
      throw withUtf8File(e, file.path);
    }
  }
}

/**
 * Fused (R = 1, blob 'fuse'): the Bloom join over the master in the recompute instance, each hit
 * added to `samples` by person id (no row object, no shuffle), false positives (persons without new
 * samples) dropped. Returns the counts and the metrics the fetch stage would have reported.
 */
async function fusedJoin(master: InputHandle, p: PartialParams, f: SplitBlockBloom, samples: SampleTable): Promise<{ matched: number; falsePositives: number; keys: KernelKeys | null; metrics: Record<string, number> }> {
  const stats: LateScanStats = { rows: 0, fastGroups: 0, slowGroups: 0, dropped: 0 };
  let matched = 0;
  // The scan checks hits against the new persons itself (the table's ids are the key set's), so
  // every hit is a member and comes with its id: on the page kernel's path no person string is
  // made for a master row.
  const keys = { kernel: KernelKeys.of(samples.persons), idOf: (k: string): number => samples.idOf(k) };
  const times0 = threadTimes();
  for await (const h of masterHits(master, p, f, stats, keys)) {
    const age = h.values[0]!, ts = h.values[1]!, ids = h.ids!;
    for (let i = 0; i < h.n; i++) samples.addAt(ids[i]!, age[i]!, ts[i]!);
    matched += h.n;
  }
  const falsePositives = stats.dropped ?? 0;
  // The scan's own CPU time and its wait for a CPU (this thread's): on a loaded machine the second, not the kernel, is what stretches ms.fetched.
  const times = timesSince(times0);
  const cpu: Record<string, number> = times === null ? {} : { 'ms.masterCpu': times.cpuMs, 'ms.masterCpuWait': times.waitMs };
  return { matched, falsePositives, keys: keys.kernel, metrics: { masterRows: stats.rows, fetched: matched + falsePositives, lateScanGroups: stats.fastGroups, rowScanGroups: stats.slowGroups, 'ms.masterRead': stats.readWaitMs ?? 0, ...cpu } };
}

function isFused(blobs: Uint8Array[]): boolean {
  const b = blobs[0];
  return b !== undefined && dec.decode(b) === '1';
}

async function recompute(ctx: Ctx): Promise<StageResult> {
  const planOut = ctx.stageOutput('plan');
  const mode = planOut === null ? 'full' : readPlan(planOut.blobs('plan'));
  // Partial: instance b < R recomputes the persons with bucketOf(person, R) = b; instance b < C
  // copies the old view's files f ≡ b (mod C). An instance with neither has nothing to do.
  const R = mode === 'partial' && planOut !== null ? readRoute(planOut.blobs('route'), ctx.buckets) : ctx.buckets;
  const C = mode === 'partial' && planOut !== null ? readRoute(planOut.blobs('copy'), ctx.buckets) : 0;
  if (mode === 'partial' && ctx.bucket >= R && ctx.bucket >= C) return { metrics: { recomputed: 0, kept: 0, matched: 0, falsePositives: 0, viewRows: 0, idle: 1 } };
  const t0 = performance.now();
  const samples = new SampleTable();
  // Partial: a copying instance needs the set of all persons with new samples (their old rows are
  // dropped wherever they are).
  const affectedAll = new Set<string>();
  const recomputes = mode === 'full' || ctx.bucket < R;
  const fused = mode === 'partial' && planOut !== null && isFused(planOut.blobs('fuse'));
  if (planOut !== null) {
    // Fused: the plan wrote no shuffle; the new samples are the batch itself (inputs[1]).
    const src = fused ? null : mode === 'partial' ? planOut.all() : planOut.bucket(ctx.bucket);
    // An instance that recomputes nobody (b ≥ R) needs only the affected persons, not their samples.
    const p = ctx.params;
    const columns = recomputes ? undefined : [fused ? p.personColumn : 'person'];
    const batches = src !== null ? src.batches(columns === undefined ? {} : { columns }) : ctx.inputs[1]!.batches({ columns: columns ?? [p.personColumn, p.ageColumn, p.tsColumn] });
    for await (const batch of batches) {
      for (const raw of batch) {
        const row = src !== null ? raw : recomputes ? sampleOf(raw, p) : { person: str(raw, p.personColumn) };
        const person = row.person as string;
        if (mode === 'partial') {
          affectedAll.add(person);
          if (!recomputes || (R > 1 && bucketOf(person, R) !== ctx.bucket)) continue;
        }
        samples.add(person, row.age as number, row.ts as number);
      }
    }
  }
  // This instance's persons with new samples (samples.has): in partial mode only their master rows count.
  // Samples from here on are the master's (full mode: what the sample store keeps).
  const masterFrom = samples.size;
  const t1 = performance.now();
  let matched = 0, falsePositives = 0, fetchedColumnar = 0, fetchedRowFiles = 0;
  // Fused: what the fetch stage would have reported (masterRows, fetched, scan groups).
  let scan: Record<string, number> = {};
  // Fused: the join's key set (the new persons), which the merge-on-read deletes probe again.
  let fusedKeys: KernelKeys | null = null;
  let storeFallback = 0;
  if (recomputes) {
    const partial = mode === 'partial';
    const addRows = (batch: Row[]): void => {
      for (const row of batch) {
        const person = row.person as string;
        if (partial && !samples.has(person)) {
          falsePositives++;
          continue;
        }
        matched++;
        samples.add(person, row.age as number, row.ts as number);
      }
    };
    const fetched = ctx.prior!.bucket(ctx.bucket);
    const raw = fetched.rawFiles?.();
    const bloom = fused ? planOut.blobs('bloom')[0] : undefined;
    if (bloom !== undefined) {
      const f = SplitBlockBloom.deserialize(bloom);
      // With the sample store: the persons looked up there, only the master files it does not
      // cover scanned; a store that cannot be used (stale, incomplete, unreadable) → the scan.
      const storeMode = isFused(planOut?.blobs('store') ?? []);
      const store = storeMode ? await storeJoin(ctx, samples, f) : null;
      if (store === null && storeMode) {
        storeFallback = 1;
        ctx.log('partial-recompute: the sample store does not cover the master as it is now; scanning the master', {});
      }
      const j = store ?? await fusedJoin(ctx.inputs[0]!, ctx.params, f, samples);
      matched += j.matched;
      falsePositives += j.falsePositives;
      fusedKeys = j.keys;
      scan = j.metrics;
    } else if (raw === undefined) {
      for await (const batch of fetched.batches()) addRows(batch);
    } else {
      // Column at a time (lib/shuffle-samples.ts: no row object per fetched sample), the same
      // samples in the same order as the rows; a file it does not take is read as rows.
      for (const file of raw) {
        const bytes = await file.read();
        const c = addShuffleSamples(bytes, samples, partial);
        if (c !== null) {
          matched += c.matched;
          falsePositives += c.dropped;
          fetchedColumnar++;
          continue;
        }
        fetchedRowFiles++;
        for await (const batch of decodeWithFallback(defaultCodec(), bytes)) addRows(batch);
      }
    }
  }
  const t2 = performance.now();
  const out: Row[] = [];
  samples.infer((person, birth_from, birth_to, n, support) => { out.push({ person, birth_from, birth_to, samples: n, support }); });
  const recomputed = out.length;
  const t3 = performance.now();
  const readMs = { v: 0 };
  const writer = ctx.outputs[0]!.open(BIRTHDAY_SCHEMA);
  const byPerson = (a: Row, b: Row): number => ((a.person as string) < (b.person as string) ? -1 : 1);
  // Merge-on-read: the old files carried with deletion vectors, the recomputed rows a file of their own.
  const updateBlob = mode === 'partial' ? planOut?.blobs('update')[0] : undefined;
  const update: Update = updateBlob !== undefined && dec.decode(updateBlob) === 'merge-on-read' ? 'merge-on-read' : 'rewrite';
  const carried = update === 'merge-on-read' && ctx.bucket < C ? await carryOldView(ctx, affectedAll, C, writer, readMs, fusedKeys) : null;
  // Copy-through: the old view in column form, merged with the sorted recomputed rows.
  const writeColumns = writer.writeColumns;
  const copied = carried === null && mode === 'partial' && ctx.bucket < C && writeColumns !== undefined ? await copyOldView(ctx, affectedAll, C, out.sort(byPerson), readMs) : null;
  const t4 = performance.now();
  let kept = 0, viewRows = 0;
  if (carried !== null) {
    kept = carried.kept;
    viewRows = out.length;
    if (out.length > 0) await writeSorted(writer, out.sort(byPerson));
  } else if (copied !== null && writeColumns !== undefined) {
    kept = copied.kept;
    viewRows = copied.batch.rows;
    if (viewRows > 0) await writeColumns.call(writer, copied.batch);
  } else {
    kept = mode === 'partial' && ctx.bucket < C ? await keptViewRows(ctx, affectedAll, C, out, readMs) : 0;
    viewRows = out.length;
    if (out.length > 0) await writeSorted(writer, out.sort(byPerson));
  }
  const storeOut = ctx.outputs[1];
  const storeMetrics = storeOut === undefined ? {} : await updateStore(ctx, storeOut, mode, samples, masterFrom);
  const t5 = performance.now();
  // Phase times (ms): where a recompute instance spends its time (bench/operators.ts prints them).
  const ms = { 'ms.newSamples': t1 - t0, 'ms.fetched': t2 - t1, 'ms.infer': t3 - t2, 'ms.oldView': t4 - t3, 'ms.oldViewRead': readMs.v, 'ms.write': t5 - t4 };
  const mor: Record<string, number> = carried === null ? {} : { viewCarriedFiles: carried.files, viewDroppedFiles: carried.droppedFiles, viewDeletedRows: carried.deleted };
  return { metrics: { recomputed, kept, matched, falsePositives, viewRows, viewCopiedColumnar: copied !== null ? 1 : 0, fetchedColumnar, fetchedRowFiles, ...scan, ...mor, ...ms, ...storeMetrics, ...(storeFallback === 1 ? { storeFallback } : {}) } };
}

/**
 * The sample store's new version (second output). Full mode: each bucket instance writes its
 * persons' master samples (samples from `masterFrom` on) with the master's covers — or, when the
 * master's files have no identity, instance 0 lists the old store again (never used: its covers
 * no longer match). Partial mode: instance 0 lists the old store's files again (a partial run
 * adds no master file to it; the master files it does not cover are scanned by each partial run
 * until the next full run).
 */
async function updateStore(ctx: Ctx, out: OutputHandle, mode: Mode, samples: SampleTable, masterFrom: number): Promise<Record<string, number>> {
  const writer = out.open(STORE_SCHEMA);
  const id = mode === 'full' ? identityOf(ctx.inputs[0]!) : null;
  if (id !== null) {
    const g = samples.groupsFrom(masterFrom);
    const entries = encodeEntries(g.persons, g.ages, g.tss);
    if (entries === null) return { storeWritten: 0 };
    await writer.write(storeRows({ covers: id.covers, bucket: ctx.bucket, buckets: ctx.buckets }, entries));
    return { storeWritten: 1, storeBytes: entries.length };
  }
  if (ctx.bucket !== 0 || writer.carry === undefined) return {};
  const files = (await ctx.previous(1))?.filesWithDeletes?.() ?? [];
  for (const f of files) await writer.carry(f, f.deleted ?? new Int32Array(0));
  return { storeCarried: files.length };
}

/**
 * A store file's `chunk` values in row order: PLAIN pages decompressed by the page kernel
 * (column-scan.ts plainByteArrayBodies; hyparquet's JS Snappy took most of the store's read),
 * any other layout through the row decoder; null when a value is not bytes.
 */
async function storeChunks(bytes: Uint8Array, stats: { rowFiles: number }): Promise<Uint8Array[] | null> {
  const cf = openColumnFile(bytes);
  const out: Uint8Array[] = [];
  for (let rg = 0; rg < cf.rowGroups.length; rg++) {
    const bodies = cf.plainByteArrayBodies(rg, 'chunk');
    if (bodies === null) {
      out.length = 0;
      stats.rowFiles++;
      for await (const batch of decodeWithFallback(defaultCodec(), bytes)) {
        for (const row of batch) {
          if (!(row.chunk instanceof Uint8Array)) return null;
          out.push(row.chunk);
        }
      }
      return out;
    }
    for (const b of bodies) {
      const data = b.compressed ? snappy(b.body, b.size) : b.body;
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let at = 0;
      for (let i = 0; i < b.count; i++) {
        if (at + 4 > data.length) throw new StoreError('sample store page truncated');
        const len = dv.getUint32(at, true);
        if (at + 4 + len > data.length) throw new StoreError('sample store page truncated');
        out.push(data.subarray(at + 4, at + 4 + len));
        at += 4 + len;
      }
    }
  }
  return out;
}

/**
 * A partial run's master samples for its persons (all new persons: R = 1) from the sample store,
 * plus the Bloom join over the master files the store does not cover (fusedJoin over those only);
 * null when the store cannot be used: not one file per bucket with the same header, a covered file
 * missing or changed in the master, a file without identity, or an unreadable store file.
 */
async function storeJoin(ctx: Ctx, samples: SampleTable, f: SplitBlockBloom): Promise<Awaited<ReturnType<typeof fusedJoin>> | null> {
  const t0 = performance.now();
  const times0 = threadTimes();
  const master = ctx.inputs[0]!;
  const id = identityOf(master);
  const files = (await ctx.previous(1))?.filesWithDeletes?.();
  if (id === null || files === undefined || files.length === 0) return null;
  const tables: Array<StoreEntries | undefined> = [];
  let first: StoreHeader | null = null;
  const buckets = new Set<number>();
  const read = { rowFiles: 0 };
  try {
    for (const file of files) {
      if (file.deleted !== null) return null;
      const chunks = await storeChunks(await file.read(), read);
      if (chunks === null) return null;
      const { header: h, entries } = parseStoreFile(chunks);
      if (buckets.has(h.bucket)) return null;
      if (first === null) first = h;
      else if (h.buckets !== first.buckets || headerText({ ...h, bucket: 0 }) !== headerText({ ...first, bucket: 0 })) return null;
      buckets.add(h.bucket);
      tables[h.bucket] = entries;
    }
  } catch (e) {
    if (e instanceof StoreError || (e instanceof DagctlError && e.code === 'PARQUET_INVALID')) return null;
    throw e;
  }
  if (first === null || buckets.size !== first.buckets) return null;
  const extra = coverCheck(first.covers, id);
  if (extra === null) return null;
  const t1 = performance.now();
  let fromStore = 0;
  const n = samples.persons.length;
  const B = first.buckets;
  for (let pid = 0; pid < n; pid++) {
    const person = samples.persons[pid]!;
    // The full run's bucket of the person (its file holds exactly those persons).
    const h = fnv1a32(person);
    try {
      const c = tables[h % B]!.lookup(person, enc.encode(person), (age, ts) => samples.addAt(pid, age, ts), h);
      if (c > 0) fromStore += c;
    } catch (e) {
      // Some of the entry's samples may be in the table already: no fallback, the run fails.
      if (e instanceof StoreError) throw new DagctlError('INTERNAL', `sample store ${ctx.outputs[1]?.name ?? ''}: the entry of ${person} is malformed (${e.message}); a run with mode full rewrites the store`, { person }, { cause: e });
      throw e;
    }
  }
  const t2 = performance.now();
  const times = timesSince(times0);
  const cpu: Record<string, number> = times === null ? {} : { 'ms.storeCpu': times.cpuMs, 'ms.storeCpuWait': times.waitMs };
  const storeMetrics = { storeFiles: files.length, storeSamples: fromStore, storeExtraFiles: extra.length, storeRowFiles: read.rowFiles, 'ms.storeRead': t1 - t0, 'ms.storeLookup': t2 - t1, ...cpu };
  if (extra.length === 0) return { matched: fromStore, falsePositives: 0, keys: null, metrics: { masterRows: 0, fetched: 0, ...storeMetrics } };
  const j = await fusedJoin({ ...master, rawFiles: () => extra }, ctx.params, f, samples);
  return { ...j, matched: j.matched + fromStore, metrics: { ...j.metrics, ...storeMetrics } };
}

/** The old view's files with their deletion vectors (handles without filesWithDeletes have none), or undefined. */
function oldViewFiles(previous: InputHandle | null): Array<RawFile & { deleted: Int32Array | null }> | undefined {
  return previous?.filesWithDeletes?.() ?? previous?.rawFiles?.().map((f) => ({ ...f, deleted: null }));
}

async function writeSorted(writer: OutputWriter, rows: Row[]): Promise<void> {
  const w = new ChunkedWriter(writer);
  for (const row of rows) if (w.push(row)) await w.flush();
  await w.flush();
}

/**
 * Merge-on-read: this instance's share of the old view's files (f ≡ bucket mod C) listed again in
 * the new version, each with its deletion vector widened by the rows of the affected persons
 * (lib/key-rows.ts: the person column probed with the plan's Bloom filter, hits checked exactly;
 * a file it cannot read that way is decoded as rows). A file left with no live row is not listed.
 * null when the old version hands out no files or the output cannot carry them (then the caller
 * rewrites). `affectedKeys`: `affected` as the page kernel's key set when the caller has it (the
 * fused join's), else it is built here. Returns the live rows kept, rows newly deleted, files
 * carried and files left out.
 */
async function carryOldView(ctx: Ctx, affected: ReadonlySet<string>, C: number, writer: OutputWriter, readMs: { v: number }, affectedKeys: KernelKeys | null): Promise<{ kept: number; deleted: number; files: number; droppedFiles: number } | null> {
  const previous = await ctx.previous(0);
  const files = previous?.filesWithDeletes?.();
  const carry = writer.carry;
  const blob = ctx.stageOutput('plan')?.blobs('bloom')[0];
  if (files === undefined || carry === undefined || blob === undefined || files.some((f) => f.entry.rows < 0)) return null;
  const bloom = SplitBlockBloom.deserialize(blob);
  // A fused instance's join keys are the affected persons already (R = 1: it recomputes them all).
  const dropKeys = affectedKeys !== null && affectedKeys.size === affected.size ? affectedKeys : KernelKeys.of([...affected]);
  let kept = 0, deleted = 0, carried = 0, droppedFiles = 0;
  for (const [i, f] of files.entries()) {
    if (i % C !== ctx.bucket) continue;
    const r0 = performance.now();
    const bytes = await f.read();
    readMs.v += performance.now() - r0;
    let hits = keyRows(bytes, { key: 'person', drop: affected, bloom, dropKeys });
    if (hits === null) {
      const at: number[] = [];
      let row = 0;
      for await (const batch of decodeWithFallback(defaultCodec(), bytes, { columns: ['person'] })) {
        for (const r of batch) {
          if (affected.has(str(r, 'person'))) at.push(row);
          row++;
        }
      }
      hits = Int32Array.from(at);
    }
    const all = unionDeletes(f.deleted, hits);
    deleted += all.length - (f.deleted?.length ?? 0);
    if (all.length >= f.entry.rows) {
      droppedFiles++;
      continue;
    }
    kept += f.entry.rows - all.length;
    await carry.call(writer, f, all);
    carried++;
  }
  return { kept, deleted, files: carried, droppedFiles };
}

/**
 * The copying instance's share of the old view (files f ≡ bucket mod C) minus the affected
 * persons, merged with `recomputed` (sorted), in column form (lib/view-copy.ts), the plan's Bloom
 * filter of the new persons as its pre-filter; null when the old view hands out no files or a
 * file is not readable in column form (then keptViewRows does it with rows).
 */
async function copyOldView(ctx: Ctx, affected: ReadonlySet<string>, C: number, recomputed: Row[], readMs: { v: number }): Promise<CopyResult | null> {
  const previous = await ctx.previous(0);
  const raw = oldViewFiles(previous);
  if (raw === undefined) return null;
  const blob = ctx.stageOutput('plan')?.blobs('bloom')[0];
  const mine = raw.filter((_, i) => i % C === ctx.bucket).map((f): CopyFile => ({
    deleted: f.deleted,
    read: async () => {
      const r0 = performance.now();
      const bytes = await f.read();
      readMs.v += performance.now() - r0;
      return bytes;
    },
  }));
  const ints = BIRTHDAY_SCHEMA.filter((f) => f.type === 'int64').map((f) => f.name);
  return copyThrough(mine, { key: 'person', ints, drop: affected, bloom: blob === undefined ? null : SplitBlockBloom.deserialize(blob) }, recomputed);
}

/**
 * Appends to `out` this instance's share of the old view minus the persons with new samples: the
 * old view's files f ≡ bucket (mod C), C the copying instances (blob 'copy'), or — when the handle
 * hands out no files — all of it in instance 0. Every old row is read by exactly one instance, so
 * the union over instances is the old view with the affected persons' rows removed. Returns the
 * rows kept.
 */
async function keptViewRows(ctx: Ctx, affected: ReadonlySet<string>, C: number, out: Row[], readMs: { v: number }): Promise<number> {
  const previous = await ctx.previous(0);
  if (previous === null) return 0;
  const raw = oldViewFiles(previous);
  const mine = raw === undefined ? null : raw.filter((_, i) => i % C === ctx.bucket);
  if ((mine !== null && mine.length === 0) || (mine === null && ctx.bucket !== 0)) return 0;
  let kept = 0;
  const keep = (rows: Row[]): void => {
    for (const row of rows) {
      // The decoded row itself (checked: a string person, integer counts) — no copy.
      if (affected.has(str(row, 'person'))) continue;
      int(row, 'birth_from'); int(row, 'birth_to'); int(row, 'samples'); int(row, 'support');
      out.push(row);
      kept++;
    }
  };
  const columns = BIRTHDAY_SCHEMA.map((f) => f.name);
  if (mine === null) {
    for await (const batch of previous.batches({ columns })) keep(batch);
  } else {
    // Through the default codec's row decoder, not lib/late-scan.ts: that decoder is the one
    // full-mode runs keep hot, and a code path a worker runs once per partial run stays cold
    // (measured: a 100k-row view file 4× slower through a cold late scan in the task runner).
    for (const file of mine) {
      const r0 = performance.now();
      const bytes = await file.read();
      readMs.v += performance.now() - r0;
      for await (const batch of decodeLive(defaultCodec(), bytes, file.deleted, { columns })) keep(batch);
    }
  }
  return kept;
}
