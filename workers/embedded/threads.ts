/**
 * The embedded executor's thread pool (workers/threads/pool.ts with the embedded settings: 4
 * prefetched jobs per thread, lazy start, results named `embedded-<threadId>`). This module loads
 * no operator or storage code, so `dagctl run` can import it and start an embedded run's threads
 * before it loads anything else (cli/commands/run.ts): the threads load their modules while the
 * main thread loads its own, reads the DAG and plans. EmbeddedExecutor (pool.ts) makes its pool here too.
 * mayUseThreads tells from a DAG's text alone whether such a thread is worth starting.
 */
import { CORE_SCHEMA, load } from 'js-yaml';
import { ThreadPool } from '../threads/pool.js';

export interface EmbeddedPoolOptions {
  concurrency?: number;
  /** Jobs a thread holds at once (default 4; 1 disables prefetch). */
  prefetch?: number;
  /** How long an aborted attempt may take to stop before its thread is terminated. */
  graceMs?: number;
  /** V8 old-generation limit of each worker thread, MB (ThreadPoolOptions.maxThreadHeapMb). */
  maxThreadHeapMb?: number;
}

/** The embedded pool's options for `threads` threads and an optional --thread-heap-mb (MB). */
export function embeddedPoolOptions(threads: number, heapMb: number | undefined): EmbeddedPoolOptions {
  return heapMb === undefined ? { concurrency: threads } : { concurrency: threads, maxThreadHeapMb: heapMb };
}

/** The thread pool an EmbeddedExecutor runs on (lazy: threads start when attempts need them, or with ThreadPool.warm). */
export function embeddedPool(opts: EmbeddedPoolOptions = {}): ThreadPool {
  return new ThreadPool({
    ...(opts.concurrency !== undefined ? { size: opts.concurrency } : {}),
    prefetch: opts.prefetch ?? 4,
    ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
    ...(opts.maxThreadHeapMb !== undefined ? { maxThreadHeapMb: opts.maxThreadHeapMb } : {}),
    workerPrefix: 'embedded-',
    lazy: true,
  });
}

/**
 * The built-in operators that define `inline(params)` (operators/noop.ts), i.e. whose tasks may run
 * on the main thread; test/engine/run-early-pool.test.ts keeps it in step with the registry.
 */
export const MAY_RUN_INLINE: ReadonlySet<string> = new Set(['noop']);

/**
 * Whether a DAG's text (YAML or JSON, not yet validated) may need a worker thread: false only when
 * it parses and every task names an operator that may run inline — a hint for starting a thread
 * before the DAG is loaded and the operator registry decides (embedded/pool.ts threadedTasks), so a
 * wrong answer costs time, never a result. A text that does not parse needs none: loading the DAG
 * reports it.
 */
export function mayUseThreads(text: string): boolean {
  let raw: unknown;
  try {
    raw = load(text, { schema: CORE_SCHEMA });
  } catch {
    return false;
  }
  const tasks = typeof raw === 'object' && raw !== null ? (raw as { tasks?: unknown }).tasks : undefined;
  if (!Array.isArray(tasks)) return false;
  return tasks.some((t: unknown) => {
    const op = typeof t === 'object' && t !== null ? (t as { operator?: unknown }).operator : undefined;
    return typeof op !== 'string' || !MAY_RUN_INLINE.has(op);
  });
}
