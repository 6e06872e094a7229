/**
 * SchedulerService: the decision loop of `dagctl scheduler`, one `step()` at a time. Each step,
 * for every scheduled DAG while this process leads:
 *   1. paused → the cursor follows the clock (ticks while paused are dropped, not caught up);
 *   2. planTicks(schedule, cursor, now) → for each tick to run, decideOverlap over the DAG's
 *      unfinished runs: skip it, or create its run (deterministic id: a repeat is a no-op) and,
 *      with cancel-previous, cancel the unfinished ones; then advance the cursor (fenced: a
 *      refused write means leadership was lost and the step stops);
 *   3. start the oldest pending run when none of the DAG's runs is running (queue, and runs
 *      created by an earlier process), and let the launcher adopt running runs nobody drives —
 *      also within a catch-up (at each tick whose overlap check saw nothing running), so a
 *      scheduler catching up slower than ticks come keeps its queue moving.
 * DAGs with `triggers:` (data triggers, triggers.ts), each step while leading: an intent left by a
 * dead leader is completed first; else the trigger datasets' commits (CommitSource port) are
 * compared with the persisted set of commits already given a run, and decideTrigger says fire or
 * wait. A fire is persisted as an intent, its run created (deterministic id), then its commits
 * marked seen — one run per new commit across restarts and failovers. Such DAGs wake every
 * triggerPollMs.
 * A run is created before the cursor passes its tick, so a crash between the two loses nothing:
 * the next leader re-plans the tick and finds its run.
 *
 * I/O is behind ports (RunLauncher, ScheduleState, Leadership, a clock), so tests drive step()
 * with an injected clock. The loop around it (sleeping until the next tick, waking on reloads
 * and finished runs) is runLoop().
 */
import { errorMessage } from '../../core/errors.js';
import type { DagSpec, ScheduleSpec } from '../../definitions/types.js';
import type { RunPhase } from '../model.js';
import { StorageCommitSource, type CommitSource } from './commit-source.js';
import { decideOverlap, planTicks, ticksOf } from './planner.js';
import type { ScheduleState } from './state.js';
import { commitKey, compactFloors, completeFire, decideTrigger, markSeen, seenTest, type TriggerFire } from './triggers.js';
import type { SourceCommit } from '../../storage/dataset/source.js';

export interface ScheduledDag {
  name: string;
  file: string;
  /** Exact text of the last good version of the file. */
  text: string;
  dag: DagSpec;
  /** Absent for a DAG run only by its data triggers (dag.triggers). */
  schedule?: ScheduleSpec;
}

export interface UnfinishedRun {
  runId: string;
  phase: RunPhase;
}

export interface RunLauncher {
  /** Creates the tick's run if it does not exist. */
  create(d: ScheduledDag & { schedule: ScheduleSpec }, tick: number): Promise<{ runId: string; created: boolean }>;
  /** Creates a data-trigger fire's run (id fire.runId) if it does not exist. */
  createTriggered(d: ScheduledDag, fire: TriggerFire): Promise<{ runId: string; created: boolean }>;
  /** Starts a pending run (idempotent). */
  start(runId: string): Promise<void>;
  /** Running runs: make sure something drives them (embedded: resume runs of a dead process). */
  adopt(runs: readonly UnfinishedRun[]): Promise<void>;
  cancel(runId: string): Promise<void>;
  /** The DAG's runs not finished (pending, running), oldest first. */
  unfinished(dag: string): Promise<UnfinishedRun[]>;
}

export interface Leadership {
  isLeader(): boolean;
}

export class SchedulerMetrics {
  ticks = 0;
  ticksSkipped = { catchup: 0, overlap: 0, paused: 0 };
  runsStarted = 0;
  runsExisting = 0;
  cancelled = 0;
  reloads = 0;
  reloadErrors = 0;
  stepErrors = 0;
  triggerFires = 0;
  /** Trigger latency of created runs: creation time − the newest commit's committedAt, ms (last 10,000). */
  triggerLatency: number[] = [];
  /** Per DAG with triggers: why its trigger has not fired (or 'fired <run id>'), from the last step. */
  readonly triggerStatus = new Map<string, { reason: string; pending: number; at: number }>();
  /** Lateness of created runs: creation time − tick, ms (last 10,000). */
  lateness: number[] = [];
  /** Commit polls that listed `_commits/` / that a change token answered (CommitSource.counts). */
  triggerPolls = { listed: 0, skipped: 0 };
  /** Per DAG with triggers: commit keys its trigger state lists (the rest folded into marks and floors). */
  readonly triggerStateKeys = new Map<string, number>();

  observeLateness(ms: number): void {
    this.lateness.push(ms);
    if (this.lateness.length > 10_000) this.lateness.splice(0, this.lateness.length - 10_000);
  }

  observeTriggerLatency(ms: number): void {
    this.triggerLatency.push(ms);
    if (this.triggerLatency.length > 10_000) this.triggerLatency.splice(0, this.triggerLatency.length - 10_000);
  }

  render(leader: boolean, dags: number): string {
    const sorted = [...this.lateness].sort((a, b) => a - b);
    const q = (p: number, xs = sorted): number => (xs.length === 0 ? 0 : (xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0));
    const trig = [...this.triggerLatency].sort((a, b) => a - b);
    const lines = [
      '# HELP dagctl_scheduler_ticks_total Due schedule ticks handled (run or skipped).',
      '# TYPE dagctl_scheduler_ticks_total counter',
      `dagctl_scheduler_ticks_total ${this.ticks}`,
      '# HELP dagctl_scheduler_ticks_skipped_total Ticks not run, by reason.',
      '# TYPE dagctl_scheduler_ticks_skipped_total counter',
      ...Object.entries(this.ticksSkipped).map(([r, n]) => `dagctl_scheduler_ticks_skipped_total{reason="${r}"} ${n}`),
      '# HELP dagctl_scheduler_runs_started_total Runs this process created for ticks.',
      '# TYPE dagctl_scheduler_runs_started_total counter',
      `dagctl_scheduler_runs_started_total ${this.runsStarted}`,
      '# HELP dagctl_scheduler_runs_existing_total Ticks whose run already existed (another replica, a backfill, a restart).',
      '# TYPE dagctl_scheduler_runs_existing_total counter',
      `dagctl_scheduler_runs_existing_total ${this.runsExisting}`,
      '# HELP dagctl_scheduler_runs_cancelled_total Runs cancelled by overlap: cancel-previous.',
      '# TYPE dagctl_scheduler_runs_cancelled_total counter',
      `dagctl_scheduler_runs_cancelled_total ${this.cancelled}`,
      '# HELP dagctl_scheduler_tick_lateness_ms Run creation time minus tick time (recent runs).',
      '# TYPE dagctl_scheduler_tick_lateness_ms summary',
      `dagctl_scheduler_tick_lateness_ms{quantile="0.5"} ${q(0.5)}`,
      `dagctl_scheduler_tick_lateness_ms{quantile="0.99"} ${q(0.99)}`,
      `dagctl_scheduler_tick_lateness_ms_sum ${sorted.reduce((a, b) => a + b, 0)}`,
      `dagctl_scheduler_tick_lateness_ms_count ${sorted.length}`,
      '# HELP dagctl_scheduler_trigger_runs_total Runs created by data triggers.',
      '# TYPE dagctl_scheduler_trigger_runs_total counter',
      `dagctl_scheduler_trigger_runs_total ${this.triggerFires}`,
      '# HELP dagctl_scheduler_trigger_latency_ms Data-triggered run creation time minus its newest commit time.',
      '# TYPE dagctl_scheduler_trigger_latency_ms summary',
      `dagctl_scheduler_trigger_latency_ms{quantile="0.5"} ${q(0.5, trig)}`,
      `dagctl_scheduler_trigger_latency_ms{quantile="0.99"} ${q(0.99, trig)}`,
      `dagctl_scheduler_trigger_latency_ms_count ${trig.length}`,
      '# HELP dagctl_scheduler_trigger_pending_commits New commits a data trigger has not yet given a run.',
      '# TYPE dagctl_scheduler_trigger_pending_commits gauge',
      ...[...this.triggerStatus.entries()].map(([d, t]) => `dagctl_scheduler_trigger_pending_commits{dag="${d}"} ${t.pending}`),
      '# HELP dagctl_scheduler_trigger_polls_total Data-trigger polls of a dataset: listed its commits, or answered by the unchanged change token.',
      '# TYPE dagctl_scheduler_trigger_polls_total counter',
      ...Object.entries(this.triggerPolls).map(([k, n]) => `dagctl_scheduler_trigger_polls_total{listing="${k}"} ${n}`),
      '# HELP dagctl_scheduler_trigger_state_keys Commit keys a DAG\'s trigger state lists (not folded into marks or floors).',
      '# TYPE dagctl_scheduler_trigger_state_keys gauge',
      ...[...this.triggerStateKeys.entries()].map(([d, n]) => `dagctl_scheduler_trigger_state_keys{dag="${d}"} ${n}`),
      '# HELP dagctl_scheduler_reloads_total DAG file changes loaded; errors: invalid edits kept out.',
      '# TYPE dagctl_scheduler_reloads_total counter',
      `dagctl_scheduler_reloads_total ${this.reloads}`,
      `dagctl_scheduler_reload_errors_total ${this.reloadErrors}`,
      `dagctl_scheduler_step_errors_total ${this.stepErrors}`,
      '# HELP dagctl_scheduler_leader 1 while this process is the leader (always 1 embedded).',
      '# TYPE dagctl_scheduler_leader gauge',
      `dagctl_scheduler_leader ${leader ? 1 : 0}`,
      `dagctl_scheduler_dags ${dags}`,
    ];
    return lines.join('\n') + '\n';
  }
}

export interface SchedulerServiceOptions {
  dags(): readonly ScheduledDag[];
  launcher: RunLauncher;
  state: ScheduleState;
  leader?: Leadership;
  now?(): number;
  log?(line: string): void;
  metrics?: SchedulerMetrics;
  /** Data triggers' view of storage (default: StorageCommitSource). */
  commits?: CommitSource;
  /** How often a DAG with triggers is looked at (default 200 ms). */
  triggerPollMs?: number;
  /** Markers stamped this long ago (and given runs) fold into floors (default triggers.ts FLOOR_SETTLE_MS). */
  triggerSettleMs?: number;
}

/** How often a data-triggered DAG's unfinished runs are looked at when nothing new arrived. */
const TRIGGER_SWEEP_MS = 5000;

export class SchedulerService {
  readonly metrics: SchedulerMetrics;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly commits: CommitSource;
  /** When this process first saw each new commit, per DAG (debounce). */
  private readonly firstSeen = new Map<string, Map<string, number>>();
  /** When each trigger-only DAG's unfinished runs were last looked at. */
  private readonly lastSweep = new Map<string, number>();

  constructor(private readonly opts: SchedulerServiceOptions) {
    this.metrics = opts.metrics ?? new SchedulerMetrics();
    this.commits = opts.commits ?? new StorageCommitSource();
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  isLeader(): boolean {
    return this.opts.leader?.isLeader() ?? true;
  }

  /** One pass over every DAG; returns the earliest next tick (ms), Infinity when none. */
  async step(): Promise<number> {
    let wake = Infinity;
    for (const d of this.opts.dags()) {
      if (!this.isLeader()) return wake;
      try {
        if (d.schedule !== undefined) {
          const next = await this.stepDag(d, d.schedule);
          if (next === false) return wake; // leadership lost mid-step
          wake = Math.min(wake, next);
        }
        if (d.dag.triggers !== undefined && d.dag.triggers.length > 0) {
          const next = await this.stepTriggers(d);
          if (next === false) return wake;
          wake = Math.min(wake, next);
        }
      } catch (e) {
        this.metrics.stepErrors++;
        this.log(`scheduler: ${d.name}: ${errorMessage(e)} (retried next step)`);
      }
    }
    return wake;
  }

  private async stepDag(dag: ScheduledDag, schedule: ScheduleSpec): Promise<number | false> {
    const d = { ...dag, schedule };
    const { state, launcher } = this.opts;
    const src = ticksOf(d.schedule);
    const now = this.now();
    const st = await state.get(d.name);
    if (st.cursor === undefined) {
      // First sight of the DAG: its first tick is the first one after now (backfill covers the past).
      if (!(await state.advance(d.name, now))) return false;
      return src.next(now) ?? Infinity;
    }
    let cursor = st.cursor;
    if (st.paused) {
      const plan = planTicks({ schedule: { ...d.schedule, catchup: 'latest' }, cursor, now, src });
      if (plan.run.length > 0) {
        this.metrics.ticks += plan.run.length + plan.skipped;
        this.metrics.ticksSkipped.paused += plan.run.length + plan.skipped;
        if (!(await state.advance(d.name, plan.cursor))) return false;
      }
      return src.next(Math.max(plan.cursor, now)) ?? Infinity;
    }
    for (;;) {
      const plan = planTicks({ schedule: d.schedule, cursor, now, src });
      this.metrics.ticks += plan.skipped;
      this.metrics.ticksSkipped.catchup += plan.skipped;
      let lastRunId: string | undefined;
      for (const tick of plan.run) {
        if (!this.isLeader()) return false;
        this.metrics.ticks++;
        const unfinished = await launcher.unfinished(d.name);
        const decision = decideOverlap(d.schedule.overlap, unfinished.map((r) => r.runId));
        if (decision.action === 'skip') {
          this.metrics.ticksSkipped.overlap++;
          this.log(`scheduler: ${d.name}: tick ${new Date(tick).toISOString()} skipped (overlap: skip, ${unfinished[0]?.runId ?? ''} unfinished)`);
        } else {
          const { runId, created } = await launcher.create(d, tick);
          lastRunId = runId;
          if (created) {
            this.metrics.runsStarted++;
            this.metrics.observeLateness(Math.max(0, this.now() - tick));
          } else this.metrics.runsExisting++;
          if (decision.action === 'cancel-previous') {
            for (const r of decision.cancel) {
              if (r === runId) continue;
              await launcher.cancel(r);
              this.metrics.cancelled++;
            }
          }
          // Keep the queue moving during a long catch-up (ticks created slower than they come
          // would otherwise hold every start back until the loop caught up): nothing running →
          // start the oldest pending run now.
          if ((decision.action === 'start' || decision.action === 'queue') && !unfinished.some((r) => r.phase === 'running')) {
            await launcher.start(unfinished.find((r) => r.phase === 'pending')?.runId ?? runId);
          }
        }
        if (!(await state.advance(d.name, tick, lastRunId))) return false;
        cursor = tick;
      }
      if (plan.run.length === 0 && plan.cursor !== cursor) {
        if (!(await state.advance(d.name, plan.cursor))) return false;
      }
      cursor = plan.cursor;
      if (!plan.more) break;
    }
    await this.startNext(d);
    return src.next(Math.max(cursor, now)) ?? Infinity;
  }

  /** One step of a DAG's data triggers (module comment); the next time to look, or false when leadership was lost. */
  private async stepTriggers(d: ScheduledDag): Promise<number | false> {
    const { state, launcher } = this.opts;
    const triggers = d.dag.triggers ?? [];
    const poll = this.opts.triggerPollMs ?? 200;
    let st = await state.getTriggers(d.name);
    if (st.inflight !== undefined) {
      // A fire decided but not completed (this process or a dead leader): finish it, same run id.
      if (!(await this.completeFire(d, st.inflight))) return false;
      st = await state.getTriggers(d.name);
    }
    const paused = (await state.get(d.name)).paused;
    const listedAt = this.now();
    const commits: Record<string, SourceCommit[]> = {};
    for (const t of triggers) {
      const ds = d.dag.datasets[t.dataset];
      if (ds !== undefined) commits[t.dataset] = await this.commits.commits(ds);
    }
    // Markers given runs long enough ago are folded into per-dataset floors (triggers.ts): an
    // equivalent state, written fenced like every other.
    const compacted = compactFloors(d.name, st, commits, listedAt, this.opts.triggerSettleMs);
    if (compacted !== null) {
      if (!(await state.putTriggers(d.name, compacted))) return false;
      st = compacted;
    }
    const polls = this.commits.counts?.();
    if (polls !== undefined) this.metrics.triggerPolls = polls;
    this.metrics.triggerStateKeys.set(d.name, st.seen.length);
    const now = this.now();
    const seenAt = this.firstSeen.get(d.name) ?? new Map<string, number>();
    this.firstSeen.set(d.name, seenAt);
    const isSeen = seenTest(st);
    const live = new Set<string>();
    for (const [ds, cs] of Object.entries(commits)) for (const c of cs) {
      const k = commitKey(ds, c.id);
      if (isSeen(k, { dataset: ds, c })) continue;
      live.add(k);
      if (!seenAt.has(k)) seenAt.set(k, now);
    }
    for (const k of [...seenAt.keys()]) if (!live.has(k)) seenAt.delete(k);
    if (paused) {
      this.metrics.triggerStatus.set(d.name, { reason: `paused (${live.size} new commit(s) wait for unpause)`, pending: live.size, at: now });
      return now + poll;
    }
    // The DAG's runs are looked at when there is something new, and every few seconds anyway: a
    // run created by a scheduler that died before starting it (or one an embedded scheduler was
    // driving) is started / adopted even if no commit comes.
    const sweep = now - (this.lastSweep.get(d.name) ?? -Infinity) >= TRIGGER_SWEEP_MS;
    const unfinished = live.size === 0 && !sweep ? [] : await launcher.unfinished(d.name);
    if (sweep) this.lastSweep.set(d.name, now);
    const decision = decideTrigger({ dag: d.name, triggers, commits, state: st, now, firstSeen: seenAt, unfinished: unfinished.length });
    if (decision.action === 'empty') {
      if (!(await state.putTriggers(d.name, markSeen(st, decision.commits)))) return false;
      this.metrics.triggerStatus.set(d.name, { reason: `${decision.commits.length} new commit(s) without data files: seen, no run`, pending: 0, at: now });
      return now + poll;
    }
    if (decision.action === 'wait') {
      this.metrics.triggerStatus.set(d.name, { reason: decision.reason, pending: decision.pending, at: now });
      if (unfinished.length > 0) await this.startNext(d);
      return Math.min(now + poll, decision.until ?? Infinity);
    }
    if (!this.isLeader()) return false;
    if (!(await state.putTriggers(d.name, { ...st, inflight: decision.fire }))) return false;
    if (!(await this.completeFire(d, decision.fire))) return false;
    this.metrics.triggerStatus.set(d.name, { reason: `fired ${decision.fire.runId}`, pending: 0, at: now });
    await this.startNext(d);
    return this.now() + poll;
  }

  /** Creates the fire's run (a no-op when it exists) and marks its commits seen (fenced). */
  private async completeFire(d: ScheduledDag, fire: TriggerFire): Promise<boolean> {
    const { runId, created } = await this.opts.launcher.createTriggered(d, fire);
    if (created) {
      this.metrics.triggerFires++;
      this.metrics.runsStarted++;
      const newest = fire.committedAt?.[0];
      if (newest !== undefined) this.metrics.observeTriggerLatency(Math.max(0, this.now() - newest));
      this.log(`scheduler: ${d.name}: data trigger: run ${runId} for ${fire.commits.length} new commit(s) of ${fire.datasets.join(', ')} (partitions ${fire.partitions.join(',') || '-'})`);
    } else this.metrics.runsExisting++;
    const st = await this.opts.state.getTriggers(d.name);
    return this.opts.state.putTriggers(d.name, completeFire(st, fire));
  }

  /** Keeps the DAG's runs moving: adopt running ones; start the oldest pending one when none runs. */
  private async startNext(d: ScheduledDag): Promise<void> {
    const unfinished = await this.opts.launcher.unfinished(d.name);
    const running = unfinished.filter((r) => r.phase === 'running');
    if (running.length > 0) await this.opts.launcher.adopt(running);
    const pending = unfinished.find((r) => r.phase === 'pending');
    if (running.length === 0 && pending !== undefined) await this.opts.launcher.start(pending.runId);
  }
}

/**
 * Runs `service.step()` until `signal` aborts: after each step it sleeps until the next tick or
 * `pollMs` (distributed runs finish elsewhere), or until wake() is called (a run finished, a file
 * was reloaded, leadership was gained).
 */
export class Loop {
  private wakeUp: (() => void) | null = null;
  private pending = false;

  constructor(
    private readonly service: SchedulerService,
    private readonly opts: { pollMs: number; now?(): number },
  ) {}

  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  async run(signal: AbortSignal): Promise<void> {
    const now = this.opts.now ?? Date.now;
    while (!signal.aborted) {
      this.pending = false;
      const next = await this.service.step();
      if (signal.aborted || this.pending) continue;
      const delay = Math.max(0, Math.min(next - now(), this.opts.pollMs));
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, delay);
        const onAbort = (): void => done();
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', onAbort);
          resolve();
        }
        this.wakeUp = done;
        signal.addEventListener('abort', onAbort, { once: true });
      });
      this.wakeUp = null;
    }
  }
}
