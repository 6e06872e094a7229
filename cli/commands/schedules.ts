/**
 * `dagctl schedules FILE...|DIR [--json]` — each scheduled DAG's schedule, next tick, last tick
 * handled, last run (and its phase) and whether it is paused; for DAGs with data triggers, the
 * commits given runs, the new ones not yet (and why: paused, or waiting in the scheduler) and the
 * last fire; `dagctl pause DAG` /
 * `dagctl unpause DAG` — a paused DAG's ticks are dropped (not caught up) until it is unpaused;
 * `dagctl trigger-reset FILE` — recovery from TRIGGER_LATE_COMMIT (triggerResetCommand; refused unless stuck, or --force).
 * Local state by default (DAGCTL_HOME), the shared state with --redis.
 */
import { DagctlError } from '../../core/errors.js';
import { dagctlHome } from '../../scheduler/plan/context.js';
import { DagCatalog } from '../../scheduler/schedule/catalog.js';
import { StorageCommitSource } from '../../scheduler/schedule/commit-source.js';
import { ticksOf } from '../../scheduler/schedule/planner.js';
import { acceptLateCommits, checkTriggerReset, commitKey, seenCount, seenTest, type TriggerState } from '../../scheduler/schedule/triggers.js';
import type { SourceCommit } from '../../storage/dataset/source.js';
import type { DagSpec } from '../../definitions/types.js';
import { LocalScheduleState, type ScheduleState } from '../../scheduler/schedule/state.js';
import { flag, redisUrlOf, str, writeJson, type CliIO, type CommandDef } from '../command.js';
import { openRunStoreFor } from '../shared.js';

async function openState(io: CliIO, redisUrl: string | undefined): Promise<ScheduleState> {
  if (redisUrl === undefined) return new LocalScheduleState(dagctlHome(io.env, io.cwd));
  const mod = (await import(DISTRIBUTED_MODULE)) as { openRedisScheduleState(url: string, env: NodeJS.ProcessEnv): Promise<ScheduleState> };
  return mod.openRedisScheduleState(redisUrl, io.env);
}
const DISTRIBUTED_MODULE = '../../scheduler/schedule/distributed.js';

export const schedulesCommand: CommandDef = {
  name: 'schedules',
  summary: 'Scheduled DAGs: next tick, last run, paused',
  usage: 'dagctl schedules FILE...|DIR [--json] [--redis URL]',
  options: { json: { type: 'boolean' }, redis: { type: 'string' } },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length === 0) throw new DagctlError('USAGE', `expected DAG files or a directory\n${schedulesCommand.usage}`);
    const problems: string[] = [];
    const catalog = new DagCatalog(args.positionals, (l) => problems.push(l), () => {});
    await catalog.refresh();
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    const state = await openState(io, redisUrl);
    const store = await openRunStoreFor(io, redisUrl);
    const commits = new StorageCommitSource();
    try {
      const now = Date.now();
      const rows = [];
      for (const d of catalog.dags()) {
        const st = await state.get(d.name);
        const next = d.schedule === undefined ? null : ticksOf(d.schedule).next(Math.max(st.cursor ?? now, now));
        const lastRun = st.lastRunId === undefined ? null : await store.getState(st.lastRunId);
        rows.push({
          dag: d.name,
          file: d.file,
          schedule: d.schedule ?? null,
          paused: st.paused,
          nextTick: next === null ? null : new Date(next).toISOString(),
          lastTick: st.cursor === undefined ? null : new Date(st.cursor).toISOString(),
          lastRun: st.lastRunId === undefined ? null : { runId: st.lastRunId, phase: lastRun?.phase ?? null },
          triggers: d.dag.triggers === undefined ? null : await triggerReport(d.dag, await state.getTriggers(d.name), st.paused, commits),
        });
      }
      if (flag(args, 'json')) writeJson(io, { schedules: rows, problems });
      else {
        for (const p of problems) io.stderr.write(p + '\n');
        io.stdout.write(`${'DAG'.padEnd(24)} ${'SCHEDULE'.padEnd(34)} ${'NEXT TICK'.padEnd(25)} ${'PAUSED'.padEnd(7)} LAST RUN\n`);
        for (const r of rows) {
          const sched = r.schedule === null ? `on data: ${r.triggers?.datasets.join(', ') ?? ''}` : r.schedule.cron !== undefined ? `cron "${r.schedule.cron}" ${r.schedule.timezone}` : `every ${r.schedule.everyMs}ms`;
          io.stdout.write(`${r.dag.padEnd(24)} ${sched.padEnd(34)} ${(r.paused ? '-' : (r.nextTick ?? (r.triggers !== null ? 'on new data' : 'never'))).padEnd(25)} ${(r.paused ? 'yes' : 'no').padEnd(7)} ${r.lastRun === null ? '-' : `${r.lastRun.runId} ${r.lastRun.phase ?? ''}`}\n`);
          if (r.triggers !== null) io.stdout.write(`${''.padEnd(24)} triggers: ${r.triggers.seen} commit(s) given runs, ${r.triggers.pending} new: ${r.triggers.why}\n`);
        }
      }
      return problems.length > 0 ? 1 : 0;
    } finally {
      await state.close();
      await store.close();
    }
  },
};

/** A DAG's data triggers as `schedules` shows them: what was given runs, what is new, and why it waits. */
async function triggerReport(dag: DagSpec, st: TriggerState, paused: boolean, source: StorageCommitSource) {
  const isSeen = seenTest(st);
  let pending = 0;
  for (const t of dag.triggers ?? []) {
    const ds = dag.datasets[t.dataset];
    if (ds === undefined) continue;
    for (const c of await source.commits(ds)) if (!isSeen(commitKey(t.dataset, c.id), { dataset: t.dataset, c })) pending++;
  }
  const why =
    st.inflight !== undefined
      ? `run ${st.inflight.runId} decided; the scheduler completes it on its next step`
      : pending === 0
        ? 'nothing new'
        : paused
          ? 'paused: new commits wait for unpause'
          : 'waiting for the scheduler (a run of the DAG unfinished, minInterval or debounce; or no scheduler running)';
  return {
    datasets: (dag.triggers ?? []).map((t) => t.dataset),
    seen: seenCount(st),
    pending,
    lastFire: st.lastFireAt === undefined ? null : new Date(st.lastFireAt).toISOString(),
    inflight: st.inflight?.runId ?? null,
    why,
  };
}

function pauseDef(name: 'pause' | 'unpause'): CommandDef {
  return {
    name,
    summary: name === 'pause' ? 'Pause a DAG’s schedule (its ticks are dropped until unpaused)' : 'Unpause a DAG’s schedule (from its next tick)',
    usage: `dagctl ${name} DAG [--redis URL] [--json]`,
    options: { redis: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
    async run(args, io) {
      const dag = args.positionals[0];
      if (dag === undefined || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one DAG name\ndagctl ${name} DAG`);
      const state = await openState(io, redisUrlOf(io, str(args, 'redis')));
      try {
        await state.setPaused(dag, name === 'pause');
        if (flag(args, 'json')) writeJson(io, { dag, paused: name === 'pause' });
        else io.stdout.write(`${dag} ${name === 'pause' ? 'paused' : 'unpaused'}\n`);
        return 0;
      } finally {
        await state.close();
      }
    },
  };
}

/**
 * `dagctl trigger-reset FILE [--accept-late] [--redis URL] [--json]` — recovery from
 * TRIGGER_LATE_COMMIT for the DAG in FILE: without --accept-late its trigger state is removed, so
 * every commit of its trigger datasets is new again and the scheduler gives them one run; with it,
 * each floor whose count differs from what is listed now takes the count found (the late marker
 * counts as run). Refuses --accept-late when no floor differs (nothing to accept). The write is not
 * fenced, so either refuses (TRIGGER_RESET_REFUSED, checkTriggerReset) unless the DAG's trigger is
 * stopped on TRIGGER_LATE_COMMIT with no fire in flight — the only state a scheduler writes nothing
 * in; --force overrides (the operator has stopped the DAG's schedulers).
 */
export const triggerResetCommand: CommandDef = {
  name: 'trigger-reset',
  summary: 'Recover a DAG’s data triggers from TRIGGER_LATE_COMMIT (reset, or accept the late markers)',
  usage: 'dagctl trigger-reset FILE [--accept-late] [--force] [--redis URL] [--json]',
  options: { 'accept-late': { type: 'boolean' }, force: { type: 'boolean' }, redis: { type: 'string' }, json: { type: 'boolean' } },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1) throw new DagctlError('USAGE', `expected one DAG file\n${triggerResetCommand.usage}`);
    const problems: string[] = [];
    const catalog = new DagCatalog(args.positionals, (l) => problems.push(l), () => {});
    await catalog.refresh();
    const d = catalog.dags()[0];
    if (d === undefined || d.dag.triggers === undefined) throw new DagctlError('USAGE', `${args.positionals[0]!}: no DAG with data triggers${problems.length > 0 ? `\n${problems.join('\n')}` : ''}`);
    const state = await openState(io, redisUrlOf(io, str(args, 'redis')));
    try {
      const st = await state.getTriggers(d.name);
      const source = new StorageCommitSource();
      const commits: Record<string, SourceCommit[]> = {};
      for (const t of d.dag.triggers) {
        const ds = d.dag.datasets[t.dataset];
        if (ds !== undefined) commits[t.dataset] = await source.commits(ds);
      }
      if (!flag(args, 'force')) checkTriggerReset(d.name, st, commits);
      if (!flag(args, 'accept-late')) {
        await state.resetTriggers(d.name, null);
        if (flag(args, 'json')) writeJson(io, { dag: d.name, reset: true, seenBefore: seenCount(st) });
        else io.stdout.write(`${d.name}: trigger state removed (${seenCount(st)} commit(s) had been given runs); every commit is new again and gets one run\n`);
        return 0;
      }
      const { state: next, changed } = acceptLateCommits(st, commits);
      if (changed.length === 0) throw new DagctlError('USAGE', `${d.name}: every floor of its trigger state matches the markers listed now: nothing late to accept`, { dag: d.name });
      await state.resetTriggers(d.name, next);
      if (flag(args, 'json')) writeJson(io, { dag: d.name, accepted: changed });
      else for (const c of changed) io.stdout.write(`${d.name}: ${c.dataset}: floor count ${c.counted} → ${c.found} (the late marker(s) count as given a run)\n`);
      return 0;
    } finally {
      await state.close();
    }
  },
};

export const pauseCommand = pauseDef('pause');
export const unpauseCommand = pauseDef('unpause');
