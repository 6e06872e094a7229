/**
 * `dagctl retry RUN_ID [--from TASK]` — re-runs a distributed run in place: its failed,
 * upstream_failed and cancelled instances start over (fresh attempts), and with --from TASK also
 * TASK's instances and everything downstream of them. Unchanged work is still memoized by the task
 * runner (same fingerprint ⇒ skipped), so only what must run runs. Follows the run like
 * `dagctl run` unless --detach.
 */
import { DagctlError } from '../../core/errors.js';
import { flag, redisUrlOf, str, writeJson, type CommandDef } from '../command.js';

export const retryCommand: CommandDef = {
  name: 'retry',
  summary: 'Retry a failed run, optionally from a task',
  usage: `dagctl retry RUN_ID --redis URL [--from TASK] [--detach] [--json]

  --redis URL   the run's Redis (also DAGCTL_REDIS_URL)
  --from TASK   also re-run TASK and every task downstream of it
  --detach      do not follow the run
  --json        machine-readable result`,
  options: {
    redis: { type: 'string' },
    from: { type: 'string' },
    detach: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    const runId = args.positionals[0];
    if (runId === undefined || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one RUN_ID\n${retryCommand.usage}`);
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    if (redisUrl === undefined) throw new DagctlError('USAGE', 'retry works on distributed runs: pass --redis URL or set DAGCTL_REDIS_URL');
    const { retryRun, followRunById } = await import('../../workers/bullmq/submit.js');
    const dispatched = await retryRun(runId, redisUrl, str(args, 'from'), io.env);
    const json = flag(args, 'json');
    if (!json) io.stdout.write(`run ${runId} reset: ${dispatched.length} instance(s) dispatched\n`);
    if (flag(args, 'detach')) {
      if (json) writeJson(io, { runId, dispatched });
      return 0;
    }
    const final = await followRunById(runId, redisUrl, () => {}, { env: io.env, signal: io.interrupted });
    const counts: Record<string, number> = {};
    for (const s of Object.values(final.instances)) counts[s.state] = (counts[s.state] ?? 0) + 1;
    if (json) writeJson(io, { runId, dispatched, phase: final.phase, counts });
    else io.stdout.write(`run ${runId}: ${final.phase} — ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
    return final.phase === 'succeeded' ? 0 : final.phase === 'running' ? 0 : 1;
  },
};
