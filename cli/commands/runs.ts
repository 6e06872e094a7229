/**
 * `dagctl runs` — past runs, newest first, each with what triggered it (`trigger`: manual,
 * schedule/backfill with the tick `at` and its interval, or data).
 */
import { formatDuration } from '../../core/duration.js';
import type { RunTrigger } from '../../scheduler/ports.js';
import { flag, redisUrlOf, str, writeJson, type CommandDef } from '../command.js';
import { openRunStoreFor } from '../shared.js';

export const runsCommand: CommandDef = {
  name: 'runs',
  summary: 'List past runs',
  usage: 'dagctl runs [--dag NAME] [--limit N] [--json] [--redis URL]',
  options: { dag: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, redis: { type: 'string' } },
  allowPositionals: false,
  async run(args, io) {
    const store = await openRunStoreFor(io, redisUrlOf(io, str(args, 'redis')));
    try {
      const opts: { dag?: string; limit?: number } = { limit: Number(str(args, 'limit') ?? 20) };
      const dag = str(args, 'dag');
      if (dag !== undefined) opts.dag = dag;
      const runs = await store.listRuns(opts);
      if (flag(args, 'json')) {
        writeJson(io, runs);
        return 0;
      }
      io.stdout.write(`${'RUN'.padEnd(48)} ${'PHASE'.padEnd(10)} ${'INST'.padStart(6)} ${'DURATION'.padStart(9)}  ${'CREATED'.padEnd(24)}  TRIGGER\n`);
      for (const r of runs) {
        const d = r.startedAt !== undefined && r.finishedAt !== undefined ? formatDuration(r.finishedAt - r.startedAt) : '-';
        io.stdout.write(`${r.runId.padEnd(48)} ${r.phase.padEnd(10)} ${String(r.instances).padStart(6)} ${d.padStart(9)}  ${new Date(r.createdAt).toISOString().padEnd(24)}  ${triggerText(r.trigger)}${r.expired === true ? '  (details expired)' : ''}\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

function triggerText(t: RunTrigger): string {
  if (t.kind === 'schedule' || t.kind === 'backfill') return `${t.kind} ${t.at}`;
  if (t.kind === 'data') return `data ${t.dataset} (${t.partitions.length} partition(s))`;
  return 'manual';
}
