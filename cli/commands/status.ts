/**
 * `dagctl status [RUN_ID]` — where a run stands (the latest run by default): phase, per-instance
 * state, attempts, durations, predicted vs actual time, errors and why instances wait.
 * `--watch` redraws until the run finishes; `--json` prints the status view, with `workReclaimed`
 * ({ markers, files, bytes, at }) once a succeeded run's work files were reclaimed (absent: kept,
 * or — distributed: the dispatcher reclaims after the finish — not yet).
 */
import { DagctlError } from '../../core/errors.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { buildStatus } from '../../scheduler/status-view.js';
import { flag, redisUrlOf, str, writeJson, type CommandDef } from '../command.js';
import { openRunStoreFor, renderStatus, runStoreLocation } from '../shared.js';

export const statusCommand: CommandDef = {
  name: 'status',
  summary: 'Show where a run stands',
  usage: `dagctl status [RUN_ID] [--dag NAME] [--watch] [--all] [--logs] [--json] [--redis URL]

  RUN_ID       the run (default: the latest, of --dag if given)
  --watch      refresh every second until the run finishes
  --all        list every instance, not only unfinished or failed ones
  --logs       each instance's attempts: its earlier failed attempts (the last 8: log tail and
               error), then its last attempt's log tail (ctx.log lines; exec: stdout/stderr
               tails, successful attempts too) and its error
  --json       machine-readable status`,
  options: {
    dag: { type: 'string' },
    watch: { type: 'boolean' },
    all: { type: 'boolean' },
    logs: { type: 'boolean' },
    json: { type: 'boolean' },
    redis: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    const store = await openRunStoreFor(io, redisUrl);
    try {
      const dag = str(args, 'dag');
      const runId = args.positionals[0] ?? (await store.latestRunId(dag));
      if (runId === null || runId === undefined) throw new DagctlError('RUN_NOT_FOUND', `${dag === undefined ? 'no runs yet' : `no runs of ${dag} yet`} ${runStoreLocation(io, redisUrl)}`);
      const record = await store.getRecord(runId);
      if (record === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} ${runStoreLocation(io, redisUrl)}`);
      for (;;) {
        const state = await store.getState(runId);
        if (state === null) throw new DagctlError('RUN_NOT_FOUND', `no state for run ${runId}`);
        const finished = state.phase === 'succeeded' || state.phase === 'failed' || state.phase === 'cancelled';
        // An embedded run is driven by its `dagctl run` process: if that died, say so (not RUNNING forever).
        const driver = !finished && store instanceof LocalRunStore ? await store.driver(runId) : null;
        // A succeeded run's reclaimed work files (workers/reclaim.ts), recorded after this finish.
        const reclaimed = state.phase === 'succeeded' ? ((await store.workReclaimed?.(runId)) ?? null) : null;
        const workReclaimed = reclaimed !== null && (state.finishedAt === undefined || reclaimed.at >= state.finishedAt) ? reclaimed : null;
        const view = { ...buildStatus(record, state, Date.now()), ...(driver !== null ? { driver } : {}), ...(workReclaimed !== null ? { workReclaimed } : {}) };
        if (flag(args, 'json')) {
          if (!flag(args, 'watch') || finished) {
            writeJson(io, view);
            return 0;
          }
        } else {
          if (flag(args, 'watch') && io.stdout.isTTY === true) io.stdout.write('\x1b[2J\x1b[H');
          io.stdout.write(renderStatus(view, { all: flag(args, 'all'), logs: flag(args, 'logs') }));
          if (workReclaimed !== null) io.stdout.write(`work reclaimed: ${workReclaimed.files} file(s), ${(workReclaimed.bytes / 1e6).toFixed(1)} MB, ${workReclaimed.markers} marker(s) at ${new Date(workReclaimed.at).toISOString()}\n`);
          if (driver?.state === 'gone') {
            const who = driver.pid !== undefined ? `its driver (pid ${driver.pid} on ${driver.host}) is gone` : 'no process drives it';
            io.stdout.write(`\nthe run is not progressing: ${who}. Continue it with: dagctl run --resume ${runId}\n`);
          }
        }
        if (!flag(args, 'watch') || finished || io.interrupted.aborted) return 0;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await store.close();
    }
  },
};
