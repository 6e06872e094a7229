/**
 * V8 compiler settings of the thread pool's threads: process-wide V8 flags that the pool sets (with
 * its heap flags, pool.ts startThread) before each of its threads starts. The decision is a pure
 * function of the environment; every flag is always set, on or off, so an earlier pool's setting
 * does not carry over.
 *
 * TurboFan inlining (`DAGCTL_THREAD_INLINING`: 0 off, 1 on; default DEFAULT_THREAD_INLINING = on,
 * V8's own). Each isolate compiles its own hot functions: a 1M pipeline run compiles ~640 functions
 * on the two worker threads and the main thread, ~2 s of V8's platform-thread CPU (a fifth of the
 * process CPU, competing with the worker threads for the two cores). Without inlining that was
 * ~0.55 s less, but the worker threads ran ~0.3 s (~5%) slower (medians of 7 alternated 1M pairs):
 * process CPU −0.3 s (−3%) at 1M, and, not measured, a loss expected where the instances' own work
 * dominates (10M: ~55 s of worker CPU against about the same ~2 s of compiling). So it is an
 * opt-in for small runs (BENCHMARKS.md, "Pipeline: V8 compilation").
 *
 * Maglev is not offered: Node 20's V8 (11.3) is built without it (`process.config.variables.
 * v8_enable_maglev` is 0), so `--maglev` is accepted and does nothing.
 */

/** TurboFan inlining in the pool's threads unless DAGCTL_THREAD_INLINING says otherwise. */
export const DEFAULT_THREAD_INLINING = true;

/** The V8 compiler flags for a pool's threads, from env DAGCTL_THREAD_INLINING (`1`/`0`), else the default (pure). */
export function jitFlags(env: Record<string, string | undefined>): string[] {
  const v = env.DAGCTL_THREAD_INLINING;
  const inlining = v === '1' ? true : v === '0' ? false : DEFAULT_THREAD_INLINING;
  return [inlining ? '--turbo-inlining' : '--no-turbo-inlining'];
}
