/**
 * Dispatcher: turns the effects of an applied batch into BullMQ work, in whatever process applied
 * it (a worker after finishing an instance, `dagctl run` for `start`, the sweeper for `tick`).
 *
 *   dispatch → build each InstanceJob with the run's JobResolver from the statuses `needs(id)`
 *              lists (fetched in one round trip) and add the jobs (deterministic ids);
 *   wake     → a local timer applies `tick` at that time (best effort: if this process dies, the
 *              sweeper fires the tick instead);
 *   abort    → nothing here: running attempts see the run's cancel flag (processor polls it).
 *
 * Records and resolvers are cached per run (a record never changes).
 */
import type { Effect } from '../../scheduler/engine/events.js';
import { JobResolver } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { DEFAULT_QUEUE } from '../../scheduler/redis/keys.js';
import type { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { DagctlError } from '../../core/errors.js';
import type { InstanceJobSpec, Queues } from './queues.js';

const CACHE_RUNS = 32;

export interface RunContext {
  record: RunRecord;
  /** The record as stored (what worker threads get). */
  recordJson: string;
  resolver: JobResolver;
}

export class Dispatcher {
  private readonly runs = new Map<string, Promise<RunContext>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    readonly store: RedisRunStore,
    readonly queues: Queues,
    private readonly onError: (e: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The run's record and resolver (cached). */
  run(runId: string): Promise<RunContext> {
    let p = this.runs.get(runId);
    if (p === undefined) {
      p = (async () => {
        const recordJson = await this.store.getRecordText(runId);
        if (recordJson === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
        const record = JSON.parse(recordJson) as RunRecord;
        return { record, recordJson, resolver: new JobResolver(record) };
      })();
      p.catch(() => this.runs.delete(runId));
      this.runs.set(runId, p);
      if (this.runs.size > CACHE_RUNS) {
        const oldest = this.runs.keys().next().value;
        if (oldest !== undefined) this.runs.delete(oldest);
      }
    }
    return p;
  }

  queueOf(ctx: RunContext, instanceId: string): string {
    return ctx.resolver.instance(instanceId).queue ?? DEFAULT_QUEUE;
  }

  async handle(runId: string, effects: readonly Effect[]): Promise<void> {
    for (const fx of effects) {
      if (fx.type === 'dispatch') await this.enqueue(runId, fx.ids);
      else if (fx.type === 'wake') this.wakeAt(runId, fx.at);
    }
  }

  /**
   * Enqueues the current attempt of each instance (its `attempts` in Redis). Instances no longer
   * queued/running are left out (a stale dispatch).
   */
  async enqueue(runId: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const ctx = await this.run(runId);
    const need = new Set<string>(ids);
    for (const id of ids) for (const n of ctx.resolver.needs(id)) need.add(n);
    const statuses = await this.store.statuses(runId, [...need]);
    const lookup = (id: string) => statuses.get(id);
    const specs: InstanceJobSpec[] = [];
    for (const id of ids) {
      const s = statuses.get(id);
      if (s === undefined || (s.state !== 'queued' && s.state !== 'running')) continue;
      specs.push({ queue: this.queueOf(ctx, id), job: ctx.resolver.build(id, s.attempts, lookup) });
    }
    await this.queues.add(specs);
    return specs.length;
  }

  private wakeAt(runId: string, at: number): void {
    if (this.closed) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (this.closed) return;
        this.store
          .apply(runId, [{ type: 'tick', at: this.now() }])
          .then((fx) => this.handle(runId, fx))
          .catch(this.onError);
      },
      Math.max(0, at - this.now()),
    );
    t.unref();
    this.timers.add(t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
