/**
 * EmbeddedExecutor: the default TaskExecutor — runs a run's dispatched attempts on a ThreadPool
 * (workers/threads/pool.ts: one thread per core unless told otherwise, 4 prefetched jobs per
 * thread, started when first needed) in the `dagctl run` process, so CPU-bound operators use
 * every core with no servers. Trivial instances (the operator's `inline(params)`, as on `dagctl
 * worker`) run on this event loop instead (workers/threads/inline.ts): no thread hop.
 * Timeouts, cancellation, crashes and the heap limit are the pool's (the same pool `dagctl worker`
 * uses); this adapter turns its outcomes into run events. After close() it reports nothing more.
 * A run with operator modules is preloaded (ThreadPool.preload): threads import its code bundle
 * as they start, and `ready()` waits for that too.
 */
import type { DagSpec } from '../../definitions/types.js';
import { getOperator } from '../../operators/registry.js';
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { TaskExecutor } from '../../scheduler/executor.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { runsInline } from '../task-runner.js';
import { runInlineWith } from '../threads/inline.js';
import type { Attempt, Outcome, ThreadPool } from '../threads/pool.js';
import { embeddedPool, type EmbeddedPoolOptions } from './threads.js';

export interface EmbeddedOptions extends EmbeddedPoolOptions {
  now?: () => number;
  /**
   * A pool started ahead by embeddedPool (threads.ts; with these options' concurrency, prefetch,
   * grace and heap), so its threads loaded their modules while the run was planned; the executor
   * owns it from then on (close() closes it). Default: a new lazy pool.
   */
  pool?: ThreadPool;
}

/**
 * How many of the DAG's tasks run on threads (operator modules, and operators whose params do not
 * make them inline): a run of none needs no thread started ahead (pure, but for the operator
 * registry's lookups). A task whose params do not parse counts as threaded (planning reports it).
 */
export function threadedTasks(dag: DagSpec): number {
  let n = 0;
  for (const t of dag.tasks) {
    if (dag.modules?.[t.operator] !== undefined) { n++; continue; }
    const op = getOperator(t.operator);
    if (op === undefined) continue;
    const parsed = op.params.safeParse(t.params);
    if (!parsed.success || op.inline?.(parsed.data) !== true) n++;
  }
  return n;
}

export class EmbeddedExecutor implements TaskExecutor {
  readonly concurrency: number;
  private readonly pool: ThreadPool;
  private readonly now: () => number;
  private recordJson: string | null = null;
  /** Inline attempts running now, by instance id (to abort them). */
  private readonly inline = new Map<string, AbortController>();
  private closed = false;

  constructor(
    private readonly record: RunRecord,
    private readonly onEvent: (e: RunEvent) => void,
    opts: EmbeddedOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.pool = opts.pool ?? embeddedPool(opts);
    this.concurrency = this.pool.size;
    // A run with operator modules: each thread imports the run's code bundle as it starts.
    if (Object.keys(record.dag.modules ?? {}).length > 0) this.pool.preload(record.runId, (this.recordJson = JSON.stringify(record)));
  }

  /** Resolves when every thread has loaded the runtime (module graph) and the run's code bundle: for warm benchmarks. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  dispatch(jobs: InstanceJob[]): void {
    const threaded: Attempt[] = [];
    for (const job of jobs) {
      if (runsInline(this.record, job.instanceId)) {
        this.runInline(job);
        continue;
      }
      this.recordJson ??= JSON.stringify(this.record);
      threaded.push({ job, recordJson: this.recordJson, onStart: () => this.started(job), onEnd: (o) => this.ended(job, o) });
    }
    if (threaded.length > 0) this.pool.submitAll(threaded);
  }

  private runInline(job: InstanceJob): void {
    const ac = new AbortController();
    this.inline.set(job.instanceId, ac);
    this.started(job);
    void runInlineWith(this.record, job, ac, 'embedded-main').then((o) => {
      this.inline.delete(job.instanceId);
      this.ended(job, o);
    });
  }

  abort(instanceIds: string[]): void {
    const ids = new Set(instanceIds);
    for (const id of instanceIds) this.inline.get(id)?.abort();
    this.pool.abort((job) => ids.has(job.instanceId));
  }

  private started(job: InstanceJob): void {
    if (!this.closed) this.onEvent({ type: 'started', id: job.instanceId, attempt: job.attempt, at: this.now() });
  }

  private ended(job: InstanceJob, o: Outcome): void {
    if (this.closed) return;
    const at = this.now();
    if (o.ok) this.onEvent({ type: 'succeeded', id: job.instanceId, attempt: job.attempt, at, result: o.result });
    else this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at, error: o.message, code: o.code, retryable: o.retryable, ...(o.log === undefined ? {} : { log: o.log }) });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.inline.values()) ac.abort();
    await this.pool.close();
  }
}
