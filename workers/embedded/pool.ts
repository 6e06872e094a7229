/**
 * EmbeddedExecutor: the default TaskExecutor — a pool of worker threads (one per core unless told
 * otherwise) in the `dagctl run` process, so CPU-bound operators use every core with no servers.
 *
 * Each thread runs one attempt at a time. Per attempt the pool arms the task's timeout: on expiry
 * (or on abort) it aborts the attempt's signal, and if the thread has not answered within the
 * grace period it terminates the thread — which is how a CPU-bound operator ignoring its signal
 * is stopped — reports the attempt failed (TASK_TIMEOUT / TASK_CANCELLED) and starts a new thread.
 * A thread that dies on its own reports WORKER_CRASHED (retryable).
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
  /** How long an aborted attempt may take to stop before its thread is terminated. */
  graceMs?: number;
  now?: () => number;
  onLog?: (line: string) => void;
}

interface Slot {
  worker: Worker;
  recordsSent: Set<string>;
  job: InstanceJob | null;
  timer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  /** Why the attempt is being stopped, if it is. */
  stopping: 'TASK_TIMEOUT' | 'TASK_CANCELLED' | null;
}

const THREAD_URL = new URL('./thread.js', import.meta.url);

export class EmbeddedExecutor implements TaskExecutor {
  readonly concurrency: number;
  private readonly slots: Slot[] = [];
  private readonly waiting: InstanceJob[] = [];
  private readonly graceMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(
    private readonly record: RunRecord,
    private readonly onEvent: (e: RunEvent) => void,
    opts: EmbeddedOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
    this.graceMs = opts.graceMs ?? 2000;
    this.now = opts.now ?? Date.now;
    for (let i = 0; i < this.concurrency; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(THREAD_URL), recordsSent: new Set(), job: null, timer: null, killTimer: null, stopping: null };
    slot.worker.on('message', (m: FromThread) => this.onMessage(slot, m));
    slot.worker.on('error', (e) => this.onCrash(slot, `worker thread error: ${e.message}`));
    slot.worker.on('exit', (code) => {
      if (!this.closed && slot.job !== null && slot.stopping === null) this.onCrash(slot, `worker thread exited with code ${code}`);
    });
    return slot;
  }

  dispatch(jobs: InstanceJob[]): void {
    this.waiting.push(...jobs);
    this.pump();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.job !== null) continue;
      const job = this.waiting.shift() as InstanceJob;
      slot.job = job;
      slot.stopping = null;
      const msg: ToThread = { type: 'run', job };
      if (!slot.recordsSent.has(job.runId)) {
        msg.record = this.record;
        slot.recordsSent.add(job.runId);
      }
      slot.worker.postMessage(msg);
      if (job.timeoutMs > 0 && Number.isFinite(job.timeoutMs)) {
        slot.timer = setTimeout(() => this.stop(slot, 'TASK_TIMEOUT'), job.timeoutMs);
      }
    }
  }

  abort(instanceIds: string[]): void {
    const ids = new Set(instanceIds);
    // Not started yet: report cancelled right away.
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const job = this.waiting[i] as InstanceJob;
      if (!ids.has(job.instanceId)) continue;
      this.waiting.splice(i, 1);
      this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at: this.now(), error: 'cancelled before it started', code: 'TASK_CANCELLED', retryable: false });
    }
    for (const slot of this.slots) if (slot.job !== null && ids.has(slot.job.instanceId)) this.stop(slot, 'TASK_CANCELLED');
  }

  private stop(slot: Slot, why: 'TASK_TIMEOUT' | 'TASK_CANCELLED'): void {
    const job = slot.job;
    if (job === null || slot.stopping !== null) return;
    slot.stopping = why;
    slot.worker.postMessage({ type: 'abort', instanceId: job.instanceId, attempt: job.attempt } satisfies ToThread);
    slot.killTimer = setTimeout(() => {
      // The operator ignored its signal: terminate the thread and replace it.
      if (slot.job !== job) return;
      const idx = this.slots.indexOf(slot);
      this.clearTimers(slot);
      slot.job = null;
      void slot.worker.terminate();
      const message = why === 'TASK_TIMEOUT' ? `timed out after ${job.timeoutMs} ms (thread terminated)` : 'cancelled (thread terminated)';
      this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at: this.now(), error: message, code: why, retryable: why === 'TASK_TIMEOUT' });
      if (!this.closed && idx >= 0) this.slots[idx] = this.spawn();
      this.pump();
    }, this.graceMs);
  }

  private clearTimers(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    if (slot.killTimer !== null) clearTimeout(slot.killTimer);
    slot.timer = null;
    slot.killTimer = null;
  }

  private onMessage(slot: Slot, m: FromThread): void {
    if (m.type === 'log') return;
    const job = slot.job;
    if (job === null || job.instanceId !== m.instanceId || job.attempt !== m.attempt) return;
    const at = this.now();
    if (m.type === 'started') {
      this.onEvent({ type: 'started', id: m.instanceId, attempt: m.attempt, at });
      return;
    }
    const stopping = slot.stopping;
    this.clearTimers(slot);
    slot.job = null;
    slot.stopping = null;
    if (m.type === 'done') {
      this.onEvent({ type: 'succeeded', id: m.instanceId, attempt: m.attempt, at, result: m.result });
    } else if (stopping === 'TASK_TIMEOUT') {
      this.onEvent({ type: 'failed', id: m.instanceId, attempt: m.attempt, at, error: `timed out after ${job.timeoutMs} ms`, code: 'TASK_TIMEOUT', retryable: true });
    } else {
      this.onEvent({ type: 'failed', id: m.instanceId, attempt: m.attempt, at, error: m.message, code: stopping ?? m.code, retryable: stopping === null && m.retryable });
    }
    this.pump();
  }

  private onCrash(slot: Slot, message: string): void {
    const job = slot.job;
    const idx = this.slots.indexOf(slot);
    this.clearTimers(slot);
    slot.job = null;
    if (job !== null) this.onEvent({ type: 'failed', id: job.instanceId, attempt: job.attempt, at: this.now(), error: message, code: 'WORKER_CRASHED', retryable: true });
    if (!this.closed && idx >= 0) {
      void slot.worker.terminate();
      this.slots[idx] = this.spawn();
      this.pump();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) this.clearTimers(slot);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
