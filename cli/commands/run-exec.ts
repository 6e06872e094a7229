/**
 * The body of `dagctl run` (cli/commands/run.ts parses the options, starts a fresh embedded run's
 * threads and loads this module): create the run (validate, plan, store) or find the one to resume,
 * then drive it embedded or submit/follow it on Redis. A fresh embedded run's threads start as soon
 * as the DAG says how many its tasks can use (joining the one run.ts may have started) and become
 * the embedded executor's pool; on every other way out (invalid DAG, failed planning) they are
 * closed before this returns.
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
import { EmbeddedExecutor, threadedTasks } from '../../workers/embedded/pool.js';
import { embeddedPool, embeddedPoolOptions } from '../../workers/embedded/threads.js';
import type { ThreadPool } from '../../workers/threads/pool.js';
import { reclaimAndRecord, reclaimDue } from '../../workers/reclaim.js';
import { flag, str, strs, writeJson, type CliIO, type ParsedArgs } from '../command.js';
import { ProgressReporter } from '../progress.js';
import { keepRunPage } from '../../ui/server/view-cache.js';
import { dagLoadOptions, localStore, openRunStoreFor, parseParamFlags, renderStatus } from '../shared.js';
import { runCommand, type RunFlags } from './run.js';

/** Runs `dagctl run` with its checked flags; `started`: the threads run.ts started (closed here unless the executor takes them). */
export async function executeRun(args: ParsedArgs, io: CliIO, flags: RunFlags, started: ThreadPool | null): Promise<number> {
  const { json, concurrency, heapMb, redisUrl, resume, work } = flags;
  /** The threads started ahead, until the executor takes them over. */
  let early = started;
  try {
    let record: RunRecord;
    let store: RunStore;
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
      // An embedded run's threads (the first may be running already) start now and load their
      // modules while this thread lists the sources and plans: as many as the DAG's tasks can use,
      // none for a run of inline operators. The executor takes the pool over.
      if (redisUrl === undefined) {
        const threaded = Math.min(concurrency ?? availableParallelism(), threadedTasks(loaded.dag));
        if (early !== null) await early.shrink(threaded);
        else if (threaded > 0) early = embeddedPool(embeddedPoolOptions(concurrency ?? availableParallelism(), heapMb));
        early?.warm(threaded);
      }
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
        throw e;
      }
    }
    if (!json) io.stdout.write(`run ${record.runId} (${record.plan.length} instances, dag ${record.dag.name} ${record.dagHash.slice(0, 12)})\n`);
    const threads = concurrency ?? record.options.concurrency ?? availableParallelism();
    const progress = json ? null : new ProgressReporter(io, record, threads);
    // `dagctl ui` cancels an embedded run by leaving a cancel request in its run folder.
    const uiCancel = store instanceof LocalRunStore ? watchCancelRequest(store, record.runId, 500, io.interrupted) : null;
    let final: RunState | null = null;
    /**
     * The executor's close, awaited last: its threads' exit (tearing down their heaps, tens of ms
     * after a big run) overlaps the report and the store's close. driveRun awaits close() before it
     * returns, and the executor reports nothing once close() was called, so only the wait moves.
     */
    let closing: Promise<void> = Promise.resolve();
    try {
      final = await driveRun({
        store,
        record,
        resume: resume !== undefined,
        cancel: uiCancel?.signal ?? io.interrupted,
        makeExecutor: (onEvent) => {
          // The pool started ahead, if it has the threads this run asks for.
          const pool = early !== null && early.size === threads ? early : null;
          if (pool === null) void early?.close();
          early = null;
          const executor = new EmbeddedExecutor(record, onEvent, { ...embeddedPoolOptions(threads, heapMb), ...(pool === null ? {} : { pool }) });
          return {
            dispatch: (jobs) => executor.dispatch(jobs),
            abort: (ids) => executor.abort(ids),
            close: () => {
              // Handled now (awaited in the finally below, which rethrows): a rejection while the
              // store closes is never unhandled.
              closing = executor.close();
              closing.catch(() => undefined);
              return Promise.resolve();
            },
          };
        },
        onProgress: (s) => progress?.update(s),
      });
      // A resumed embedded run takes --work as given now, else the policy it was created with.
      if (reclaimDue(work === undefined ? record : { ...record, options: { ...record.options, work } }, final.phase)) await reclaimWork(io, store, record, json);
      return report(io, record, final, progress, json);
    } finally {
      // The threads' exit and the unlock come last whatever fails before them (a store that does
      // not close included).
      try {
        await early?.close();
        early = null;
        uiCancel?.stop();
        await store.close();
        // A big finished run's page for `dagctl ui`, written while this process still holds the run
        // (only a cache: a failure to write it does not fail the run).
        if (final !== null && store instanceof LocalRunStore) await keepRunPage(store.home, record, final, availableParallelism()).catch(() => undefined);
      } finally {
        try {
          await closing;
        } finally {
          await unlock();
        }
      }
    }
  } finally {
    // Whatever way this returns or throws, no thread it was given outlives it.
    await early?.close();
  }
}

/** `work: reclaim`: the succeeded run's work areas, deleted (workers/reclaim.ts). */
async function reclaimWork(io: CliIO, store: RunStore, record: RunRecord, json: boolean): Promise<void> {
  const r = await reclaimAndRecord(store, record);
  if (r.skipped !== undefined) io.stderr.write(`work kept: run ${r.skipped} of ${record.dag.name} is still active and shares its work areas\n`);
  else if (!json) io.stdout.write(`reclaimed ${r.files} work file(s), ${(r.bytes / 1e6).toFixed(1)} MB\n`);
}

/** Prints the final status (table or JSON); the exit code says whether the run succeeded. */
function report(io: CliIO, record: RunRecord, final: RunState, progress: ProgressReporter | null, json: boolean): number {
  progress?.finish(final);
  const view = buildStatus(record, final, Date.now());
  if (json) writeJson(io, view);
  else io.stdout.write('\n' + renderStatus(view));
  return final.phase === 'succeeded' ? 0 : 1;
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
