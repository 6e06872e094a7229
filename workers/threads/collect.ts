/**
 * Collection between instances: when a worker thread's ArrayBuffer memory has grown by at least
 * `collectMb` since its last collection here, the thread runs a full garbage collection after the
 * instance ends, before its next one starts.
 *
 * Why: an instance's big buffers (row-group columns, decompressed pages, shuffle blocks) outlive two
 * scavenges and are promoted; promoted ArrayBuffers are freed only by a full mark-compact, which
 * V8 starts for external memory only after it has grown by 64 MB (per thread), and the thread heap
 * floor (pool.ts heapFloorMb) defers the others. Until then they stay in the thread's glibc arena,
 * which keeps its high-water mark: dead buffers of one instance add to the live ones of the next.
 * Between instances nothing of the last one is live, so a collection there frees them all at the
 * cost of marking the thread's small live heap (~15 MB). The decision is a pure function.
 *
 * Opt-in (default 0 = never): on the 1M pipeline (2 threads, loaded machine, alternated runs) 8 MB
 * gave peak RSS 287/295 MB against 329/321 MB without, 16 MB 294/302 MB, but process CPU was
 * higher in every pair (+1.5–3 s of ~13 s): a forced collection is a full atomic mark-compact on
 * the thread, where V8's own are incremental and concurrent (BENCHMARKS.md, "Pipeline memory").
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** MB of ArrayBuffer growth since the last collection that makes a thread collect between instances (0: never). */
export const DEFAULT_THREAD_COLLECT_MB = 0;

/** Whether to collect now: `arrayBuffers` bytes now, `baseline` bytes right after the last collection (pure). */
export function shouldCollect(arrayBuffers: number, baseline: number, collectMb: number): boolean {
  return collectMb > 0 && arrayBuffers - baseline >= collectMb * 1048576;
}

/** The threshold from the pool option, else env DAGCTL_THREAD_COLLECT_MB (an integer ≥ 0), else the default (pure). */
export function collectMbOf(opt: number | undefined, env: Record<string, string | undefined>): number {
  if (opt !== undefined) return Math.max(0, opt);
  const v = env.DAGCTL_THREAD_COLLECT_MB, n = Number(v);
  return v !== undefined && v !== '' && Number.isInteger(n) && n >= 0 ? n : DEFAULT_THREAD_COLLECT_MB;
}

/**
 * A collector for this thread: after() is called between instances and collects when shouldCollect
 * says so; returns whether it did. V8's gc() is taken from a fresh context with --expose-gc set
 * only around its creation (and left on when the process already had it), so this thread's other
 * contexts (operator code) see no global gc. V8 flags are process-wide: a thread whose isolate
 * starts inside that ~1 ms window gets a global gc too (opt-in setting; one pool per process).
 */
export function betweenInstances(collectMb: number, arrayBuffers: () => number = () => process.memoryUsage().arrayBuffers): { after: () => boolean } {
  if (collectMb <= 0) return { after: () => false };
  // Already on (node --expose-gc, NODE_OPTIONS): a fresh context has gc, and the flag stays as it was.
  const on = runInNewContext('typeof gc') === 'function';
  if (!on) setFlagsFromString('--expose-gc');
  let gc: () => void;
  try {
    gc = runInNewContext('gc') as () => void;
  } finally {
    if (!on) setFlagsFromString('--no-expose-gc');
  }
  let baseline = arrayBuffers();
  return {
    after: () => {
      if (!shouldCollect(arrayBuffers(), baseline, collectMb)) return false;
      gc();
      baseline = arrayBuffers();
      return true;
    },
  };
}
