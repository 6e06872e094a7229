/**
 * Helpers shared by the run-related commands: `--param k=v` parsing, opening the run store
 * (local .dagctl by default), and rendering a status view as a table.
 */
import { DagctlError } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { dagctlHome } from '../scheduler/plan/context.js';
import type { RunStore } from '../scheduler/ports.js';
import type { StatusView } from '../scheduler/status-view.js';
import { LocalRunStore } from '../scheduler/stores/local-run-store.js';
import type { CliIO } from './command.js';

export function parseParamFlags(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new DagctlError('PARAM_INVALID', `--param expects name=value, got "${kv}"`, { param: kv });
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export { dagLoadOptions } from './dag-load-options.js';

export function localStore(io: CliIO): LocalRunStore {
  return new LocalRunStore(dagctlHome(io.env, io.cwd));
}

/** Where a command looked for runs, for messages such as "no runs yet": the Redis or the local folder. */
export function runStoreLocation(io: CliIO, redisUrl: string | undefined): string {
  if (redisUrl !== undefined) return `on Redis ${redisUrl.replace(/\/\/([^@/]*)@/, '//***@')}`;
  const from = io.env.DAGCTL_HOME !== undefined && io.env.DAGCTL_HOME !== '' ? '$DAGCTL_HOME' : '.dagctl of the current folder; set DAGCTL_HOME to look elsewhere';
  return `in ${dagctlHome(io.env, io.cwd)} (${from})`;
}

export async function openRunStoreFor(io: CliIO, redisUrl: string | undefined): Promise<RunStore> {
  if (redisUrl === undefined) return localStore(io);
  const mod = (await import(REDIS_STORE_MODULE)) as { openRedisRunStore(url: string): Promise<RunStore> };
  return mod.openRedisRunStore(redisUrl);
}

const REDIS_STORE_MODULE = '../scheduler/redis/open.js';

export function renderStatus(view: StatusView, opts: { all?: boolean; logs?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`run ${view.runId}  dag ${view.dag}  phase ${view.phase}`);
  lines.push(`started ${view.startedAt ?? '-'}  finished ${view.finishedAt ?? '-'}  duration ${view.durationMs === null ? '-' : formatDuration(view.durationMs)}`);
  lines.push(`instances: ${Object.entries(view.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push('');
  lines.push(`${'TASK'.padEnd(22)} ${'OPERATOR'.padEnd(18)} ${'STATE'.padEnd(16)} ${'INST'.padStart(6)} ${'PREDICTED'.padStart(10)} ${'ACTUAL'.padStart(10)}`);
  for (const t of view.taskSummary) {
    lines.push(`${t.name.padEnd(22)} ${t.operator.padEnd(18)} ${t.state.padEnd(16)} ${String(t.instances).padStart(6)} ${formatDuration(t.predictedMs).padStart(10)} ${formatDuration(t.actualMs).padStart(10)}`);
  }
  const rejecting = view.taskSummary.filter((t) => (t.rejected ?? 0) > 0);
  if (rejecting.length > 0) {
    lines.push('');
    for (const t of rejecting) lines.push(`rejects: ${t.name} ${t.rejected ?? 0} row(s) (${Object.entries(t.rejectReasons ?? {}).map(([r, n]) => `${r} ${n}`).join(', ')})`);
  }
  const interesting = view.tasks.filter((t) => opts.all === true || (t.state !== 'succeeded' && t.state !== 'skipped'));
  if (interesting.length > 0) {
    lines.push('');
    lines.push(`${'INSTANCE'.padEnd(40)} ${'STATE'.padEnd(16)} ${'ATT'.padStart(3)} ${'TIME'.padStart(8)} ${'PRED'.padStart(8)}  WHY`);
    for (const t of interesting.slice(0, opts.all === true ? interesting.length : 40)) {
      const state = t.state === 'skipped' && t.skipReason !== undefined ? `skipped:${t.skipReason}` : t.state;
      lines.push(`${t.instance.padEnd(40)} ${state.padEnd(16)} ${String(t.attempts).padStart(3)} ${(t.durationMs === null ? '-' : formatDuration(t.durationMs)).padStart(8)} ${formatDuration(t.predictedMs).padStart(8)}  ${t.why ?? ''}`);
    }
    if (opts.all !== true && interesting.length > 40) lines.push(`… ${interesting.length - 40} more (use --all)`);
  }
  if (opts.logs === true) {
    // Each instance's earlier failed attempts (log tail, error), then its last attempt: its log
    // tail (successful attempts too) and its error.
    for (const t of view.tasks) {
      if (t.log === undefined && t.error === null && t.earlierAttempts === undefined) continue;
      for (const a of t.earlierAttempts ?? []) {
        lines.push('');
        lines.push(`-- ${t.instance} (attempt ${a.attempt}, failed ${new Date(a.at).toISOString()})`);
        if (a.log !== undefined) for (const l of a.log.split('\n')) lines.push(`   ${l}`);
        for (const l of `${a.code}: ${a.error}`.split('\n')) lines.push(`   ${l}`);
      }
      lines.push('');
      lines.push(`-- ${t.instance} (attempt ${t.attempts}, ${t.state})`);
      if (t.log !== undefined) for (const l of t.log.split('\n')) lines.push(`   ${l}`);
      if (t.error !== null) for (const l of `${t.errorCode ?? 'ERROR'}: ${t.error}`.split('\n')) lines.push(`   ${l}`);
    }
  }
  return lines.join('\n') + '\n';
}
