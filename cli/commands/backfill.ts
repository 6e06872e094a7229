/**
 * `dagctl backfill FILE --from D --to D [--parallel N]` — one run per schedule interval in the
 * range (scheduler/schedule/backfill.ts), each with its interval in ${run.x} and the id the
 * scheduler would give that tick; resumable and idempotent (a repeat finds the runs done, an
 * interrupted one carries its unfinished runs on). Embedded by default; --redis submits to workers
 * and follows. Exit 0 when every interval's run succeeded, 1 otherwise, 2 invalid input.
 */
import { DagctlError } from '../../core/errors.js';
import { parseBound } from '../../core/ticks.js';
import { driveRun } from '../../scheduler/driver.js';
import type { RunState } from '../../scheduler/engine/state.js';
import type { RunRecord, RunStore } from '../../scheduler/ports.js';
import { backfill, type BackfillItem } from '../../scheduler/schedule/backfill.js';
import { createIntervalRun } from '../../scheduler/schedule/launch.js';
import { formatIssue } from '../../definitions/format-issues.js';
import { loadDag } from '../../definitions/load.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { reclaimAndRecord, reclaimDue } from '../../workers/reclaim.js';
import { flag, redisUrlOf, str, strs, writeJson, type CommandDef } from '../command.js';
import { localStore, openRunStoreFor, parseParamFlags } from '../shared.js';

export const backfillCommand: CommandDef = {
  name: 'backfill',
  summary: 'Run a scheduled DAG once per interval of a past range (resumable, idempotent)',
  usage: `dagctl backfill FILE --from D --to D [--parallel N] [--param k=v]... [--json] [--redis URL]

  --from D, --to D   the range: a date (midnight in the schedule's time zone) or an ISO instant
                     with Z/offset; one run per schedule tick T with from < T <= to, i.e. per
                     interval [previous tick, T) inside the range
  --parallel N       runs at once (default 1)
  --concurrency N    embedded: worker threads per run (default one per core)
  --redis URL        submit the runs to Redis workers (also DAGCTL_REDIS_URL)
  --json             print the report as JSON`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    parallel: { type: 'string' },
    concurrency: { type: 'string' },
    param: { type: 'string', multiple: true },
    redis: { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    const file = args.positionals[0];
    if (file === undefined || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one DAG file\n${backfillCommand.usage}`);
    const json = flag(args, 'json');
    const params = parseParamFlags(strs(args, 'param'));
    const loaded = await loadDag(file, { paramOverrides: params });
    if (loaded.dag === undefined) {
      if (json) writeJson(io, { valid: false, issues: loaded.issues });
      else for (const i of loaded.issues) io.stderr.write(formatIssue(i) + '\n');
      return 2;
    }
    const schedule = loaded.dag.schedule;
    if (schedule === undefined) throw new DagctlError('USAGE', `${file} has no schedule: backfill splits the range by the DAG's schedule (cron or every)`);
    const fromText = str(args, 'from');
    const toText = str(args, 'to');
    if (fromText === undefined || toText === undefined) throw new DagctlError('USAGE', `--from and --to are required\n${backfillCommand.usage}`);
    const from = parseBound(fromText, schedule.timezone);
    const to = parseBound(toText, schedule.timezone);
    if (from === null) throw new DagctlError('USAGE', `--from: "${fromText}" is not a date (YYYY-MM-DD) or an ISO instant with Z/offset`);
    if (to === null) throw new DagctlError('USAGE', `--to: "${toText}" is not a date (YYYY-MM-DD) or an ISO instant with Z/offset`);
    if (to <= from) throw new DagctlError('USAGE', `--to must be after --from`);
    const parallel = intIn(str(args, 'parallel') ?? '1', '--parallel', 1, 256);
    const threads = str(args, 'concurrency') === undefined ? undefined : intIn(str(args, 'concurrency') as string, '--concurrency', 1, 1024);
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    const store = await openRunStoreFor(io, redisUrl);
    const history = redisUrl === undefined ? store : localStore(io);
    const dist = redisUrl === undefined ? null : ((await import(DISTRIBUTED_MODULE)) as DistributedModule);
    try {
      const report = await backfill(schedule, from, to, parallel, {
        create: (tick) => createIntervalRun({ store, historyStore: history, file, text: loaded.text, schedule, tick, kind: 'backfill', executor: redisUrl === undefined ? 'embedded' : 'bullmq', now: Date.now(), params }),
        phase: async (runId) => (await store.getState(runId))?.phase ?? null,
        carry: async (record, resume) => {
          if (dist !== null && redisUrl !== undefined) {
            await dist.resumeRun(store, record, redisUrl);
            return (await dist.followRun(store, record, () => {}, io.interrupted)).phase;
          }
          return (await drive(store, record, resume, io.interrupted, threads)).phase;
        },
        onProgress: (item) => {
          if (!json) io.stdout.write(line(item));
        },
      });
      if (json) writeJson(io, report);
      else io.stdout.write(`${report.intervals} interval(s): ${report.created} created, ${report.found} found done, ${report.resumed} resumed; ${report.succeeded} succeeded, ${report.failed} not\n`);
      return report.failed === 0 ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};

function line(i: BackfillItem): string {
  return `${i.tick}  ${i.runId}  ${i.how.padEnd(8)} ${i.phase}\n`;
}

async function drive(store: RunStore, record: RunRecord, resume: boolean, cancel: AbortSignal, threads: number | undefined): Promise<RunState> {
  const final = await driveRun({ store, record, resume, cancel, makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, threads === undefined ? {} : { concurrency: threads }) });
  if (reclaimDue(record, final.phase)) await reclaimAndRecord(store, record);
  return final;
}

interface DistributedModule {
  resumeRun(store: RunStore, record: RunRecord, redisUrl: string): Promise<unknown>;
  followRun(store: RunStore, record: RunRecord, onUpdate: (s: RunState) => void, signal: AbortSignal): Promise<RunState>;
}
const DISTRIBUTED_MODULE = '../../workers/bullmq/submit.js';

function intIn(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new DagctlError('USAGE', `${name} expects an integer ${min}..${max}, got "${v}"`);
  return n;
}
