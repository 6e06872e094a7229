/**
 * EmbeddedExecutor: the default TaskExecutor — a pool of worker threads (one per core unless told
 * otherwise) in the `dagctl run` process, so CPU-bound operators use every core with no servers.
 *
 * Each thread runs one attempt at a time but holds up to `prefetch` jobs, so it never waits for a
 * round trip to the main thread between two short instances. The timeout of an attempt is armed
 * when the thread reports that it started. On expiry (or abort) the pool aborts the attempt's
 * signal; if the thread has not answered within the grace period it terminates the thread — which
 * is how a CPU-bound operator ignoring its signal is stopped — reports the attempt failed
 * (TASK_TIMEOUT / TASK_CANCELLED), puts the thread's not-yet-started jobs back in the queue and
 * starts a new thread. A thread that dies on its own reports WORKER_CRASHED (retryable).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RunEvent } from '../../scheduler/engine/events.js';
import type { TaskExecutor } from '../../scheduler/executor.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { RunRecord } from '../../scheduler/ports.js';
import type { FromThread, ToThread } from './protocol.js';

export interface EmbeddedOptions {
  concurrency?: number;
  /** Jobs a thread holds at once (default 4; 1 disables prefetch). */
  prefetch?: number;
  /** How long an aborted attempt may take to stop before its thread is terminated. */
  graceMs?: number;
  /**
   * V8 old-generation limit of each worker thread, MB (default: env DAGCTL_THREAD_HEAP_MB, else
   * DEFAULT_THREAD_HEAP_MB). V8 lets an unbounded heap fill with garbage long before it collects
   * (measured: 537 MB peak RSS unbounded vs 301 MB at 192 MB, same run time, 2M-row pipeline); a
   * limit makes it collect sooner, and an instance that truly needs more fails with a clear
   * WORKER_OUT_OF_MEMORY instead of taking the whole process down.
   */
  maxThreadHeapMb?: number;
  now?: () => number;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** Resolved once the thread loaded the run's operator modules (at once for a run without). */
  loaded: Promise<void>;
  recordsSent: Set<string>;
  /** Jobs sent to the thread, in order; jobs[0] is running once `running` is true. */
  jobs: InstanceJob[];
  running: boolean;
  timer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  stopping: 'TASK_TIMEOUT' | 'TASK_CANCELLED' | null;
  dead: boolean;
}

const THREAD_URL = new URL('./thread.js', import.meta.url);
/** Instances hold one partition or bucket, never a dataset: this is ample, and bounds the process. */
export const DEFAULT_THREAD_HEAP_MB = 384;
const sameJob = (j: InstanceJob | undefined, id: string, attempt: number): boolean => j !== undefined && j.instanceId === id && j.attempt === attempt;

export class EmbeddedExecutor implements TaskExecutor {
  readonly concurrency: number;
  private readonly slots: Slot[] = [];
  private readonly waiting: InstanceJob[] = [];
  private readonly graceMs: number;
  private readonly prefetch: number;
  private readonly now: () => number;
  private readonly heapMb: number;
  private closed = false;

  constructor(
    private readonly record: RunRecord,
    private readonly onEvent: (e: RunEvent) => void,
    opts: EmbeddedOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
    this.graceMs = opts.graceMs ?? 2000;
    this.prefetch = Math.max(1, opts.prefetch ?? 4);
    this.now = opts.now ?? Date.now;
    const envHeap = Number(process.env.DAGCTL_THREAD_HEAP_MB);
    this.heapMb = opts.maxThreadHeapMb ?? (Number.isFinite(envHeap) && envHeap > 0 ? envHeap : DEFAULT_THREAD_HEAP_MB);
    for (let i = 0; i < this.concurrency; i++) this.slots.push(this.spawn());
  }

  /** Resolves when every thread has loaded the runtime (module graph) and the run's operator modules: for warm benchmarks. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.flatMap((s) => [s.ready, s.loaded]));
  }

  private spawn(): Slot {
    const worker = new Worker(THREAD_URL, { resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
    let markReady: () => void = () => undefined;
    let markLoaded: () => void = () => undefined;
    const modules = this.record.bundle !== undefined && Object.keys(this.record.dag.modules ?? {}).length > 0;
    const slot: Slot = { worker, ready: new Promise<void>((r) => (markReady = r)), loaded: modules ? new Promise<void>((r) => (markLoaded = r)) : Promise.resolve(), recordsSent: new Set(), jobs: [], running: false, timer: null, killTimer: null, stopping: null, dead: false };
    if (modules) {
      // The thread imports the run's code bundle as it starts, not in its first job's time.
      worker.postMessage({ type: 'load', record: this.record } satisfies ToThread);
      slot.recordsSent.add(this.record.runId);
    }
    worker.on('message', (m: FromThread) => (m.type === 'ready' ? markReady() : m.type === 'loaded' ? markLoaded() : this.onMessage(slot, m)));
    worker.on('error', (e) => {
      const oom = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (oom) this.onCrash(slot, `the instance ran out of memory: the worker thread's heap limit is ${this.heapMb} MB (raise it with --thread-heap-mb or DAGCTL_THREAD_HEAP_MB)`, 'WORKER_OUT_OF_MEMORY');
      else this.onCrash(slot, `worker thread error: ${e.message}`);
    });
    worker.on('exit', (code) => {
      markReady();
      markLoaded();
      if (!this.closed && !slot.dead) this.onCrash(slot, `worker thread exited with code ${code}`);
    });
    return slot;
  }

  dispatch(jobs: InstanceJob[]): void {
    this.waiting.push(...jobs);
    this.pump();
  }

  /** Fills threads up to `prefetch` jobs, least loaded first, so work spreads before it queues. */
  private pump(): void {
    for (let depth = 1; depth <= this.prefetch && this.waiting.length > 0; depth++) {
      for (const slot of this.slots) {
        if (this.waiting.length === 0) return;
        if (slot.dead || slot.stopping !== null || slot.jobs.length >= depth) continue;
        const job = this.waiting.shift() as InstanceJob;
        slot.jobs.push(job);
        const msg: ToThread = { type: 'run', job };
        if (!slot.recordsSent.has(job.runId)) {
          msg.record = this.record;
          slot.recordsSent.add(job.runId);
        }
        slot.worker.postMessage(msg);
      }
    }
  }

  abort(instanceIds: string[]): void {
    const ids = new Set(instanceIds);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const job = this.waiting[i] as InstanceJob;
      if (!ids.has(job.instanceId)) continue;
      this.waiting.splice(i, 1);
      this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at: this.now(), error: 'cancelled before it started', code: 'TASK_CANCELLED', retryable: false });
    }
    for (const slot of this.slots) {
      slot.jobs.forEach((job, i) => {
        if (!ids.has(job.instanceId)) return;
        if (i === 0 && slot.running) this.stop(slot, 'TASK_CANCELLED');
        else slot.worker.postMessage({ type: 'abort', instanceId: job.instanceId, attempt: job.attempt } satisfies ToThread);
      });
    }
  }

  private stop(slot: Slot, why: 'TASK_TIMEOUT' | 'TASK_CANCELLED'): void {
    const job = slot.jobs[0];
    if (job === undefined || !slot.running || slot.stopping !== null) return;
    slot.stopping = why;
    slot.worker.postMessage({ type: 'abort', instanceId: job.instanceId, attempt: job.attempt } satisfies ToThread);
    slot.killTimer = setTimeout(() => {
      if (slot.jobs[0] !== job || slot.dead) return;
      // The operator ignored its signal: terminate the thread, re-queue what it had not started.
      const message = why === 'TASK_TIMEOUT' ? `timed out after ${job.timeoutMs} ms (thread terminated)` : 'cancelled (thread terminated)';
      this.replace(slot);
      this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at: this.now(), error: message, code: why, retryable: why === 'TASK_TIMEOUT' });
      this.pump();
    }, this.graceMs);
  }

  /** Retires a slot's thread: its unstarted jobs go back to the front of the queue. */
  private replace(slot: Slot): void {
    slot.dead = true;
    this.clearTimers(slot);
    const unstarted = slot.running ? slot.jobs.slice(1) : slot.jobs;
    slot.jobs = [];
    this.waiting.unshift(...unstarted);
    void slot.worker.terminate();
    const idx = this.slots.indexOf(slot);
    if (!this.closed && idx >= 0) this.slots[idx] = this.spawn();
  }

  private clearTimers(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    if (slot.killTimer !== null) clearTimeout(slot.killTimer);
    slot.timer = null;
    slot.killTimer = null;
  }

  private onMessage(slot: Slot, m: Exclude<FromThread, { type: 'ready' | 'loaded' }>): void {
    if (slot.dead) return;
    const at = this.now();
    if (m.type === 'started') {
      const job = slot.jobs[0];
      if (!sameJob(job, m.instanceId, m.attempt) || job === undefined) return;
      slot.running = true;
      if (job.timeoutMs > 0 && Number.isFinite(job.timeoutMs)) slot.timer = setTimeout(() => this.stop(slot, 'TASK_TIMEOUT'), job.timeoutMs);
      this.onEvent({ type: 'started', id: m.instanceId, attempt: m.attempt, at });
      return;
    }
    const idx = slot.jobs.findIndex((j) => sameJob(j, m.instanceId, m.attempt));
    if (idx < 0) return;
    const job = slot.jobs[idx] as InstanceJob;
    slot.jobs.splice(idx, 1);
    let stopping: Slot['stopping'] = null;
    if (idx === 0 && slot.running) {
      stopping = slot.stopping;
      this.clearTimers(slot);
      slot.running = false;
      slot.stopping = null;
    }
    if (m.type === 'done') {
      this.onEvent({ type: 'succeeded', id: m.instanceId, attempt: m.attempt, at, result: m.result });
    } else if (stopping === 'TASK_TIMEOUT') {
      this.onEvent({ type: 'failed', id: m.instanceId, attempt: m.attempt, at, error: `timed out after ${job.timeoutMs} ms`, code: 'TASK_TIMEOUT', retryable: true });
    } else {
      this.onEvent({ type: 'failed', id: m.instanceId, attempt: m.attempt, at, error: m.message, code: stopping ?? m.code, retryable: stopping === null && m.retryable });
    }
    this.pump();
  }

  /** An out-of-memory instance fails the same way again: not retried. Other crashes are. */
  private onCrash(slot: Slot, message: string, code: 'WORKER_CRASHED' | 'WORKER_OUT_OF_MEMORY' = 'WORKER_CRASHED'): void {
    if (slot.dead) return;
    const job = slot.running ? slot.jobs[0] : undefined;
    this.replace(slot);
    if (job !== undefined) this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at: this.now(), error: message, code, retryable: code === 'WORKER_CRASHED' });
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) {
      slot.dead = true;
      this.clearTimers(slot);
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
