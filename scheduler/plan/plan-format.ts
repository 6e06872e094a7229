/**
 * Human rendering of a plan report (scheduler/plan/plan.ts): a per-task table of the cost model
 * T = O + P×H, then the critical path, total work, the makespan on N workers and the deadline
 * answer. Text only; `dagctl plan --json` prints the report object itself.
 *
 * Precondition: none.
 */
import { formatDuration } from '../../core/duration.js';
import type { PlanReport } from './plan.js';

/** Left-aligns the first column, right-aligns the rest; columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (c <= 1 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${(x * 100).toFixed(1)}%`;
}

export function formatPlanReport(r: PlanReport, dagName?: string): string[] {
  const out: string[] = [];
  if (dagName !== undefined) out.push(`plan for ${dagName}: ${r.instances} instances, ${r.tasks.length} tasks, ${r.generations} generations`, `(a generation is one level of the instance graph: its instances can all run side by side once the previous one is done)`, '');
  // The CPU column only when some fit had CPU times (T then includes (k − 1) × CPU for the contention k).
  const cpu = r.tasks.some((t) => t.cpuMs !== undefined);
  out.push(
    ...formatTable(
      ['TASK', 'OPERATOR', 'INSTANCES', 'O', 'P×H', 'T', 'SOURCE', 'FIT ERR', ...(cpu ? ['CPU'] : [])],
      r.tasks.map((t) => [
        t.task,
        t.operator,
        String(t.instances),
        formatDuration(t.overheadMs),
        formatDuration(t.workMs),
        formatDuration(t.predictedMs),
        t.costSource,
        t.fitError === undefined ? '-' : `${formatDuration(t.fitError)} (${pct(t.relativeError)})`,
        ...(cpu ? [t.cpuMs === undefined ? '-' : formatDuration(t.cpuMs)] : []),
      ]),
    ),
  );
  out.push('');
  if (r.contention !== undefined) out.push(`contention:     k = ${r.contention.toFixed(2)} (wall ÷ CPU time of CPU-bound work, as recent runs met it or as given; T = uncontended time + (k − 1) × CPU)`);
  out.push(`total work:     ${formatDuration(r.totalWorkMs)}`);
  out.push(`critical path:  ${formatDuration(r.criticalPath.lengthMs)}  ${r.criticalPath.tasks.join(' -> ')}`);
  out.push(`makespan:       ${formatDuration(r.makespan.makespanMs)} on ${r.makespan.workers} worker${r.makespan.workers === 1 ? '' : 's'}`);
  if (r.deadline !== undefined) {
    const d = r.deadline;
    const s = d.search;
    out.push(
      s.feasible
        ? `deadline ${formatDuration(d.deadlineMs)}: ${d.metWithWorkers ? 'met' : 'missed'} with ${r.makespan.workers} workers; needs at least ${s.workers} (makespan ${formatDuration(s.makespanMs)})`
        : `deadline ${formatDuration(d.deadlineMs)}: cannot be met — ${s.reason}`,
    );
  }
  return out;
}
