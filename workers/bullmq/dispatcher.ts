/**
 * Dispatcher: turns the effects of an applied batch into BullMQ work, in whatever process applied
 * it (a worker after finishing an instance, `dagctl run` for `start`, the sweeper for `tick`).
 *
 *   dispatch → build each InstanceJob with the run's JobResolver from the statuses `needs(id)`
 *              lists (the apply reply's when it holds them all, else all fetched in one round
 *              trip) and add the jobs (deterministic ids). Short instances of the same
 *              queue/task/stage are packed into bundle jobs by the bundle policy
 *              (scheduler/bundle-policy.ts); their membership is recorded in the run's
 *              `bundles` hash before the bundles are added, so the sweeper can check them;
 *   wake     → a local timer applies `tick` at that time (best effort: if this process dies, the
 *              sweeper fires the tick instead);
 *   abort    → nothing here: running attempts see the run's cancel flag (processor polls it);
 *   finished → a succeeded run whose work policy is reclaim (workers/reclaim.ts) has its work
 *              areas deleted here, then recorded in the run (RedisRunStore.markWorkReclaimed).
 *              The apply script returns `finished` once, to the one process that applied the
 *              final batch, so one process reclaims; a failed or cancelled run keeps its work.
 *              A reclaim that fails is reported to onError (the work stays for `dataset vacuum`).
 *              A big run's UI page is kept then, by the same one process (ui/server/view-cache.ts
 *              keepRedisRunPage: the run's `page` key), so `dagctl ui` on any machine serves
 *              its first load without reading the run; a failure is reported to onError.
 *
 * Records and resolvers are cached per run (a record never changes).
 */
import { availableParallelism } from 'node:os';
import type { Effect } from '../../scheduler/engine/events.js';
import { JobResolver } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import type { RunPhase } from '../../scheduler/model.js';
import { DEFAULT_BUNDLE_POLICY, planBundles, type BundlePolicy } from '../../scheduler/bundle-policy.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import { DEFAULT_QUEUE } from '../../scheduler/redis/keys.js';
import type { RedisRunStore, Status } from '../../scheduler/redis/redis-run-store.js';
import { DagctlError } from '../../core/errors.js';
import { specJobId, type Queues, type WorkJobSpec } from './queues.js';
import { jobKeyFromEnv, macOk } from './job-auth.js';
import { reclaimDue, reclaimRunWork } from '../reclaim.js';
import { keepRedisRunPage, VIEW_CACHE_MIN_INSTANCES } from '../../ui/server/view-cache.js';

const CACHE_RUNS = 32;

/**
 * Whether enqueue builds its jobs from the apply reply's statuses alone: only when they hold every
 * id `need` lists, so all statuses come from one atomic moment. Mixing them with a later read could
 * pair an instance still "queued" in the reply with inputs a reset has since cleared: a job built
 * on empty inputs, under the id the real re-dispatch would reuse. Otherwise enqueue reads the whole
 * set in one round trip, never the reply plus the rest.
 */
export function coveredByReply(need: ReadonlySet<string>, known: ReadonlyMap<string, Status> | undefined): known is ReadonlyMap<string, Status> {
  if (known === undefined || known.size === 0) return false;
  for (const id of need) if (!known.has(id)) return false;
  return true;
}

export interface RunContext {
  record: RunRecord;
  /** The record as stored (what worker threads get). */
  recordJson: string;
  resolver: JobResolver;
}

export interface EnqueueOptions {
  /** false: one job per instance (the sweeper re-adding lost bundle members). Default true. */
  bundle?: boolean;
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
    readonly policy: BundlePolicy = DEFAULT_BUNDLE_POLICY,
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

  /** `known`: statuses the apply reply carried (RedisRunStore BatchResult.known); see enqueue. */
  async handle(runId: string, effects: readonly Effect[], known?: ReadonlyMap<string, Status>): Promise<void> {
    for (const fx of effects) {
      if (fx.type === 'dispatch') await this.enqueue(runId, fx.ids, {}, known);
      else if (fx.type === 'wake') this.wakeAt(runId, fx.at);
      else if (fx.type === 'finished') await this.finished(runId, fx.phase);
    }
  }

  /** A finished run: reclaim its work when due, keep its UI page when big (see the banner). Never throws. */
  private async finished(runId: string, phase: RunPhase): Promise<void> {
    let ctx: RunContext;
    try {
      ctx = await this.run(runId);
    } catch (e) {
      this.onError(e);
      return;
    }
    try {
      if (reclaimDue(ctx.record, phase)) {
        // Deletions go only where a key holder's record says (job-auth.ts), as runs' writes do.
        if (!macOk(jobKeyFromEnv(), ctx.record)) throw new DagctlError('JOB_TAMPERED', `run ${runId}: the run record does not match its MAC (DAGCTL_JOB_KEY): work not reclaimed`);
        const r = await reclaimRunWork(ctx.record, this.store);
        if (r.skipped === undefined) await this.store.markWorkReclaimed(runId, { ...r, at: this.now() });
      }
    } catch (e) {
      this.onError(e);
    }
    // Only a cache: a failure to keep the page is reported, never fails the batch.
    if (ctx.record.plan.length >= VIEW_CACHE_MIN_INSTANCES) {
      try {
        await keepRedisRunPage(this.store, ctx.record, availableParallelism());
      } catch (e) {
        this.onError(e);
      }
    }
  }

  /**
   * Enqueues the current attempt of each instance (its `attempts` in Redis). Instances no longer
   * queued/running are left out (a stale dispatch). Returns how many instances were enqueued.
   * `known`: statuses already read in the atomic step that dispatched them (the apply reply): used
   * only when they hold every needed id (a chain, a pipelined partition); else every needed status
   * is read in one round trip (see coveredByReply).
   */
  async enqueue(runId: string, ids: readonly string[], opts: EnqueueOptions = {}, known?: ReadonlyMap<string, Status>): Promise<number> {
    if (ids.length === 0) return 0;
    const ctx = await this.run(runId);
    const need = new Set<string>(ids);
    for (const id of ids) for (const n of ctx.resolver.needs(id)) need.add(n);
    // One moment for all of them: an instance's state and its inputs must agree (a reset between
    // the apply and now would otherwise pair a stale "queued" with inputs no longer done).
    const statuses = coveredByReply(need, known) ? known : await this.store.statuses(runId, [...need]);
    const lookup = (id: string) => statuses.get(id);
    // Ready instances grouped by queue/task/stage (dispatch order kept): bundles never mix them.
    const groups = new Map<string, Array<{ job: InstanceJob; queuedAt: number; predictedMs: number }>>();
    let n = 0;
    for (const id of ids) {
      const s = statuses.get(id);
      if (s === undefined || (s.state !== 'queued' && s.state !== 'running')) continue;
      const p = ctx.resolver.instance(id);
      const key = `${p.queue ?? DEFAULT_QUEUE}\u0000${p.task}\u0000${p.stage}`;
      const item = { job: ctx.resolver.build(id, s.attempts, lookup), queuedAt: s.queuedAt ?? 0, predictedMs: p.predictedMs };
      const g = groups.get(key);
      if (g === undefined) groups.set(key, [item]);
      else g.push(item);
      n++;
    }
    const specs: WorkJobSpec[] = [];
    const members: Array<{ id: string; attempt: number; queuedAt: number; jobId: string }> = [];
    for (const [key, items] of groups) {
      const queue = key.slice(0, key.indexOf('\u0000'));
      const byId = new Map(items.map((it) => [it.job.instanceId, it]));
      const plan = opts.bundle === false ? items.map((it) => [it.job.instanceId]) : planBundles(items.map((it) => ({ id: it.job.instanceId, predictedMs: it.predictedMs })), this.policy);
      for (const jobIds of plan) {
        const list = jobIds.map((id) => byId.get(id)).filter((it) => it !== undefined);
        const first = list[0];
        if (first === undefined) continue;
        if (list.length === 1) {
          specs.push({ queue, job: first.job });
          continue;
        }
        const spec: WorkJobSpec = { queue, members: list.map((it) => it.job) };
        const jobId = specJobId(spec);
        for (const it of list) members.push({ id: it.job.instanceId, attempt: it.job.attempt, queuedAt: it.queuedAt, jobId });
        specs.push(spec);
      }
    }
    // Membership first: a crash before the add leaves entries naming a missing job (the sweeper re-adds).
    await this.store.recordBundles(runId, members);
    await this.queues.add(specs);
    return n;
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
