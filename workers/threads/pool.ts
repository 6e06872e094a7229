/**
 * ThreadPool: the one pool of worker threads that runs instance attempts, used by the embedded
 * executor (workers/embedded/pool.ts, the TaskExecutor port) and by `dagctl worker` (the BullMQ
 * processor), so timeout, crash and heap-limit handling is the same everywhere.
 *
 * Each thread runs one attempt at a time but may hold up to `prefetch` jobs, so it never waits for
 * a round trip to the main thread between two short instances — deeper than one only while enough
 * jobs wait for every thread (mayHold), so a step's last jobs go to whichever thread frees first
 * instead of queueing behind a long one. Jobs go to the least loaded thread.
 * A run's record travels to each thread once, as JSON text. The timeout of an attempt is armed
 * when its thread reports that it started. On expiry (or abort) the attempt's signal is aborted in
 * the thread; if the thread has not answered within `graceMs` the pool terminates it — which is
 * how a CPU-bound operator ignoring its signal is stopped — ends the attempt with TASK_TIMEOUT
 * (retryable) or TASK_CANCELLED, puts the thread's not-yet-started jobs back at the front of the
 * queue and starts a new thread. A thread that dies on its own ends its running attempt with
 * WORKER_CRASHED (retryable), or WORKER_OUT_OF_MEMORY (not retried: it fails the same way again)
 * when it outgrew its heap limit. Threads start in the constructor, or with `lazy` only when
 * attempts wait and no thread is idle (a one-instance run starts one thread, a run of inline
 * instances none), or ahead of need with `warm(n)`; `shrink(n)` terminates idle threads beyond n.
 * `ready()` starts any missing thread and resolves once every thread has loaded its modules (and
 * the runs preloaded so far).
 *
 * `preload(runId, recordJson)` sends a run's record to every thread ahead of its jobs (and to
 * threads started later), and each imports the run's operator modules at once, so a module's first
 * instances on each thread do not pay for loading its code bundle. Runs without modules need none.
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { InstanceResult } from '../../scheduler/model.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import { RECORDS_KEPT, type FromThread, type ThreadData, type ToThread } from './protocol.js';
import { collectMbOf } from './collect.js';
import { jitFlags } from './jit.js';

export type Outcome =
  | { ok: true; result: InstanceResult }
  | { ok: false; code: string; message: string; retryable: boolean; /** The failed attempt's log tail, when it logged. */ log?: string };

/** One attempt handed to the pool. */
export interface Attempt {
  job: InstanceJob;
  /** The run record as JSON text (sent to a thread once per run). */
  recordJson: string;
  /** Called when the attempt starts running in its thread. */
  onStart?: () => void;
  /** Called exactly once with how the attempt ended (unless the pool was closed first). */
  onEnd: (outcome: Outcome) => void;
}

export interface ThreadPoolOptions {
  /** Threads (default: one per core). */
  size?: number;
  /** Jobs a thread holds at once (default 1; more saves a round trip between short attempts). */
  prefetch?: number;
  /** How long an aborted attempt may take to stop before its thread is terminated (default 2 s). */
  graceMs?: number;
  /**
   * V8 old-generation limit of each worker thread, MB (default: env DAGCTL_THREAD_HEAP_MB, else
   * DEFAULT_THREAD_HEAP_MB). V8 lets an unbounded heap fill with garbage long before it collects
   * (measured: 537 MB peak RSS unbounded vs 301 MB at 192 MB, same run time, 2M-row pipeline); a
   * limit makes it collect sooner, and an instance that truly needs more fails with a clear
   * WORKER_OUT_OF_MEMORY instead of taking the whole process down.
   */
  maxThreadHeapMb?: number;
  /**
   * V8's old-generation growing factor, as `--heap-growing-percent` (factor 1 + p/100), set for the
   * whole process (V8 flags are per process) before the first thread starts (default: env
   * DAGCTL_HEAP_GROWING_PERCENT, else 0 = V8's own factor). Under the 384 MB limit V8 picks a
   * factor of ~1.35, so a thread with ~13 MB live runs a full mark-compact every ~20 MB of promoted
   * or large-object allocation (~40 per thread on the 1M pipeline). 200 cut the 1M pipeline's process
   * CPU ~15% but raised peak RSS 7–8% (BENCHMARKS.md), so it is opt-in.
   */
  heapGrowingPercent?: number;
  /**
   * Young generation of each worker thread, MB (V8's resourceLimits.maxYoungGenerationSizeMb: two
   * semi-spaces of a third of it each and the young large-object space; default: env
   * DAGCTL_THREAD_YOUNG_MB, else DEFAULT_THREAD_YOUNG_MB). V8's own default (16 MB semi-spaces)
   * commits ~32 MB of new space per thread for objects that mostly die in their first scavenge.
   */
  youngGenerationMb?: number;
  /**
   * Old-generation size below which a worker thread runs no full mark-compact, MB, as V8's
   * `--initial-old-space-size` (with it V8 never sets the next collection's limit below it). V8 flags
   * are per process and an isolate reads them when it starts on its own thread, after `new Worker`
   * returns: every Worker started after a pool set them gets them (other pools', plain Workers such
   * as gen's), and two pools with different heap settings must not start threads at the same time
   * — one pool per process is the supported shape (a CLI run, a worker) (default: env DAGCTL_THREAD_HEAP_FLOOR_MB, else DEFAULT_THREAD_HEAP_FLOOR_MB; 0 = V8's own
   * limits; at most half of maxThreadHeapMb). Without it a thread with ~13 MB live collects after
   * every ~5 MB of promoted objects (factor ~1.35 under the 384 MB limit). It only changes a small
   * heap's schedule: a thread with more live data grows by V8's factor as before.
   */
  heapFloorMb?: number;
  /**
   * A thread runs a full garbage collection between two instances once its ArrayBuffer memory has
   * grown this many MB since its last one (collect.ts; default: env DAGCTL_THREAD_COLLECT_MB, else
   * DEFAULT_THREAD_COLLECT_MB = 0 = never): promoted buffers of ended instances are freed before
   * the next instance allocates its own, instead of waiting in the thread's malloc arena. Lower
   * peak RSS for more CPU (collect.ts has the figures), so opt-in.
   */
  collectMb?: number;
  /** Results name their worker `${workerPrefix}${threadId}` (default `thread-`). */
  workerPrefix?: string;
  /** Start threads only when attempts need them (default false: all `size` threads at once). */
  lazy?: boolean;
}

type StopReason = 'TASK_TIMEOUT' | 'TASK_CANCELLED';

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** Run ids whose record the thread holds, oldest first (mirrors thread.ts). */
  records: Set<string>;
  /** Preloads the thread has not answered yet: run id → resolve. */
  loads: Map<string, { done: Promise<void>; resolve: () => void }>;
  /** Attempts sent to the thread, in order; attempts[0] is running once `running` is true. */
  attempts: Attempt[];
  running: boolean;
  timer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  stopping: StopReason | null;
  dead: boolean;
}

const THREAD_URL = new URL('./thread.js', import.meta.url);
/** Instances hold one partition or bucket, never a dataset: this is ample, and bounds the process. */
export const DEFAULT_THREAD_HEAP_MB = 384;
/** 12 MB: 4 MB semi-spaces (measured on the 1M pipeline, BENCHMARKS.md: with the floor below, process CPU ×0.8 and peak RSS lower than V8's defaults). */
export const DEFAULT_THREAD_YOUNG_MB = 12;
/** Full mark-compacts of a thread's small heap only past this many MB (see heapFloorMb). */
export const DEFAULT_THREAD_HEAP_FLOOR_MB = 48;

/** What a pool gives its threads' V8 heaps: per-thread resource limits and process-wide V8 flags. */
export interface ThreadHeap {
  resourceLimits: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
  /** Set with v8.setFlagsFromString before each of the pool's threads starts. */
  v8Flags: string[];
}

/**
 * V8 flag that gives a thread its own young generation (0 = none: V8 lets the flag override
 * resourceLimits and its defaults, and the launcher, bin/dagctl, sets it small for the main
 * thread's isolate only, created before any JS runs).
 */
export const OWN_YOUNG_GENERATION = '--max-semi-space-size=0';

/**
 * V8's defaults of every process-wide flag a pool sets (threadHeap's v8Flags and jit.ts jitFlags),
 * set before a thread outside the pool starts, so it gets V8's defaults even after a pool's thread
 * started (`dagctl run` starts one before the DAG loads; DAG validation may start after it).
 */
export const DEFAULT_V8_FLAGS: readonly string[] = ['--initial-old-space-size=0', '--heap-growing-percent=0', OWN_YOUNG_GENERATION, '--turbo-inlining'];

/**
 * Starts a worker thread, the only way dagctl does: with a pool's heap settings (its V8 flags first,
 * per process and read when an isolate starts, then its resource limits), or, with `heap` null
 * (threads outside the pool: `gen`'s day workers, DAG validation), V8's default limits and flags
 * (DEFAULT_V8_FLAGS) and the thread's own young generation.
 */
export function startThread(url: URL | string, heap: ThreadHeap | null, opts: Omit<WorkerOptions, 'resourceLimits'> = {}): Worker {
  if (heap === null) {
    for (const f of DEFAULT_V8_FLAGS) setFlagsFromString(f);
    return new Worker(url, opts);
  }
  for (const f of heap.v8Flags) setFlagsFromString(f);
  return new Worker(url, { ...opts, resourceLimits: heap.resourceLimits });
}

const envMb = (v: string | undefined, min: number): number | undefined => {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isInteger(n) && n >= min ? n : undefined;
};

/** The heap settings of a pool's threads, from its options, else the environment, else the defaults (pure). */
export function threadHeap(opts: Pick<ThreadPoolOptions, 'maxThreadHeapMb' | 'heapGrowingPercent' | 'youngGenerationMb' | 'heapFloorMb'>, env: Record<string, string | undefined>): ThreadHeap {
  const old = opts.maxThreadHeapMb ?? envMb(env.DAGCTL_THREAD_HEAP_MB, 1) ?? DEFAULT_THREAD_HEAP_MB;
  const young = opts.youngGenerationMb ?? envMb(env.DAGCTL_THREAD_YOUNG_MB, 1) ?? DEFAULT_THREAD_YOUNG_MB;
  const floor = Math.min(opts.heapFloorMb ?? envMb(env.DAGCTL_THREAD_HEAP_FLOOR_MB, 0) ?? DEFAULT_THREAD_HEAP_FLOOR_MB, Math.floor(old / 2));
  const grow = opts.heapGrowingPercent ?? envMb(env.DAGCTL_HEAP_GROWING_PERCENT, 1) ?? 0;
  // The floor is always set (0 included): an earlier pool's floor must not leak into this one's threads.
  const v8Flags = [`--initial-old-space-size=${Math.max(0, floor)}`];
  // Always set too (0 = V8's own factor), so an earlier pool's opt-in does not carry over.
  v8Flags.push(`--heap-growing-percent=${Math.max(0, grow)}`);
  v8Flags.push(OWN_YOUNG_GENERATION);
  return { resourceLimits: { maxOldGenerationSizeMb: old, maxYoungGenerationSizeMb: young }, v8Flags };
}
/**
 * Whether a thread may take a waiting job as its `depth`-th held one (1: the one it runs next),
 * with `waiting` jobs queued and `threads` threads (pure). Depth 1 always. Deeper only while more
 * than `threads × (depth − 1)` jobs wait: a wide fan-out of short jobs is prefetched (no round trip
 * between two of them), but the last jobs of a step are not split between the threads up front,
 * where a thread holding a long one would keep jobs queued behind it while the other thread idles
 * at the step's barrier — each of them goes to the thread that frees first.
 */
export function mayHold(depth: number, waiting: number, threads: number): boolean {
  return depth <= 1 || waiting > threads * (depth - 1);
}
const isAttempt = (a: Attempt | undefined, id: string, attempt: number): a is Attempt => a !== undefined && a.job.instanceId === id && a.job.attempt === attempt;
const cancelledBeforeStart: Outcome = { ok: false, code: 'TASK_CANCELLED', message: 'cancelled before it started', retryable: false };

export class ThreadPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly waiting: Attempt[] = [];
  private readonly prefetch: number;
  private readonly graceMs: number;
  private readonly heapMb: number;
  private readonly heap: ThreadHeap;
  private readonly data: ThreadData;
  /** Preloaded runs (the latest RECORDS_KEPT): run id → record JSON, for threads started later. */
  private readonly preloads = new Map<string, string>();
  private closed = false;

  constructor(opts: ThreadPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    this.prefetch = Math.max(1, opts.prefetch ?? 1);
    this.graceMs = opts.graceMs ?? 2000;
    const heap = threadHeap(opts, process.env);
    // The compiler flags (jit.ts) go out with the heap's: both are set before each thread starts.
    this.heap = { ...heap, v8Flags: [...heap.v8Flags, ...jitFlags(process.env)] };
    this.heapMb = this.heap.resourceLimits.maxOldGenerationSizeMb;
    this.data = { workerPrefix: opts.workerPrefix ?? 'thread-', collectMb: collectMbOf(opts.collectMb, process.env) };
    if (opts.lazy !== true) this.grow(this.size);
  }

  /** Starts threads up to `size` in all; resolves once every thread has loaded its modules (or died trying); never rejects. */
  async ready(): Promise<void> {
    this.grow(this.size);
    await Promise.all(this.slots.map(async (s) => {
      await s.ready;
      await Promise.all([...s.loads.values()].map((l) => l.done));
    }));
  }

  /**
   * Sends the run's record to every thread that does not hold it, and to threads started later:
   * each imports the run's operator modules now, before its first job of the run.
   */
  preload(runId: string, recordJson: string): void {
    if (this.closed) return;
    this.preloads.delete(runId);
    this.preloads.set(runId, recordJson);
    if (this.preloads.size > RECORDS_KEPT) this.preloads.delete(this.preloads.keys().next().value as string);
    for (const slot of this.slots) if (!slot.dead && !slot.records.has(runId)) this.sendLoad(slot, runId, recordJson);
  }

  private sendLoad(slot: Slot, runId: string, recordJson: string): void {
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolve = r));
    slot.loads.get(runId)?.resolve();
    slot.loads.set(runId, { done, resolve });
    this.holds(slot, runId);
    slot.worker.postMessage({ type: 'load', recordJson } satisfies ToThread);
  }

  /** Marks the run's record as held by the thread (the same eviction as thread.ts). */
  private holds(slot: Slot, runId: string): void {
    slot.records.delete(runId);
    slot.records.add(runId);
    if (slot.records.size > RECORDS_KEPT) slot.records.delete(slot.records.values().next().value as string);
  }

  private grow(threads: number): void {
    while (this.slots.length < Math.min(threads, this.size) && !this.closed) this.slots.push(this.spawn());
  }

  /**
   * Starts threads up to `threads` (at most `size`) now, without waiting for them: a lazy pool's
   * threads then load their modules while the caller does other work (`dagctl run` plans meanwhile).
   */
  warm(threads: number): void {
    this.grow(threads);
  }

  /**
   * Terminates threads beyond `threads` that hold no attempt, newest first — `dagctl run` warms a
   * pool before it has read the DAG and keeps only the threads the DAG can use — and resolves once
   * they are gone. A lazy pool starts threads again when attempts wait for them.
   */
  async shrink(threads: number): Promise<void> {
    const gone: Worker[] = [];
    for (let i = this.slots.length - 1; i >= 0 && this.slots.length > Math.max(0, threads); i--) {
      const slot = this.slots[i] as Slot;
      if (slot.attempts.length > 0) continue;
      // Dead first: its exit is then no crash (spawn's exit handler).
      slot.dead = true;
      this.clearTimers(slot);
      this.slots.splice(i, 1);
      gone.push(slot.worker);
    }
    await Promise.all(gone.map((w) => w.terminate()));
  }

  /** Threads started and not ended (shrink, close or a crash ends one). */
  get threads(): number {
    return this.slots.filter((s) => !s.dead).length;
  }

  /** Threads running an attempt now. */
  get busy(): number {
    return this.slots.filter((s) => s.running).length;
  }

  /** Queues an attempt; its `onEnd` reports how it ended. */
  submit(attempt: Attempt): void {
    if (this.closed) {
      attempt.onEnd({ ok: false, code: 'TASK_CANCELLED', message: 'pool closed', retryable: true });
      return;
    }
    this.waiting.push(attempt);
    this.pump();
  }

  /** Queues many attempts at once (one fill of the threads). */
  submitAll(attempts: readonly Attempt[]): void {
    for (const a of attempts) this.waiting.push(a);
    this.pump();
  }

  /** Runs one attempt; never rejects (failures are Outcomes). Aborting `signal` cancels it. */
  run(recordJson: string, job: InstanceJob, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      if (signal.aborted) {
        resolve(cancelledBeforeStart);
        return;
      }
      const onAbort = (): void => this.abort((j) => j === job);
      signal.addEventListener('abort', onAbort, { once: true });
      this.submit({
        job,
        recordJson,
        onEnd: (o) => {
          signal.removeEventListener('abort', onAbort);
          resolve(o);
        },
      });
    });
  }

  /**
   * Cancels the attempts whose job matches: a queued one ends at once, a prefetched one is dropped
   * by its thread, a running one is stopped (TASK_CANCELLED; its thread terminated after the grace
   * period if it does not stop).
   */
  abort(matches: (job: InstanceJob) => boolean): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const a = this.waiting[i] as Attempt;
      if (!matches(a.job)) continue;
      this.waiting.splice(i, 1);
      a.onEnd(cancelledBeforeStart);
    }
    for (const slot of this.slots) {
      slot.attempts.forEach((a, i) => {
        if (!matches(a.job)) return;
        if (i === 0 && slot.running) this.stop(slot, 'TASK_CANCELLED');
        else slot.worker.postMessage({ type: 'abort', instanceId: a.job.instanceId, attempt: a.job.attempt } satisfies ToThread);
      });
    }
  }

  private spawn(): Slot {
    const worker = startThread(THREAD_URL, this.heap, { workerData: this.data });
    let markReady: () => void = () => undefined;
    const slot: Slot = { worker, ready: new Promise<void>((r) => (markReady = r)), records: new Set(), loads: new Map(), attempts: [], running: false, timer: null, killTimer: null, stopping: null, dead: false };
    worker.on('message', (m: FromThread) => {
      if (m.type === 'ready') markReady();
      else if (m.type === 'loaded') this.loaded(slot, m.runId);
      else this.onMessage(slot, m);
    });
    worker.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.onCrash(slot, `the instance ran out of memory: the worker thread's heap limit is ${this.heapMb} MB (raise it with --thread-heap-mb or DAGCTL_THREAD_HEAP_MB)`, 'WORKER_OUT_OF_MEMORY');
      } else {
        this.onCrash(slot, `worker thread error: ${e.message}`, 'WORKER_CRASHED');
      }
    });
    worker.on('exit', (code) => {
      // A thread that dies while starting must not hold ready() forever.
      markReady();
      for (const runId of [...slot.loads.keys()]) this.loaded(slot, runId);
      if (!this.closed && !slot.dead) this.onCrash(slot, `worker thread exited with code ${code}`, 'WORKER_CRASHED');
    });
    for (const [runId, json] of this.preloads) this.sendLoad(slot, runId, json);
    return slot;
  }

  private loaded(slot: Slot, runId: string): void {
    slot.loads.get(runId)?.resolve();
    slot.loads.delete(runId);
  }

  /** Fills threads up to `prefetch` jobs, least loaded first, so work spreads before it queues; deeper prefetch only as mayHold allows. */
  private pump(): void {
    if (this.slots.length < this.size && this.waiting.length > 0) {
      const idle = this.slots.filter((s) => !s.dead && s.attempts.length === 0).length;
      if (this.waiting.length > idle) this.grow(this.slots.length + this.waiting.length - idle);
    }
    for (let depth = 1; depth <= this.prefetch && this.waiting.length > 0; depth++) {
      for (const slot of this.slots) {
        if (this.waiting.length === 0) return;
        if (slot.dead || slot.stopping !== null || slot.attempts.length >= depth) continue;
        if (!mayHold(depth, this.waiting.length, this.slots.length)) return;
        const a = this.waiting.shift() as Attempt;
        slot.attempts.push(a);
        const msg: ToThread = { type: 'run', job: a.job };
        const runId = a.job.runId;
        if (!slot.records.has(runId)) {
          msg.recordJson = a.recordJson;
          this.holds(slot, runId);
        }
        slot.worker.postMessage(msg);
      }
    }
  }

  private stop(slot: Slot, why: StopReason): void {
    const a = slot.attempts[0];
    if (a === undefined || !slot.running || slot.stopping !== null) return;
    slot.stopping = why;
    slot.worker.postMessage({ type: 'abort', instanceId: a.job.instanceId, attempt: a.job.attempt } satisfies ToThread);
    slot.killTimer = setTimeout(() => {
      if (slot.attempts[0] !== a || slot.dead) return;
      // The operator ignored its signal: terminate the thread, re-queue what it had not started.
      const message = why === 'TASK_TIMEOUT' ? `timed out after ${a.job.timeoutMs} ms (thread terminated)` : 'cancelled (thread terminated)';
      this.replace(slot);
      a.onEnd({ ok: false, code: why, message, retryable: why === 'TASK_TIMEOUT' });
      this.pump();
    }, this.graceMs);
  }

  /** Retires a slot's thread: its unstarted attempts go back to the front of the queue. */
  private replace(slot: Slot): void {
    slot.dead = true;
    this.clearTimers(slot);
    const unstarted = slot.running ? slot.attempts.slice(1) : slot.attempts;
    slot.attempts = [];
    slot.running = false;
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

  private onMessage(slot: Slot, m: Exclude<FromThread, { type: 'ready' } | { type: 'loaded' }>): void {
    if (slot.dead) return;
    if (m.type === 'started') {
      const a = slot.attempts[0];
      if (!isAttempt(a, m.instanceId, m.attempt)) return;
      slot.running = true;
      const { timeoutMs } = a.job;
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) slot.timer = setTimeout(() => this.stop(slot, 'TASK_TIMEOUT'), timeoutMs);
      a.onStart?.();
      return;
    }
    const idx = slot.attempts.findIndex((x) => isAttempt(x, m.instanceId, m.attempt));
    if (idx < 0) return;
    const a = slot.attempts[idx] as Attempt;
    slot.attempts.splice(idx, 1);
    let stopping: StopReason | null = null;
    if (idx === 0 && slot.running) {
      stopping = slot.stopping;
      this.clearTimers(slot);
      slot.running = false;
      slot.stopping = null;
    }
    if (m.type === 'done') a.onEnd({ ok: true, result: m.result });
    else if (stopping === 'TASK_TIMEOUT') a.onEnd({ ok: false, code: 'TASK_TIMEOUT', message: `timed out after ${a.job.timeoutMs} ms`, retryable: true });
    else a.onEnd({ ok: false, code: stopping ?? m.code, message: m.message, retryable: stopping === null && m.retryable, ...(m.log === undefined ? {} : { log: m.log }) });
    this.pump();
  }

  private onCrash(slot: Slot, message: string, code: 'WORKER_CRASHED' | 'WORKER_OUT_OF_MEMORY'): void {
    if (slot.dead) return;
    const a = slot.running ? slot.attempts[0] : undefined;
    this.replace(slot);
    a?.onEnd({ ok: false, code, message, retryable: code === 'WORKER_CRASHED' });
    this.pump();
  }

  /** Terminates the threads; attempts not yet ended end TASK_CANCELLED (retryable) first. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.waiting.splice(0);
    for (const slot of this.slots) {
      slot.dead = true;
      this.clearTimers(slot);
      pending.push(...slot.attempts.splice(0));
    }
    for (const a of pending) a.onEnd({ ok: false, code: 'TASK_CANCELLED', message: 'pool closed', retryable: true });
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
