/**
 * `dagctl cancel RUN_ID` — cancels a distributed run (Redis): pending instances are cancelled at
 * once, queued ones are taken off the queue, running ones are aborted by their workers (which
 * poll the run's cancel flag). Prints the run's phase; the run ends `cancelled` once every running
 * attempt has stopped. Embedded runs are cancelled with Ctrl-C in their `dagctl run`.
 */
import { DagctlError } from '../../core/errors.js';
import { flag, redisUrlOf, str, writeJson, type CommandDef } from '../command.js';

export const cancelCommand: CommandDef = {
  name: 'cancel',
  summary: 'Cancel a run',
  usage: `dagctl cancel RUN_ID --redis URL [--wait] [--json]

  --redis URL   the run's Redis (also DAGCTL_REDIS_URL)
  --wait        wait until running attempts have stopped and the run is cancelled
  --json        machine-readable result`,
  options: {
    redis: { type: 'string' },
    wait: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    const runId = args.positionals[0];
    if (runId === undefined || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one RUN_ID\n${cancelCommand.usage}`);
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    if (redisUrl === undefined) throw new DagctlError('USAGE', 'cancel works on distributed runs: pass --redis URL or set DAGCTL_REDIS_URL (embedded runs: Ctrl-C their `dagctl run`)');
    const { cancelRun, followRunById } = await import('../../workers/bullmq/submit.js');
    let state = await cancelRun(runId, redisUrl, io.env);
    if (flag(args, 'wait') && state.phase === 'running') {
      state = await followRunById(runId, redisUrl, () => {}, { env: io.env, signal: io.interrupted });
    }
    const counts: Record<string, number> = {};
    for (const s of Object.values(state.instances)) counts[s.state] = (counts[s.state] ?? 0) + 1;
    if (flag(args, 'json')) writeJson(io, { runId, phase: state.phase, cancelRequested: state.cancelRequested, counts });
    else io.stdout.write(`run ${runId}: ${state.phase === 'running' ? 'cancelling (running attempts are stopping)' : state.phase} — ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
    return 0;
  },
};
