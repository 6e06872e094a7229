/**
 * Live progress of a run. On a TTY: a redrawn block — a bar with done/total instances, counts by
 * state, elapsed time and an ETA, and the running instances. Otherwise plain lines: one per task
 * as it finishes, and a summary line every few seconds. The ETA is the cost model's predicted
 * remaining work, corrected by the actual/predicted ratio observed so far, over the concurrency.
 */
import { formatDuration } from '../core/duration.js';
import { TERMINAL_STATES } from '../scheduler/model.js';
import type { PlanIndex, RunState } from '../scheduler/engine/state.js';
import type { RunRecord } from '../scheduler/ports.js';
import type { CliIO } from './command.js';

export class ProgressReporter {
  private lastDraw = 0;
  private drawnLines = 0;
  private lastPlain = 0;
  private readonly tasksDone = new Set<string>();
  private readonly tty: boolean;
  private readonly started: number;
  private readonly byTask = new Map<string, string[]>();

  constructor(
    private readonly io: CliIO,
    private readonly record: RunRecord,
    private readonly concurrency: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = io.stdout.isTTY === true && io.env.CI === undefined;
    this.started = now();
    for (const p of record.plan) {
      const list = this.byTask.get(p.task);
      if (list === undefined) this.byTask.set(p.task, [p.id]);
      else list.push(p.id);
    }
  }

  update(state: RunState, _index?: PlanIndex, force = false): void {
    const t = this.now();
    if (this.tty) {
      if (!force && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      this.draw(state, t);
      return;
    }
    this.taskLines(state, t);
    if (force || t - this.lastPlain >= 5000) {
      this.lastPlain = t;
      this.io.stdout.write(`progress: ${this.summary(state, t)}\n`);
    }
  }

  finish(state: RunState): void {
    if (this.tty) this.draw(state, this.now());
    else this.taskLines(state, this.now());
  }

  private summary(state: RunState, t: number): string {
    let done = 0;
    let total = 0;
    let predictedDone = 0;
    let actualDone = 0;
    let predictedLeft = 0;
    const counts: Record<string, number> = {};
    for (const p of this.record.plan) {
      const s = state.instances[p.id];
      if (s === undefined) continue;
      total++;
      counts[s.state] = (counts[s.state] ?? 0) + 1;
      if (TERMINAL_STATES.has(s.state)) {
        done++;
        if (s.state === 'succeeded' && s.result !== undefined) {
          predictedDone += p.predictedMs;
          actualDone += s.result.durationMs;
        }
      } else {
        predictedLeft += p.predictedMs;
      }
    }
    const ratio = predictedDone > 0 ? actualDone / predictedDone : 1;
    const eta = (predictedLeft * ratio) / Math.max(1, this.concurrency);
    const parts = Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    return `${done}/${total} instances (${parts}) elapsed ${formatDuration(t - this.started)}${done < total ? ` ETA ~${formatDuration(eta)}` : ''}`;
  }

  private taskLines(state: RunState, t: number): void {
    for (const task of this.record.dag.tasks) {
      if (this.tasksDone.has(task.name)) continue;
      const sts = (this.byTask.get(task.name) ?? []).map((id) => state.instances[id]);
      if (sts.some((s) => s === undefined || !TERMINAL_STATES.has(s.state))) continue;
      this.tasksDone.add(task.name);
      const by: Record<string, number> = {};
      for (const s of sts) if (s !== undefined) by[s.state] = (by[s.state] ?? 0) + 1;
      const desc = Object.entries(by)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      this.io.stdout.write(`task ${task.name} (${task.operator}): ${desc} — at ${formatDuration(t - this.started)}\n`);
    }
  }

  private draw(state: RunState, t: number): void {
    const width = Math.max(20, Math.min(40, (this.io.stdout.columns ?? 80) - 60));
    let done = 0;
    const total = this.record.plan.length;
    const running: string[] = [];
    for (const p of this.record.plan) {
      const s = state.instances[p.id];
      if (s === undefined) continue;
      if (TERMINAL_STATES.has(s.state)) done++;
      else if (s.state === 'running') running.push(`  ⟳ ${p.id}${s.startedAt !== undefined ? ` (${formatDuration(t - s.startedAt)})` : ''}`);
    }
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const lines = [`[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${this.summary(state, t)}`];
    lines.push(...running.slice(0, 8));
    if (running.length > 8) lines.push(`  … and ${running.length - 8} more running`);
    let out = '';
    if (this.drawnLines > 0) out += `\x1b[${this.drawnLines}A`;
    // Never wrap: a wrapped line would throw off the cursor-up count of the next redraw.
    const cols = Math.max(20, (this.io.stdout.columns ?? 80) - 1);
    for (const l of lines) out += `\x1b[2K${[...l].slice(0, cols).join('')}\n`;
    // A shorter block than last time: blank the leftover lines, then return to the block's end.
    const extra = this.drawnLines - lines.length;
    if (extra > 0) out += '\x1b[2K\n'.repeat(extra) + `\x1b[${extra}A`;
    this.io.stdout.write(out);
    this.drawnLines = lines.length;
  }
}
