/**
 * runInstance: executes one attempt of one task instance, wherever it is scheduled (an embedded
 * worker thread or a BullMQ worker), and commits its outputs exactly once in effect.
 *
 *  1. fingerprint = operator name+version, stage, round, partition/bucket, params and the identity
 *     of every input file (sha256 or etag) — never the run id or attempt; for an operator module,
 *     also its code hash (the module and its local imports), so an edit recomputes its instances;
 *     module operators are loaded from the run's code bundle first (inline in the record, or
 *     fetched by hash from its object store: operators/modules/bundle-store.ts);
 *  2. memoization: unless forced, an existing commit marker for (instance, fingerprint) in the
 *     task's work area and in every output dataset means the work is done: return it (skipped);
 *  3. run the operator's stage with handles bound to storage; every data file is written
 *     create-only under a content-derived name, so a retried or duplicated attempt rewrites nothing;
 *  4. commit: a marker per output dataset, then the work-area marker — the instance's commit
 *     point. Markers are create-only and the first one wins, so two racing attempts commit once.
 * `publish` instances write each output's manifest and swap its _CURRENT pointer instead, after the
 * publication guards (storage/dataset/guards.ts): another DAG's dataset is refused unless taken over
 * (DATASET_PRODUCER_CONFLICT), a view dropping more than its maxShrink share of rows is refused
 * (VIEW_SHRINK); both leave every output's current version unchanged and are not retried.
 */
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { DagctlError, errorMessage, isDagctlError, isRetryableCode } from '../core/errors.js';
import { fingerprint } from '../core/hash.js';
import { threadTimes, timesSince } from '../core/thread-cpu.js';
import { dropIdleMemoryExcept } from '../core/idle-memory.js';
import { operatorOf } from '../operators/registry.js';
import { loadRunBundle } from '../operators/modules/bundle-store.js';
import type { AnyOperator, InputHandle, StageContext, StageResult, StageSpec } from '../operators/types.js';
import type { ModuleOperatorRef } from '../operators/modules/bundle.js';
import type { TaskSpec } from '../definitions/types.js';
import type { InstanceJob } from '../scheduler/jobs.js';
import type { CommittedOutput, InstanceResult, PlannedInstance } from '../scheduler/model.js';
import type { RunRecord } from '../scheduler/ports.js';
import { dateFolder, isDate, markerKey } from '../storage/dataset/layout.js';
import { readCommitMarker, writeCommitMarker } from '../storage/dataset/markers.js';
import { checkProducer, checkShrink, DEFAULT_MAX_SHRINK } from '../storage/dataset/guards.js';
import { deltaColumns, nextSchemaString, readDeltaSnapshot } from '../storage/dataset/delta-log.js';
import { checkCarriedFiles, checkSchemaMigration, type SchemaMigration } from '../storage/dataset/schema-migration.js';
import { publishVersion, readCurrent, readPublished, type CurrentView } from '../storage/dataset/publish.js';
import { liveRows } from '../storage/dataset/deletes.js';
import { defaultCodec } from '../storage/parquet/registry.js';
import type { BucketExtent, CommitMarker, FileEntry, KeyIndexRef, Producer } from '../storage/types.js';
import { Counters, OutputBinding, ShuffleBinding, inputHandle, loadPriorBlobs, priorStage } from './runner/handles.js';
import { joinUri, storeFor } from './runner/stores.js';
import { assertOutsideSources } from './runner/write-guard.js';
import { inputContract } from './runner/contract.js';

export interface RunInstanceOptions {
  signal: AbortSignal;
  worker: string;
  log?: (line: string) => void;
}

/** Whether another attempt may succeed: decided by the error's code alone (core/errors.ts PERMANENT_CODES). */
export function isRetryable(e: unknown): boolean {
  return !isDagctlError(e) || isRetryableCode(e.code);
}

/** Where a task keeps its stage outputs and commit points. */
export function workUri(record: RunRecord, task: string): string {
  const t = taskByName(record, task);
  const first = t?.outputs[0];
  const uri = first !== undefined ? record.dag.datasets[first]?.uri : undefined;
  if (uri !== undefined) return joinUri(uri, '_work', task);
  const home = process.env.DAGCTL_HOME ?? '.dagctl';
  return joinUri(home.startsWith('/') ? `file://${home}` : home, 'work', record.dag.name, task);
}

export async function runInstance(record: RunRecord, job: InstanceJob, opts: RunInstanceOptions): Promise<InstanceResult> {
  const logTail = new LogTail();
  // Thread times only on a worker thread: one attempt at a time runs there (threads/thread.ts),
  // so its figures are the attempt's own; the main thread's would include the engine's work.
  const times0 = isMainThread ? null : threadTimes();
  try {
    const result = await runInstanceWith(record, job, opts, logTail);
    const times = timesSince(times0);
    if (times === null || result.memoized) return result;
    // The thread's times span the whole attempt, its duration only the instance's own steps (not
    // the runner's before and after, e.g. pruning): what lies outside the duration is not the
    // instance's, so CPU + wait never exceed it (the cost model's U = duration − wait relies on it).
    const cpuMs = Math.min(times.cpuMs, result.durationMs);
    return { ...result, cpuMs, cpuWaitMs: Math.min(times.waitMs, Math.max(0, result.durationMs - cpuMs)) };
  } catch (e) {
    // A failed attempt keeps what it logged: the failure reports carry it (attemptLogOf).
    if (logTail.text() !== '' && typeof e === 'object' && e !== null) failedAttemptLogs.set(e, logTail.text());
    throw e;
  }
}

/** The log tail of the failed attempt that threw `e` (ctx.log lines, last 4 KiB), when it logged. */
export function attemptLogOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? failedAttemptLogs.get(e) : undefined;
}
const failedAttemptLogs = new WeakMap<object, string>();

async function runInstanceWith(record: RunRecord, job: InstanceJob, opts: RunInstanceOptions, logTail: LogTail): Promise<InstanceResult> {
  const started = performance.now();
  const inst = planIndex(record).get(job.instanceId);
  if (inst === undefined) throw new DagctlError('TASK_NOT_FOUND', `no instance ${job.instanceId} in run ${record.runId}`);
  if (inst.kind === 'publish') return publish(record, job, started, opts);
  const module = record.dag.modules?.[operatorNameOf(record, inst.task)];
  if (module !== undefined) {
    if (record.bundle === undefined && record.bundleRef === undefined) throw new DagctlError('BUNDLE_NOT_FOUND', `run ${record.runId} declares operator module ${module.module} but has no code bundle`, { runId: record.runId });
    await loadRunBundle(record);
  }

  const { task, op, params, stages } = taskInfo(record, inst.task);
  const stage = stages[inst.stageIndex];
  if (stage === undefined) throw new DagctlError('INTERNAL', `operator ${op.name} has no stage ${inst.stageIndex}`);
  const isLast = inst.stageIndex === stages.length - 1;
  const writesOutputs = stage.writesOutputs ?? isLast;

  const fp = fingerprint({
    op: op.name,
    v: op.version,
    ...(module === undefined ? {} : { code: module.codeHash }),
    stage: stage.name,
    round: inst.round,
    partition: inst.partition,
    bucket: inst.bucket,
    buckets: inst.buckets,
    params,
    inputs: job.inputs.map((i) => ({ d: i.dataset, f: i.files.map(fileIdentity) })),
    prior: job.prior.map((o) => o.files.map(fileIdentity)),
    stages: Object.entries(job.stages ?? {}).map(([k, outs]) => [k, outs.map((o) => o.files.map(fileIdentity))]),
  });

  const hasOutputs = writesOutputs && task.outputs.length > 0;
  const needsWork = hasOutputs || !isLast || task.outputs.length > 0;
  const work = workUri(record, task.name);
  const stageName = `stage:${task.name}.${stage.name}`;
  // Sources are read-only: refuse before touching storage (definitions/rules/overlap.ts is the first line).
  assertOutsideSources(record.dag, [...(writesOutputs ? task.outputs.flatMap((n) => record.dag.datasets[n]?.uri ?? []) : []), ...(needsWork ? [work] : [])], job.instanceId);

  if (needsWork && !job.force) {
    const memo = await memoized(record, task.outputs, hasOutputs, work, stageName, job.instanceId, fp);
    if (memo !== null) {
      return withPrune({ memoized: true, fingerprint: fp, outputs: memo.outputs, metrics: memo.metrics, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: performance.now() - started, setupMs: 0, worker: opts.worker }, record, inst, memo.narrow);
    }
  }

  // Memory other operators keep idle on this thread for their next instance goes now (core/idle-memory.ts).
  dropIdleMemoryExcept(op.name);
  const codec = defaultCodec();
  const counters = new Counters();
  const now = (): number => performance.now();
  const salt = job.instanceId;

  // Schemas at the boundary: each input file is checked against its dataset's declared schema and
  // what the operator requires of it, before its rows reach the operator.
  const inputs = job.inputs.map((i, k) => {
    const ds = record.dag.datasets[i.dataset];
    const contract = ds === undefined || ds.format !== 'parquet' ? null : inputContract(ds, op, params, k);
    return inputHandle(i.dataset, i.uri, i.files, codec, counters, now, contract, i.format);
  });
  // The version published before this run started: later versions are this run's own. Read once
  // per instance, so every call (and OutputWriter.carry's check) sees the same version.
  const previousMemo = new Map<number, Promise<InputHandle | null>>();
  const previous = (i: number): Promise<InputHandle | null> => {
    let p = previousMemo.get(i);
    if (p === undefined) {
      p = (async () => {
        const name = task.outputs[i];
        const ds = name === undefined ? undefined : record.dag.datasets[name];
        if (name === undefined || ds === undefined) return null;
        const cur = await readCurrent(await storeFor(ds.uri));
        if (cur === null || cur.pointer.version === record.runId) return null;
        // Merge-on-read versions are Delta deletion vectors in a view's log (delta-log.ts), so every
        // view offers filesWithDeletes to a partial run.
        return inputHandle(`${name}@${cur.pointer.version}`, ds.uri, cur.manifest.files, codec, counters, now);
      })();
      previousMemo.set(i, p);
    }
    return p;
  };
  const outputs: OutputBinding[] = [];
  if (writesOutputs) {
    for (const [i, name] of task.outputs.entries()) {
      const ds = record.dag.datasets[name];
      if (ds === undefined) throw new DagctlError('DATASET_NOT_FOUND', `no dataset ${name}`);
      // Declared datasets get date= folders only: a bucket=NNN/ folder would read as a Hive partition
      // column in DuckDB or Spark and shadow a real column (the rollup view has one named bucket).
      // File names are salted with the instance id, so bucket instances never collide at the root.
      const folder = ds.partitionBy === 'date' && isDate(inst.partition) ? dateFolder(inst.partition) : '';
      const store = await storeFor(ds.uri);
      outputs.push(new OutputBinding(name, ds.uri, store, codec, folder, `${salt}|${name}`, counters, () => previous(i)));
    }
  }
  const workStore = needsWork ? await storeFor(work) : null;
  const shuffle = new ShuffleBinding(inst.buckets, workStore ?? (await storeFor(work)), `${stage.name}/r${inst.round}/`, salt);
  const blobs: Record<string, string> = {};
  const blobCache = await loadPriorBlobs([...job.prior, ...Object.values(job.stages ?? {}).flat()]);
  const ctx: StageContext<unknown> = {
    params,
    stage,
    stageIndex: inst.stageIndex,
    round: inst.round,
    partition: inst.partition,
    bucket: inst.bucket,
    buckets: inst.buckets,
    inputs,
    outputs,
    shuffle,
    prior: job.prior.length > 0 || inst.stageIndex > 0 || inst.round > 1 ? priorStage(job.prior, codec, counters, now, blobCache) : null,
    stageOutput(name) {
      const outs = job.stages?.[name];
      return outs === undefined ? null : priorStage(outs, codec, counters, now, blobCache);
    },
    previous,
    putBlob(name, bytes) {
      blobs[name] = Buffer.from(bytes).toString('base64');
    },
    attempt: job.attempt,
    signal: opts.signal,
    log(message, fields) {
      const line = JSON.stringify({ instance: job.instanceId, message, ...fields });
      logTail.push(line);
      opts.log?.(line);
    },
  };

  const runStart = performance.now();
  const res = module === undefined ? await op.run(ctx) : await runModule(op, ctx, module);
  if (opts.signal.aborted) throw new DagctlError('TASK_CANCELLED', `${job.instanceId}: aborted`);
  checkRejectShare(task, job.instanceId, res.metrics ?? {});

  // Commit: data files are already written create-only; now the markers, work-area marker last.
  const committed: CommittedOutput[] = [];
  const committedAt = new Date().toISOString();
  for (const o of outputs) {
    const files = await o.close();
    const marker = await writeCommitMarker(await storeFor(o.uri), { instanceId: job.instanceId, fingerprint: fp, runId: record.runId, committedAt, files });
    committed.push({ dataset: o.name, uri: o.uri, marker: markerKey(job.instanceId, fp), files: marker.files });
  }
  const stageFiles = await shuffle.close();
  if (workStore !== null) {
    const m: CommitMarker = { instanceId: job.instanceId, fingerprint: fp, runId: record.runId, committedAt, files: stageFiles };
    if (Object.keys(blobs).length > 0) m.blobs = blobs;
    if (res.metrics !== undefined && Object.keys(res.metrics).length > 0) m.metrics = res.metrics;
    if (res.narrow !== undefined) m.narrow = res.narrow;
    const marker = await writeCommitMarker(workStore, m);
    const out: CommittedOutput = { dataset: stageName, uri: work, marker: markerKey(job.instanceId, fp), files: marker.files };
    if (marker.blobs !== undefined) out.blobs = Object.keys(marker.blobs);
    committed.push(out);
  }
  const end = performance.now();
  return withPrune({
    memoized: false,
    fingerprint: fp,
    outputs: committed,
    metrics: res.metrics ?? {},
    inputBytes: inputs.reduce((s, i) => s + i.bytes, 0),
    inputRows: res.inputRows ?? counters.rowsIn,
    outputRows: counters.rowsOut,
    durationMs: end - started,
    setupMs: (counters.firstReadAt > 0 ? counters.firstReadAt : runStart) - started,
    worker: opts.worker,
    ...(logTail.text() === '' ? {} : { log: logTail.text() }),
  }, record, inst, res.narrow);
}

/** The last LOG_TAIL_CHARS characters of an attempt's ctx.log lines (kept with its result: bounded). */
export const LOG_TAIL_CHARS = 4096;
class LogTail {
  private lines: string[] = [];
  private size = 0;
  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > LOG_TAIL_CHARS && this.lines.length > 1) this.size -= (this.lines.shift() as string).length + 1;
  }
  text(): string {
    const t = this.lines.join('\n');
    return t.length > LOG_TAIL_CHARS ? '…' + t.slice(t.length - LOG_TAIL_CHARS + 1) : t;
  }
}

/** The operator name of a task (TASK_NOT_FOUND when the DAG has none by that name). */
function operatorNameOf(record: RunRecord, name: string): string {
  const t = taskByName(record, name);
  if (t === undefined) throw new DagctlError('TASK_NOT_FOUND', `no task ${name}`);
  return t.operator;
}

/**
 * Runs a module operator's stage: what it throws becomes OPERATOR_FAILED naming the module and
 * the DAG line declaring it (a DagctlError keeps its code, with the module added to its details).
 */
async function runModule(op: AnyOperator, ctx: StageContext<unknown>, ref: ModuleOperatorRef): Promise<StageResult> {
  try {
    return await op.run(ctx);
  } catch (e) {
    const where = `operator ${op.name} (${ref.module}${ref.at === undefined ? '' : `, declared at ${ref.at}`})`;
    if (isDagctlError(e)) throw new DagctlError(e.code, `${where}: ${e.message}`, { ...e.details, module: ref.module }, { cause: e });
    throw new DagctlError('OPERATOR_FAILED', `${where} threw: ${errorMessage(e)}`, { module: ref.module, at: ref.at }, { cause: e });
  }
}

/**
 * A task's maxRejectShare: an instance whose rejected rows (metrics.rejected) exceed that share of
 * the rows it read (metrics.rowsIn) fails with REJECTS_EXCEEDED before it commits anything.
 */
function checkRejectShare(task: TaskSpec, instanceId: string, metrics: Record<string, number>): void {
  const share = task.maxRejectShare;
  const rejected = metrics.rejected ?? 0;
  const rowsIn = metrics.rowsIn ?? 0;
  if (share === undefined || rejected === 0 || rowsIn === 0 || rejected / rowsIn <= share) return;
  const reasons = Object.fromEntries(Object.entries(metrics).filter(([k]) => k.startsWith('rejected.')).map(([k, v]) => [k.slice('rejected.'.length), v]));
  throw new DagctlError(
    'REJECTS_EXCEEDED',
    `${instanceId}: ${rejected} of ${rowsIn} rows rejected (${((100 * rejected) / rowsIn).toFixed(1)}%), over maxRejectShare ${share}; reasons: ${JSON.stringify(reasons)} (nothing was committed)`,
    { task: task.name, instance: instanceId, rejected, rowsIn, maxRejectShare: share, reasons },
  );
}

/**
 * StageResult.narrow → InstanceResult.prune: the ids of this task's instances of each named later
 * stage whose bucket is not listed (a stage without buckets: all of them, listed or not, when the
 * list is empty; else none). An unknown or earlier stage name prunes nothing.
 */
function withPrune(result: InstanceResult, record: RunRecord, inst: PlannedInstance, narrow: Record<string, number[]> | undefined): InstanceResult {
  if (narrow === undefined) return result;
  const prune: string[] = [];
  for (const p of record.plan) {
    const keep = p.task === inst.task && p.kind === 'work' && p.stageIndex > inst.stageIndex ? narrow[p.stage] : undefined;
    if (keep === undefined) continue;
    if (p.bucket >= 0 ? !keep.includes(p.bucket) : keep.length === 0) prune.push(p.id);
  }
  if (prune.length > 0) result.prune = prune;
  return result;
}

/** Whether this instance may run on a worker's event loop (its operator declares it trivial). */
export function runsInline(record: RunRecord, instanceId: string): boolean {
  const inst = planIndex(record).get(instanceId);
  if (inst === undefined || inst.kind !== 'work') return false;
  if (record.dag.modules?.[operatorNameOf(record, inst.task)] !== undefined) return false; // loaded on the thread
  const { op, params } = taskInfo(record, inst.task);
  return op.inline?.(params) === true;
}

interface TaskInfo {
  task: TaskSpec;
  op: AnyOperator;
  params: unknown;
  stages: StageSpec[];
}
const taskInfos = new WeakMap<RunRecord, Map<string, TaskInfo>>();

/** A task's spec, operator, parsed params and stages: resolved once per run record and task. */
function taskInfo(record: RunRecord, name: string): TaskInfo {
  let m = taskInfos.get(record);
  if (m === undefined) {
    m = new Map();
    taskInfos.set(record, m);
  }
  let info = m.get(name);
  if (info === undefined) {
    const task = taskByName(record, name);
    if (task === undefined) throw new DagctlError('TASK_NOT_FOUND', `no task ${name}`);
    const op = operatorOf(record.dag, task.operator);
    const parsed = op.params.safeParse(task.params);
    if (!parsed.success) throw new DagctlError('OPERATOR_PARAMS_INVALID', `task ${task.name}: ${parsed.error.message}`);
    info = { task, op, params: parsed.data, stages: op.stages(parsed.data, { inputs: task.inputs.length }) };
    m.set(name, info);
  }
  return info;
}

const taskMaps = new WeakMap<RunRecord, Map<string, TaskSpec>>();
/** A task of the run by name (a map built once per record: a run looks one up per instance). */
function taskByName(record: RunRecord, name: string): TaskSpec | undefined {
  let m = taskMaps.get(record);
  if (m === undefined) {
    m = new Map(record.dag.tasks.map((t) => [t.name, t]));
    taskMaps.set(record, m);
  }
  return m.get(name);
}

const planIndexes = new WeakMap<RunRecord, Map<string, PlannedInstance>>();
function planIndex(record: RunRecord): Map<string, PlannedInstance> {
  let m = planIndexes.get(record);
  if (m === undefined) {
    m = new Map(record.plan.map((p) => [p.id, p]));
    planIndexes.set(record, m);
  }
  return m;
}

function fileIdentity(f: FileEntry): string {
  return `${f.path}|${f.sha256 !== '' ? f.sha256 : (f.etag ?? '')}|${f.bytes}${f.deletes === undefined ? '' : `|${f.deletes.count}:${f.deletes.positions}`}${f.offset === undefined ? '' : `@${f.offset}`}`;
}

/** The committed outputs and metrics of an earlier identical attempt, or null (run it). */
async function memoized(record: RunRecord, outputNames: string[], hasOutputs: boolean, work: string, stageName: string, instanceId: string, fp: string): Promise<{ outputs: CommittedOutput[]; metrics: Record<string, number>; narrow?: Record<string, number[]> } | null> {
  const workMarker = await readCommitMarker(await storeFor(work), instanceId, fp);
  if (workMarker === null) return null;
  const out: CommittedOutput[] = [];
  if (hasOutputs) {
    for (const name of outputNames) {
      const uri = record.dag.datasets[name]?.uri ?? '';
      const m = await readCommitMarker(await storeFor(uri), instanceId, fp);
      if (m === null) return null;
      out.push({ dataset: name, uri, marker: markerKey(instanceId, fp), files: m.files });
    }
  }
  const stageOut: CommittedOutput = { dataset: stageName, uri: work, marker: markerKey(instanceId, fp), files: workMarker.files };
  if (workMarker.blobs !== undefined) stageOut.blobs = Object.keys(workMarker.blobs);
  out.push(stageOut);
  return workMarker.narrow === undefined ? { outputs: out, metrics: workMarker.metrics ?? {} } : { outputs: out, metrics: workMarker.metrics ?? {}, narrow: workMarker.narrow };
}

async function publish(record: RunRecord, job: InstanceJob, started: number, opts: RunInstanceOptions): Promise<InstanceResult> {
  let changed = 0;
  let superseded = 0;
  let rows = 0;
  assertOutsideSources(record.dag, (job.publish ?? []).map((p) => p.uri), job.instanceId);
  const producer: Producer = { dag: record.dag.name, dagHash: record.dagHash, runId: record.runId, runCreatedAt: new Date(record.createdAt).toISOString() };
  // Phase times (metrics ms.*): the guards and schema check, the view index, the swap + Delta commit.
  const ms = { check: 0, index: 0, swap: 0 };
  let t = performance.now();
  // Check every output before publishing any: a refused output leaves all of them unchanged.
  const pending: { p: NonNullable<InstanceJob['publish']>[number]; check: (cur: CurrentView | null) => void }[] = [];
  for (const p of job.publish ?? []) {
    const store = await storeFor(p.uri);
    // The guards judge the publication the swap would replace (`_CURRENT`), as publishVersion does.
    const cur = await readPublished(store);
    const same = cur !== null && sameFiles(cur.manifest.files, p.files);
    rows += p.files.reduce((s, f) => s + liveRows(f), 0);
    if (same && !job.force) continue;
    const check = publicationGuard(record, p.dataset, p.uri, p.files, producer);
    check(cur);
    const ds = record.dag.datasets[p.dataset];
    if (ds?.view === true && ds.delta !== false) await checkViewSchema(store, p.dataset, p.uri, p.files, ds.migrations ?? []);
    pending.push({ p, check });
  }
  for (const { p, check } of pending) {
    // The guards run again against the pointer each swap replaces (a concurrent publisher).
    const deltaLog = record.dag.datasets[p.dataset]?.delta !== false;
    const store = await storeFor(p.uri);
    ms.check += performance.now() - t;
    t = performance.now();
    const vi = record.dag.datasets[p.dataset]?.view === true ? await viewIndex(store, record.runId, p.files) : undefined;
    ms.index += performance.now() - t;
    t = performance.now();
    const r = await publishVersion(store, { version: record.runId, dataset: p.dataset, files: p.files, producer, monotonic: true, check, deltaLog, codec: defaultCodec(), ...(vi !== undefined ? vi : {}) });
    ms.swap += performance.now() - t;
    t = performance.now();
    if (r.swapped) changed++;
    else {
      superseded++;
      opts.log?.(JSON.stringify({ instance: job.instanceId, message: `${p.dataset}: not published, a later run's version ${r.pointer.version} is current`, dataset: p.dataset }));
    }
  }
  const fp = fingerprint({ publish: (job.publish ?? []).map((p) => ({ d: p.dataset, f: p.files.map(fileIdentity) })) });
  return {
    memoized: changed === 0 && superseded === 0 && (job.publish ?? []).length > 0,
    fingerprint: fp,
    outputs: [],
    metrics: { ...(superseded > 0 ? { published: changed, superseded, rows } : { published: changed, rows }), 'ms.check': ms.check, 'ms.index': ms.index, 'ms.swap': ms.swap },
    inputBytes: 0,
    inputRows: 0,
    outputRows: rows,
    durationMs: performance.now() - started,
    setupMs: 0,
    worker: opts.worker,
  };
}

/**
 * A rollup view's data extent and key index (serving/key-index.ts, imported only here: other
 * workers never load the serving layer), written beside the version and recorded in its
 * publication so queries need not scan; undefined for a view that is not a rollup view's shape, or
 * whose files cannot be read here: both are only hints (queries scan without them), and the
 * publication never vouched for its files' presence (`dagctl dataset verify` does).
 */
async function viewIndex(store: Awaited<ReturnType<typeof storeFor>>, version: string, files: FileEntry[]): Promise<{ bucketExtent: BucketExtent; keyIndex?: KeyIndexRef } | undefined> {
  const { buildViewIndex } = await import('../serving/key-index.js');
  const { scanBucketExtent } = await import('../serving/view.js');
  try {
    return await buildViewIndex(store, version, files);
  } catch (e) {
    if (isDagctlError(e, 'PARQUET_INVALID') || isDagctlError(e, 'STORAGE_NOT_FOUND')) return undefined;
    if (!isDagctlError(e, 'DATASET_SCHEMA_MISMATCH')) throw e;
  }
  // A layout the index does not read (its key columns not required strings): the extent alone.
  try {
    return { bucketExtent: await scanBucketExtent(store, files) };
  } catch (e) {
    if (isDagctlError(e, 'DATASET_SCHEMA_MISMATCH') || isDagctlError(e, 'PARQUET_INVALID') || isDagctlError(e, 'STORAGE_NOT_FOUND')) return undefined;
    throw e;
  }
}

/**
 * The migration guard of a view with a Delta log: the schema the publication would record
 * (delta-log.ts nextSchemaString, as its commit will) against the log's current schemaString;
 * SCHEMA_MIGRATION_REQUIRED for a change `migrations` does not declare, or one the files it keeps of
 * the current version cannot be read as. No log yet: nothing to compare.
 */
async function checkViewSchema(store: Awaited<ReturnType<typeof storeFor>>, dataset: string, uri: string, files: FileEntry[], migrations: SchemaMigration[]): Promise<void> {
  const snap = await readDeltaSnapshot(store, undefined, { cached: true });
  if (snap === null || snap.schemaString === null) return;
  const next = await nextSchemaString(store, defaultCodec(), snap, files);
  if (next === snap.schemaString) return;
  const where = `${uri}/_delta_log (version ${snap.version})`;
  const target = { dataset, uri, deltaVersion: snap.version };
  const [current, after] = [deltaColumns(snap.schemaString, where), deltaColumns(next, `${uri}: the new version`)];
  checkSchemaMigration(target, current, after, migrations);
  checkCarriedFiles(target, current, after, files.filter((f) => snap.files.has(f.path)).map((f) => f.path));
}

/** The producer and shrink guards of one output, as publishVersion's `check`. */
function publicationGuard(record: RunRecord, dataset: string, uri: string, files: FileEntry[], producer: Producer): (cur: CurrentView | null) => void {
  const ds = record.dag.datasets[dataset];
  const takeOver = ds?.takeOver === true || (record.options.takeOver ?? []).includes(dataset);
  const maxShrink = ds?.view === true && record.options.allowShrink !== true ? (ds.maxShrink ?? DEFAULT_MAX_SHRINK) : undefined;
  const newRows = files.reduce((s, f) => s + liveRows(f), 0);
  const target = { dataset, uri };
  return (cur) => {
    checkProducer(target, cur, producer, takeOver);
    if (maxShrink !== undefined) checkShrink(target, cur, newRows, maxShrink);
  };
}

function sameFiles(a: FileEntry[], b: FileEntry[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map(fileIdentity));
  return b.every((f) => set.has(fileIdentity(f)));
}

export type { StageSpec };
