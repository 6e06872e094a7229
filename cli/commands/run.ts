/**
 * `dagctl run FILE` — validate, plan and run a DAG. Embedded by default (worker threads in this
 * process, run state under .dagctl/); with --redis (or DAGCTL_REDIS_URL) the run is submitted to
 * Redis and executed by `dagctl worker` processes, and this command follows it (or exits at once
 * with --detach). `--resume RUN_ID` continues an embedded run whose process died; with --redis it
 * makes sure the distributed run is moving (workers carry it on) and follows it. An embedded run is
 * driven by one process at a time (the run's lock file): `--resume` of a live run is RUN_LOCKED.
 * Exit: 0 the run succeeded, 1 it failed or was cancelled, 2 invalid input.
 *
 * This module parses the options and, for a fresh embedded run on a machine with more than one
 * core whose DAG text names an operator that runs on threads, starts the run's first thread before
 * anything else loads (it imports no operator, storage or scheduler code): it loads its modules
 * while this thread loads run-exec.ts (which does the rest), reads the DAG and plans.
 */
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { DagctlError } from '../../core/errors.js';
import { embeddedPool, embeddedPoolOptions, mayUseThreads } from '../../workers/embedded/threads.js';
import type { ThreadPool } from '../../workers/threads/pool.js';
import { flag, redisUrlOf, str, type CommandDef } from '../command.js';

/** The options `dagctl run` checks before it starts anything (a bad one is USAGE, with no thread started and no run created). */
export interface RunFlags {
  json: boolean;
  concurrency: number | undefined;
  heapMb: number | undefined;
  redisUrl: string | undefined;
  resume: string | undefined;
  work: 'keep' | 'reclaim' | undefined;
}

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
    const flags: RunFlags = {
      json: flag(args, 'json'),
      concurrency: parseConcurrency(str(args, 'concurrency')),
      heapMb: parseHeap(str(args, 'thread-heap-mb')),
      redisUrl: redisUrlOf(io, str(args, 'redis')),
      resume: str(args, 'resume'),
      work: parseWork(str(args, 'work'), flag(args, 'reclaim-work')),
    };
    if (flags.work !== undefined && flags.resume !== undefined && flags.redisUrl !== undefined) throw new DagctlError('USAGE', '--work/--reclaim-work: a distributed run\'s work setting is fixed when it is created');
    // A fresh embedded run whose DAG may use threads starts its first thread now, on a core this
    // thread leaves idle while it loads its own modules and reads the DAG: the thread loads its
    // modules (~0.2 s of CPU) meanwhile. run-exec.ts starts the others once the DAG says how many
    // its tasks can use (and ends this one if none).
    let early: ThreadPool | null = null;
    const file = args.positionals.length === 1 ? args.positionals[0] : undefined;
    if (file !== undefined && flags.resume === undefined && flags.redisUrl === undefined && availableParallelism() > 1 && (await dagMayUseThreads(file))) {
      early = embeddedPool(embeddedPoolOptions(flags.concurrency ?? availableParallelism(), flags.heapMb));
      early.warm(1);
    }
    let exec: typeof import('./run-exec.js');
    try {
      exec = await import('./run-exec.js');
    } catch (e) {
      await early?.close();
      throw e;
    }
    return await exec.executeRun(args, io, flags, early);
  },
};

/** Files larger than this are not read twice for the hint: such a DAG is taken to use threads. */
export const HINT_MAX_BYTES = 256 * 1024;

/**
 * mayUseThreads of the DAG file's text; false when it cannot be read (loading the DAG reports that).
 * Only a regular file is read, and at most HINT_MAX_BYTES of it from the handle it opened: a pipe,
 * /dev/stdin, a process substitution or a device (/dev/zero) is left whole for loadDag to read (and
 * to hold to --max-dag-bytes), and the run starts its threads once the DAG says how many. The path
 * is stat'ed before it is opened: opening a FIFO and closing it unread would cost its writer the
 * reader it waited for.
 */
export async function dagMayUseThreads(file: string): Promise<boolean> {
  let h: Awaited<ReturnType<typeof open>> | undefined;
  try {
    if (!(await stat(file)).isFile()) return false;
    h = await open(file, 'r');
    const s = await h.stat();
    if (!s.isFile()) return false;
    if (s.size > HINT_MAX_BYTES) return true;
    const buf = Buffer.alloc(HINT_MAX_BYTES);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await h.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    // Grown to the cap since its stat: taken to use threads, as a larger file is.
    return n >= HINT_MAX_BYTES || mayUseThreads(buf.toString('utf8', 0, n));
  } catch {
    return false;
  } finally {
    await h?.close().catch(() => undefined);
  }
}

/** `--work keep|reclaim` (`--reclaim-work` is `--work reclaim`); undefined: the DAG's `work:` decides. */
function parseWork(v: string | undefined, reclaimFlag: boolean): 'keep' | 'reclaim' | undefined {
  if (v !== undefined && v !== 'keep' && v !== 'reclaim') throw new DagctlError('USAGE', `--work expects keep or reclaim, got "${v}"`);
  if (reclaimFlag && v === 'keep') throw new DagctlError('USAGE', '--reclaim-work contradicts --work keep');
  return reclaimFlag ? 'reclaim' : v;
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
