/**
 * Cost-model accuracy (T = O + P×H) on dags/superwebanalytics.yaml, through the real CLI
 * (bench/pipeline.ts's data and runner: N = DAGCTL_BENCH_ROWS pageviews, default 500,000, 8 days,
 * --concurrency 1) in one fresh state folder:
 *   1. the first run's predictions with the operators' defaults (`dagctl plan --json` before any
 *      history): the peer;
 *   2. `dagctl calibrate --rows C` (C = DAGCTL_BENCH_CALIBRATE_ROWS, default 100,000), timed;
 *   3. run 1 (--force): predicted (from calibration) vs actual per task;
 *   4. runs 2, 3, 4 (--force): each predicted from the history of the runs before it; run 4's
 *      figure is "after three runs".
 * Figures: per task the ratio max(pred/actual, actual/pred) of Σ instance ms (goal: first run
 * ≤ 2× for every task) and |pred − actual| / actual (goal: median over tasks ≤ 25% after three
 * runs). Actual = Σ durationMs of the task's instances (one core's time each).
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { preparePipelineData, runPipelineCli, type PipelineData } from './pipeline.js';
import { median, type BenchResult } from './types.js';

interface Inst { name: string; stage: string; durationMs: number | null; predictedMs?: number }

function perTask(tasks: readonly Inst[]): Map<string, { predicted: number; actual: number }> {
  const out = new Map<string, { predicted: number; actual: number }>();
  for (const t of tasks) {
    const v = out.get(t.name) ?? { predicted: 0, actual: 0 };
    v.predicted += t.predictedMs ?? 0;
    v.actual += t.durationMs ?? 0;
    out.set(t.name, v);
  }
  return out;
}

async function cli(pd: PipelineData, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [resolve('dist/cli/bin.js'), ...args], { cwd: pd.dir, env: { ...process.env, DAGCTL_HOME: join(pd.dir, '.dagctl'), CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`dagctl ${args.join(' ')} exited ${String(code)}: ${err.slice(-1500)}`))));
  });
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const factor = (p: number, a: number): number => (p > 0 && a > 0 ? Math.max(p / a, a / p) : Infinity);

export async function benchCostModel(): Promise<BenchResult> {
  const N = Number(process.env.DAGCTL_BENCH_ROWS ?? 500_000);
  const C = Number(process.env.DAGCTL_BENCH_CALIBRATE_ROWS ?? 100_000);
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const pd = await preparePipelineData(N);
  try {
    lines.push(`costmodel: dags/superwebanalytics.yaml, ${N.toLocaleString('en-US')} pageviews, --concurrency 1, fresh state folder`);
    const plan = JSON.parse(await cli(pd, ['plan', resolve('dags/superwebanalytics.yaml'), '--param', `data=${pd.data}`, '--json'])) as { report: { tasks: { task: string; predictedMs: number }[] } };
    const defaults = new Map(plan.report.tasks.map((t) => [t.task, t.predictedMs]));
    const t0 = performance.now();
    await cli(pd, ['calibrate', '--rows', String(C), '--json']);
    const calibrateS = (performance.now() - t0) / 1000;
    metrics['calibrate.seconds'] = calibrateS;
    lines.push(`  dagctl calibrate --rows ${C.toLocaleString('en-US')}: ${calibrateS.toFixed(1)} s wall`);
    for (let run = 1; run <= 4; run++) {
      const r = await runPipelineCli(pd, 8, ['--force']);
      if (r.code !== 0) throw new Error(`run ${run} exited ${String(r.code)}: ${r.stderr.slice(-1500)}`);
      const tasks = perTask(r.tasks);
      const errs: number[] = [];
      const cells: string[] = [];
      let worst = 0, worstDefault = 0;
      for (const [name, v] of tasks) {
        const err = Math.abs(v.predicted - v.actual) / v.actual;
        errs.push(err);
        worst = Math.max(worst, factor(v.predicted, v.actual));
        const d = defaults.get(name);
        if (run === 1 && d !== undefined) worstDefault = Math.max(worstDefault, factor(d, v.actual));
        cells.push(`${name} ${(v.predicted / 1000).toFixed(1)}/${(v.actual / 1000).toFixed(1)} s${run === 1 && d !== undefined ? ` (defaults ${(d / 1000).toFixed(1)} s)` : ''}`);
      }
      const med = median(errs);
      metrics[`run${run}.median_rel_error`] = med;
      metrics[`run${run}.worst_factor`] = worst;
      if (run === 1) {
        metrics['run1.worst_factor_defaults'] = worstDefault;
        lines.push(`  run 1 (from calibration): worst task off by ${worst.toFixed(2)}× (goal ≤ 2×; the operators' defaults: ${worstDefault.toFixed(2)}×), median |pred − actual|/actual ${pct(med)}`);
      } else {
        lines.push(`  run ${run} (history of ${run - 1} run${run > 2 ? 's' : ''}): median |pred − actual|/actual ${pct(med)}${run === 4 ? ' (goal ≤ 25% after three runs)' : ''}, worst task ${worst.toFixed(2)}×`);
      }
      lines.push(`    predicted/actual Σ instance time: ${cells.join(', ')}`);
    }
  } finally {
    await rm(pd.dir, { recursive: true, force: true });
  }
  return { name: 'costmodel', lines, metrics };
}
