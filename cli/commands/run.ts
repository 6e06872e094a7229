/**
 * `dagctl run FILE` — validate, plan and run a DAG. Embedded by default (worker threads in this
 * process, run state under .dagctl/); with --redis (or DAGCTL_REDIS_URL) the run is submitted to
 * Redis and executed by `dagctl worker` processes, and this command follows it (or exits at once
 * with --detach). `--resume RUN_ID` continues an embedded run whose process died; with --redis it
 * makes sure the distributed run is moving (workers carry it on) and follows it. An embedded run is
 * driven by one process at a time (the run's lock file): `--resume` of a live run is RUN_LOCKED.
 * Exit: 0 the run succeeded, 1 it failed or was cancelled, 2 invalid input.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { loadDag } from '../../definitions/load.js';
import { formatIssue } from '../../definitions/format-issues.js';
import { createRunRecord, newRunId } from '../../scheduler/create-run.js';
import { bundleStoreOf, placeBundle } from '../../operators/modules/bundle-store.js';
import { driveRun } from '../../scheduler/driver.js';
import { loadPlanningContext } from '../../scheduler/plan/context.js';
import { checkOwnership } from '../../scheduler/plan/ownership.js';
import type { RunState } from '../../scheduler/engine/state.js';
import type { RunOptions, RunRecord, RunStore } from '../../scheduler/ports.js';
import { buildStatus } from '../../scheduler/status-view.js';
import { LocalRunStore, watchCancelRequest } from '../../scheduler/stores/local-run-store.js';
import { EmbeddedExecutor, embeddedPool, threadedTasks, type EmbeddedOptions } from '../../workers/embedded/pool.js';
import type { ThreadPool } from '../../workers/threads/pool.js';
import { reclaimAndRecord, reclaimDue } from '../../workers/reclaim.js';
import { flag, str, strs, writeJson, type CliIO, type CommandDef } from '../command.js';
import { ProgressReporter } from '../progress.js';
import { keepRunPage } from '../../ui/server/view-cache.js';
import { dagLoadOptions, localStore, openRunStoreFor, parseParamFlags, redisUrlOf, renderStatus } from '../shared.js';

export const runCommand: CommandDef = {
  name: 'run',
  summary: 'Run a DAG (embedded executor, or on Redis/BullMQ with --redis)',
  usage: `dagctl run FILE [--param k=v]... [--concurrency N] [--force] [--rerun-from TASK] [--work keep|reclaim] [--json]
dagctl run --resume RUN_ID [--concurrency N] [--json]
dagctl run FILE --redis URL [--detach] [--deadline D] [--work keep|reclaim]
dagctl run --resume RUN_ID --redis URL [--detach]

  --param k=v        override a DAG param (repeatable)
  --concurrency N    worker threads (default: one per core)
  --thread-heap-mb M heap limit of each worker thread, MB (default 384; also DAGCTL_THREAD_HEAP_MB)
  --force            ignore memoized results: run every instance
  --work MODE        keep|reclaim, overrides the DAG's \`work:\`: reclaim deletes its tasks' work
                     areas (<dataset>/_work/<task>/: shuffle files and stage markers) once the run
                     succeeded; the next run recomputes them instead of reusing them. A failed or
                     cancelled run keeps them (else \`dagctl dataset vacuum\` collects old work)
  --reclaim-work     the same as --work reclaim
  --take-over DS     publish dataset DS over a version another DAG published (repeatable)
  --allow-shrink     publish views even when they drop more than their maxShrink share of rows
  --rerun-from TASK  re-run TASK and everything downstream of it; the rest may be memoized
  --resume RUN_ID    continue an embedded run whose process died, without redoing committed work;
                     with --redis: restart a distributed run's progress if needed and follow it
  --redis URL        submit to Redis (also DAGCTL_REDIS_URL); workers execute it
  --detach           with --redis: submit and exit; the run goes on without this process
  --deadline D       the run should finish within D (e.g. 2h): recorded in the run, and the
                     autoscaling metrics (dagctl autoscale-metrics) size workers to meet it
  --json             print the final status as JSON (no progress output)
  --max-dag-bytes N  largest DAG file accepted (default 8 MiB; also DAGCTL_MAX_DAG_BYTES)`,
  options: {
    param: { type: 'string', multiple: true },
    concurrency: { type: 'string' },
    'thread-heap-mb': { type: 'string' },
    force: { type: 'boolean' },
    'reclaim-work': { type: 'boolean' },
    work: { type: 'string' },
    'take-over': { type: 'string', multiple: true },
    'allow-shrink': { type: 'boolean' },
    'rerun-from': { type: 'string' },
    resume: { type: 'string' },
    redis: { type: 'string' },
    detach: { type: 'boolean' },
    deadline: { type: 'string' },
    json: { type: 'boolean' },
    'max-dag-bytes': { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const json = flag(args, 'json');
    const concurrency = parseConcurrency(str(args, 'concurrency'));
    const heapMb = parseHeap(str(args, 'thread-heap-mb')); // checked before any run is created
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    const resume = str(args, 'resume');
    const work = parseWork(str(args, 'work'), flag(args, 'reclaim-work'));
    if (work !== undefined && resume !== undefined && redisUrl !== undefined) throw new DagctlError('USAGE', '--work/--reclaim-work: a distributed run\'s work setting is fixed when it is created');

    let record: RunRecord;
    let store: RunStore;
    /** Threads started ahead (a fresh embedded run), until the executor takes them over. */
    let early: ThreadPool | null = null;
    if (resume !== undefined) {
      store = await openRunStoreFor(io, redisUrl);
      const r = await store.getRecord(resume);
      if (r === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${resume}`);
      record = r;
      if (redisUrl !== undefined) return await resumeDistributed(io, store, record, redisUrl, flag(args, 'detach'), json);
    } else {
      const file = args.positionals[0];
      if (file === undefined || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one DAG file\n${runCommand.usage}`);
      const params = parseParamFlags(strs(args, 'param'));
      const loaded = await loadDag(file, { paramOverrides: params, ...dagLoadOptions(io, str(args, 'max-dag-bytes')) });
      const errors = loaded.issues.filter((i) => i.severity === 'error');
      if (loaded.dag === undefined || errors.length > 0) {
        if (json) writeJson(io, { valid: false, issues: loaded.issues });
        else for (const i of loaded.issues) io.stderr.write(formatIssue(i) + '\n');
        return 2;
      }
      if (loaded.dag.usesRunVars === true) {
        throw new DagctlError('USAGE', `${file} uses \${run.intervalStart}/\${run.intervalEnd}: a run needs an interval — use \`dagctl backfill ${file} --from D --to D\` or \`dagctl scheduler\``);
      }
      const rerunFrom = str(args, 'rerun-from');
      if (rerunFrom !== undefined && !loaded.dag.tasks.some((t) => t.name === rerunFrom)) {
        throw new DagctlError('USAGE', `--rerun-from: no task "${rerunFrom}" in ${loaded.dag.name}`);
      }
      // An embedded run's threads start now and load their modules (~0.3 s each) while this
      // thread lists the sources and plans; the executor takes the pool over.
      const threaded = redisUrl === undefined ? Math.min(concurrency ?? availableParallelism(), threadedTasks(loaded.dag)) : 0;
      if (threaded > 0) {
        early = embeddedPool(embeddedOptions(concurrency ?? availableParallelism(), heapMb));
        early.warm(threaded);
      }
      try {
        store = await openRunStoreFor(io, redisUrl);
        const ctx = await loadPlanningContext(loaded.dag, undefined, redisUrl === undefined ? store : localStore(io));
        for (const u of ctx.uncommitted ?? []) io.stderr.write(`warning: UNCOMMITTED_FILES: ${u.message}\n`);
        const now = Date.now();
        const options: RunOptions = { force: flag(args, 'force'), params, executor: redisUrl === undefined ? 'embedded' : 'bullmq' };
        if (rerunFrom !== undefined) options.rerunFrom = rerunFrom;
        if (concurrency !== undefined) options.concurrency = concurrency;
        const takeOver = strs(args, 'take-over');
        for (const t of takeOver) if (loaded.dag.datasets[t]?.producer === undefined) throw new DagctlError('USAGE', `--take-over: ${loaded.dag.name} produces no dataset "${t}"`);
        if (takeOver.length > 0) options.takeOver = takeOver;
        if (flag(args, 'allow-shrink')) options.allowShrink = true;
        if (work !== undefined) options.work = work;
        await checkOwnership(loaded.dag, takeOver);
        const deadlineText = str(args, 'deadline');
        if (deadlineText !== undefined) {
          const ms = parseDuration(deadlineText);
          if (ms === null || ms <= 0) throw new DagctlError('USAGE', `--deadline: "${deadlineText}" is not a positive duration (e.g. 30m, 2h)`);
          options.deadlineAt = now + ms;
        }
        const created = createRunRecord({ dag: loaded.dag, text: loaded.text, ctx, options, now, runId: newRunId(loaded.dag.name, now, randomBytes(8).toString('hex')), bundle: loaded.bundle });
        record = created.record;
        // Workers on other machines fetch the operator code by hash from the object store, if one applies.
        const bundleStore = bundleStoreOf(loaded.dag, options.executor, io.env, io.cwd);
        if (bundleStore !== null) record = await placeBundle(record, bundleStore);
        await store.createRun(record, created.state);
      } catch (e) {
        await early?.close();
        throw e;
      }
      if (redisUrl !== undefined) {
        return await submitDistributed(io, store, record, redisUrl, flag(args, 'detach'), json);
      }
    }

    // One driver per run: a second `--resume` of a live run is refused with RUN_LOCKED.
    let unlock: () => Promise<void> = async () => undefined;
    if (store instanceof LocalRunStore) {
      try {
        unlock = await store.lockDriver(record.runId, { command: resume !== undefined ? 'run --resume' : 'run', pid: process.pid });
      } catch (e) {
        await store.close();
        await early?.close();
        throw e;
      }
    }
    if (!json) io.stdout.write(`run ${record.runId} (${record.plan.length} instances, dag ${record.dag.name} ${record.dagHash.slice(0, 12)})\n`);
    const threads = concurrency ?? record.options.concurrency ?? availableParallelism();
    const progress = json ? null : new ProgressReporter(io, record, threads);
    // `dagctl ui` cancels an embedded run by leaving a cancel request in its run folder.
    const uiCancel = store instanceof LocalRunStore ? watchCancelRequest(store, record.runId, 500, io.interrupted) : null;
    let final: RunState | null = null;
    try {
      final = await driveRun({
        store,
        record,
        resume: resume !== undefined,
        cancel: uiCancel?.signal ?? io.interrupted,
        makeExecutor: (onEvent) => {
          // The pool started ahead, if it has the threads this run asks for (a resumed run's may differ).
          const pool = early !== null && early.size === threads ? early : null;
          if (pool === null) void early?.close();
          early = null;
          return new EmbeddedExecutor(record, onEvent, { ...embeddedOptions(threads, heapMb), ...(pool === null ? {} : { pool }) });
        },
        onProgress: (s) => progress?.update(s),
      });
      // A resumed embedded run takes --work as given now, else the policy it was created with.
      if (reclaimDue(work === undefined ? record : { ...record, options: { ...record.options, work } }, final.phase)) await reclaimWork(io, store, record, json);
      return report(io, record, final, progress, json);
    } finally {
      await early?.close();
      uiCancel?.stop();
      await store.close();
      // A big finished run's page for `dagctl ui`, written while this process still holds the run
      // (only a cache: a failure to write it does not fail the run).
      if (final !== null && store instanceof LocalRunStore) await keepRunPage(store.home, record, final, availableParallelism()).catch(() => undefined);
      await unlock();
    }
  },
};

/** `work: reclaim`: the succeeded run's work areas, deleted (workers/reclaim.ts). */
async function reclaimWork(io: CliIO, store: RunStore, record: RunRecord, json: boolean): Promise<void> {
  const r = await reclaimAndRecord(store, record);
  if (r.skipped !== undefined) io.stderr.write(`work kept: run ${r.skipped} of ${record.dag.name} is still active and shares its work areas\n`);
  else if (!json) io.stdout.write(`reclaimed ${r.files} work file(s), ${(r.bytes / 1e6).toFixed(1)} MB\n`);
}

/** `--work keep|reclaim` (`--reclaim-work` is `--work reclaim`); undefined: the DAG's `work:` decides. */
function parseWork(v: string | undefined, reclaimFlag: boolean): 'keep' | 'reclaim' | undefined {
  if (v !== undefined && v !== 'keep' && v !== 'reclaim') throw new DagctlError('USAGE', `--work expects keep or reclaim, got "${v}"`);
  if (reclaimFlag && v === 'keep') throw new DagctlError('USAGE', '--reclaim-work contradicts --work keep');
  return reclaimFlag ? 'reclaim' : v;
}

/** Prints the final status (table or JSON); the exit code says whether the run succeeded. */
function report(io: CliIO, record: RunRecord, final: RunState, progress: ProgressReporter | null, json: boolean): number {
  progress?.finish(final);
  const view = buildStatus(record, final, Date.now());
  if (json) writeJson(io, view);
  else io.stdout.write('\n' + renderStatus(view));
  return final.phase === 'succeeded' ? 0 : 1;
}

/** The embedded executor's options for `threads` threads and an optional --thread-heap-mb. */
function embeddedOptions(threads: number, heapMb: number | undefined): EmbeddedOptions {
  return heapMb === undefined ? { concurrency: threads } : { concurrency: threads, maxThreadHeapMb: heapMb };
}

function parseHeap(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 32 || n > 65_536) throw new DagctlError('USAGE', `--thread-heap-mb expects an integer 32..65536, got "${v}"`);
  return n;
}

function parseConcurrency(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new DagctlError('USAGE', `--concurrency expects an integer 1..1024, got "${v}"`);
  return n;
}

interface DistributedModule {
  submitRun(store: RunStore, record: RunRecord, redisUrl: string): Promise<void>;
  resumeRun(store: RunStore, record: RunRecord, redisUrl: string): Promise<{ phase: RunState['phase']; action: 'none' | 'started' | 'swept' | 'recovered'; enqueued: number }>;
  followRun(store: RunStore, record: RunRecord, onUpdate: (s: RunState) => void, signal: AbortSignal): Promise<RunState>;
}

async function submitDistributed(io: CliIO, store: RunStore, record: RunRecord, redisUrl: string, detach: boolean, json: boolean): Promise<number> {
  const mod = (await import(DISTRIBUTED_MODULE)) as DistributedModule;
  try {
    await mod.submitRun(store, record, redisUrl);
    if (!json) io.stdout.write(`run ${record.runId} submitted to ${redactUrl(redisUrl)} (${record.plan.length} instances)\n`);
    return await followOrDetach(io, mod, store, record, detach, json, { runId: record.runId, submitted: true });
  } finally {
    await store.close();
  }
}

/** `--resume RUN --redis`: workers carry a distributed run; make sure it moves, then follow it like a submit. */
async function resumeDistributed(io: CliIO, store: RunStore, record: RunRecord, redisUrl: string, detach: boolean, json: boolean): Promise<number> {
  const mod = (await import(DISTRIBUTED_MODULE)) as DistributedModule;
  try {
    const r = await mod.resumeRun(store, record, redisUrl);
    if (!json) io.stdout.write(`run ${record.runId} resumed on ${redactUrl(redisUrl)}: ${r.action}${r.enqueued > 0 ? `, ${r.enqueued} job(s) enqueued` : ''}\n`);
    return await followOrDetach(io, mod, store, record, detach, json, { runId: record.runId, resumed: r.action, phase: r.phase });
  } finally {
    await store.close();
  }
}

/** After submit/resume: with --detach print `detached` (--json) and return; else follow to the end. */
async function followOrDetach(io: CliIO, mod: DistributedModule, store: RunStore, record: RunRecord, detach: boolean, json: boolean, detached: Record<string, unknown>): Promise<number> {
  if (detach) {
    if (json) writeJson(io, detached);
    return 0;
  }
  const progress = json ? null : new ProgressReporter(io, record, 1);
  const final = await mod.followRun(store, record, (s) => progress?.update(s), io.interrupted);
  return report(io, record, final, progress, json);
}

// Variable specifiers keep the Redis/BullMQ code (and its connections) out of embedded runs.
const DISTRIBUTED_MODULE = '../../workers/bullmq/submit.js';

function redactUrl(u: string): string {
  return u.replace(/\/\/([^@/]*)@/, '//***@');
}
