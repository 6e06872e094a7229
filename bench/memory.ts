/**
 * Memory benchmark: the whole SuperWebAnalytics pipeline (bench/pipeline.ts) run by the CLI as a
 * child process with `--concurrency 1` and buckets 32 on DAGCTL_BENCH_MEM_ROWS pageviews (default
 * 10,000,000), recording the child's peak RSS. With one worker thread only one instance runs at a
 * time, so the process peak bounds every instance's. Goal: < 512 MB.
 *
 * The child reports `process.resourceUsage().maxRSS` (and its CPU time, for bench/peers) on exit: this module is loaded into it with
 * `--import` (an argument to node, or NODE_OPTIONS through the launcher bin/dagctl) and
 * DAGCTL_RSS_PROBE=1 (the side effect below; the main thread only); the parent also polls
 * /proc/<pid>/status VmHWM and keeps the larger of the two.
 */
import { rm } from 'node:fs/promises';
import { isMainThread } from 'node:worker_threads';
import type { BenchResult } from './types.js';
import { preparePipelineData, runPipelineCli } from './pipeline.js';

if (process.env.DAGCTL_RSS_PROBE === '1' && isMainThread) {
  process.on('exit', () => {
    const ru = process.resourceUsage();
    process.stderr.write(`DAGCTL_MAXRSS_KB=${ru.maxRSS}\nDAGCTL_CPU_MS=${Math.round((ru.userCPUTime + ru.systemCPUTime) / 1000)}\n`);
  });
}

export async function benchMemory(): Promise<BenchResult> {
  const N = Number(process.env.DAGCTL_BENCH_MEM_ROWS ?? 10_000_000);
  const B = 32;
  const g0 = performance.now();
  const pd = await preparePipelineData(N);
  const genS = (performance.now() - g0) / 1000;
  try {
    const run = await runPipelineCli(pd, B);
    if (run.code !== 0) throw new Error(`dagctl run exited ${String(run.code)}: ${run.stderr.slice(-2000)}`);
    const mb = run.peakRssKb / 1024;
    return {
      name: 'memory',
      lines: [
        `memory: superwebanalytics on ${N.toLocaleString('en-US')} pageviews (+${pd.equivRows.toLocaleString('en-US')} equivs), buckets ${B}, --concurrency 1 (data generated in ${genS.toFixed(0)} s)`,
        `  peak RSS of the dagctl process ${mb.toFixed(0)} MB (goal < 512 MB), run wall ${(run.wallMs / 1000).toFixed(1)} s`,
      ],
      metrics: { peak_rss_mb: mb, rows: N, wall_ms: run.wallMs },
    };
  } finally {
    if (process.env.DAGCTL_BENCH_KEEP === undefined) await rm(pd.dir, { recursive: true, force: true });
  }
}
