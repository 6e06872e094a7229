/**
 * ThreadPool: runs instance attempts of any run on a fixed set of worker threads (the embedded
 * own entry, thread.ts, which calls workers/task-runner.ts), so a CPU-bound operator never blocks the
 * `dagctl worker` event loop — which must keep renewing BullMQ job locks and answering /healthz.
 *
 * Promise-based (one promise per attempt) rather than the TaskExecutor's event sink, because a
 * BullMQ processor is a function that returns when its job is done. The run record goes to each
 * thread once per run, as JSON text. `ready()` resolves once every thread has loaded its modules
 * (about a second of CPU per thread): a worker takes jobs only then, so thread start-up never
 * competes with the first attempts. Timeouts and aborts: the attempt's signal is aborted in the thread; if the
 * thread has not answered within `graceMs` it is terminated and replaced (a CPU loop ignoring its
 * signal), and the attempt fails with TASK_TIMEOUT / TASK_CANCELLED. A thread that dies on its own
 * fails its attempt with WORKER_CRASHED (retryable).
 */
import { Worker } from 'node:worker_threads';
import type { InstanceResult } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { FromPoolThread as FromThread, ToPoolThread as ToThread } from './thread-protocol.js';

export type Outcome =
  | { ok: true; result: InstanceResult }
  | { ok: false; code: string; message: string; retryable: boolean };

interface Task {
  recordJson: string;
  job: InstanceJob;
  signal: AbortSignal;
  resolve: (o: Outcome) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  records: Set<string>;
  task: Task | null;
  timer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  stopping: 'TASK_TIMEOUT' | 'TASK_CANCELLED' | null;
  onAbort: (() => void) | null;
}

const THREAD_URL = new URL('./thread.js', import.meta.url);

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private closed = false;

  constructor(
    readonly size: number,
    /** Worker name reported in results. */
    private readonly worker: string,
    private readonly graceMs = 2000,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Resolves once every thread has started (loaded its modules); never rejects. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Runs one attempt of the run whose record JSON is given; never rejects (failures are Outcomes). */
  run(recordJson: string, job: InstanceJob, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      if (signal.aborted) {
        resolve({ ok: false, code: 'TASK_CANCELLED', message: 'aborted before it started', retryable: false });
        return;
      }
      this.waiting.push({ recordJson, job, signal, resolve });
      this.pump();
    });
  }

  get busy(): number {
    return this.slots.filter((s) => s.task !== null).length;
  }

  private spawn(): Slot {
    const worker = new Worker(THREAD_URL);
    let started: () => void = () => {};
    const ready = new Promise<void>((r) => (started = r));
    const slot: Slot = { worker, ready, records: new Set(), task: null, timer: null, killTimer: null, stopping: null, onAbort: null };
    worker.on('message', (m: FromThread) => (m.type === 'ready' ? started() : this.onMessage(slot, m)));
    // A thread that dies while starting must not hold ready() forever.
    worker.once('exit', () => started());
    slot.worker.on('error', (e) => this.onCrash(slot, `worker thread error: ${e.message}`));
    slot.worker.on('exit', (code) => {
      if (!this.closed && slot.task !== null && slot.stopping === null) this.onCrash(slot, `worker thread exited with code ${code}`);
    });
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.task !== null) continue;
      const task = this.waiting.shift() as Task;
      if (task.signal.aborted) {
        task.resolve({ ok: false, code: 'TASK_CANCELLED', message: 'aborted before it started', retryable: false });
        continue;
      }
      slot.task = task;
      slot.stopping = null;
      const msg: ToThread = { type: 'run', job: task.job, worker: this.worker };
      if (!slot.records.has(task.job.runId)) {
        msg.recordJson = task.recordJson;
        slot.records.add(task.job.runId);
        // Mirrors thread.ts, which keeps the 8 latest records: forget what the thread forgets.
        if (slot.records.size > 8) slot.records.delete(slot.records.values().next().value as string);
      }
      slot.worker.postMessage(msg);
      const { timeoutMs } = task.job;
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) slot.timer = setTimeout(() => this.stop(slot, 'TASK_TIMEOUT'), timeoutMs);
      slot.onAbort = () => this.stop(slot, 'TASK_CANCELLED');
      task.signal.addEventListener('abort', slot.onAbort, { once: true });
    }
  }

  private stop(slot: Slot, why: 'TASK_TIMEOUT' | 'TASK_CANCELLED'): void {
    const task = slot.task;
    if (task === null || slot.stopping !== null) return;
    slot.stopping = why;
    slot.worker.postMessage({ type: 'abort', instanceId: task.job.instanceId, attempt: task.job.attempt } satisfies ToThread);
    slot.killTimer = setTimeout(() => {
      if (slot.task !== task) return;
      // The operator ignored its signal: terminate the thread and replace it.
      const idx = this.slots.indexOf(slot);
      this.finish(slot, {
        ok: false,
        code: why,
        message: why === 'TASK_TIMEOUT' ? `timed out after ${task.job.timeoutMs} ms (thread terminated)` : 'cancelled (thread terminated)',
        retryable: why === 'TASK_TIMEOUT',
      });
      void slot.worker.terminate();
      if (!this.closed && idx >= 0) this.slots[idx] = this.spawn();
      this.pump();
    }, this.graceMs);
  }

  private finish(slot: Slot, outcome: Outcome): void {
    const task = slot.task;
    if (slot.timer !== null) clearTimeout(slot.timer);
    if (slot.killTimer !== null) clearTimeout(slot.killTimer);
    if (task !== null && slot.onAbort !== null) task.signal.removeEventListener('abort', slot.onAbort);
    slot.timer = null;
    slot.killTimer = null;
    slot.onAbort = null;
    slot.task = null;
    slot.stopping = null;
    task?.resolve(outcome);
  }

  private onMessage(slot: Slot, m: Exclude<FromThread, { type: 'ready' }>): void {
    const task = slot.task;
    if (task === null || task.job.instanceId !== m.instanceId || task.job.attempt !== m.attempt) return;
    const stopping = slot.stopping;
    if (m.type === 'done') {
      this.finish(slot, { ok: true, result: m.result });
    } else if (stopping === 'TASK_TIMEOUT') {
      this.finish(slot, { ok: false, code: 'TASK_TIMEOUT', message: `timed out after ${task.job.timeoutMs} ms`, retryable: true });
    } else {
      this.finish(slot, { ok: false, code: stopping ?? m.code, message: m.message, retryable: stopping === null && m.retryable });
    }
    this.pump();
  }

  private onCrash(slot: Slot, message: string): void {
    const idx = this.slots.indexOf(slot);
    if (slot.task !== null) this.finish(slot, { ok: false, code: 'WORKER_CRASHED', message, retryable: true });
    if (!this.closed && idx >= 0) {
      void slot.worker.terminate();
      this.slots[idx] = this.spawn();
      this.pump();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0)) t.resolve({ ok: false, code: 'TASK_CANCELLED', message: 'pool closed', retryable: true });
    for (const slot of this.slots) if (slot.task !== null) this.finish(slot, { ok: false, code: 'TASK_CANCELLED', message: 'pool closed', retryable: true });
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
