/**
 * Cost-model accuracy (T = O + P×H) on dags/superwebanalytics.yaml, through the real CLI
 * (bench/pipeline.ts's data and runner: N = DAGCTL_BENCH_ROWS pageviews, default 500,000, 8 days,
 * --concurrency 1; the CLI of DAGCTL_BENCH_DIST, default dist) in one fresh state folder:
 *   1. the first run's predictions with the operators' defaults (`dagctl plan --json` before any
 *      history): the peer;
 *   2. `dagctl calibrate --rows C` (C = DAGCTL_BENCH_CALIBRATE_ROWS, default 100,000), timed;
 *   3. run 1 (--force): predicted (from calibration) vs actual per task;
 *   4. runs 2, 3, 4 (--force): each predicted from the history of the runs before it; run 4's
 *      figure is "after three runs".
 * Figures: per task the ratio max(pred/actual, actual/pred) of Σ instance ms (goal: first run
 * ≤ 2× for every task) and |pred − actual| / actual (goal: median over tasks ≤ 25% after three
 * runs), each on wall time (Σ durationMs of the task's instances) and on CPU time (Σ predictedCpuMs
 * vs Σ the worker thread's cpuMs; tasks whose prediction has no CPU part are left out of the CPU
 * figures). The CPU figures do not depend on the load; the wall ones do, so each run reports the
 * 1-minute load average before and after it and the contention it met, Σ(cpu + wait) / Σ cpu over
 * its instances (what the plan-time probe tried to foresee).
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { preparePipelineData, runPipelineCli, type PipelineData } from './pipeline.js';
import { dagctlCommand } from './lib/dagctl-command.js';
import { median, type BenchResult } from './types.js';

interface Inst { name: string; stage: string; durationMs: number | null; predictedMs?: number; predictedCpuMs?: number; cpuMs?: number; cpuWaitMs?: number; contention?: number }

export interface TaskTimes {
  predicted: number;
  actual: number;
  /** Σ predicted and actual CPU over the instances that have both; cpuComplete when every instance had both. */
  predictedCpu: number;
  actualCpu: number;
  cpuComplete: boolean;
  wait: number;
}

/**
 * Per task: Σ predicted and actual wall time of its instances, and Σ predicted and actual CPU time
 * and run-queue wait of its work instances (a publish instance's prediction is a constant with no
 * CPU part).
 */
export function perTask(tasks: readonly Inst[]): Map<string, TaskTimes> {
  const out = new Map<string, TaskTimes>();
  for (const t of tasks) {
    const v = out.get(t.name) ?? { predicted: 0, actual: 0, predictedCpu: 0, actualCpu: 0, cpuComplete: true, wait: 0 };
    v.predicted += t.predictedMs ?? 0;
    v.actual += t.durationMs ?? 0;
    if (t.stage !== 'publish') {
      if (t.predictedCpuMs !== undefined && t.cpuMs !== undefined) {
        v.predictedCpu += t.predictedCpuMs;
        v.actualCpu += t.cpuMs;
      } else if (t.durationMs !== null && t.durationMs > 0) v.cpuComplete = false;
      v.wait += t.cpuWaitMs ?? 0;
    }
    out.set(t.name, v);
  }
  return out;
}

/** Worst factor max(p/a, a/p) and median |p − a| / a over the pairs (a > 0). */
export function accuracy(pairs: readonly { p: number; a: number }[]): { worst: number; median: number; n: number } {
  const ok = pairs.filter((x) => x.a > 0);
  return { worst: Math.max(0, ...ok.map((x) => factor(x.p, x.a))), median: median(ok.map((x) => Math.abs(x.p - x.a) / x.a)), n: ok.length };
}

async function cli(pd: PipelineData, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const c = dagctlCommand(DIST, args);
    const child = spawn(c.cmd, c.args, { cwd: pd.dir, env: { ...process.env, ...c.env, DAGCTL_HOME: join(pd.dir, '.dagctl'), CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`dagctl ${args.join(' ')} exited ${String(code)}: ${err.slice(-1500)}`))));
  });
}

/** The build whose CLI is measured (DAGCTL_BENCH_DIST, default dist): a snapshot, or another commit's build as a peer. */
const DIST = process.env.DAGCTL_BENCH_DIST ?? 'dist';
const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const load1 = (): number => loadavg()[0] ?? 0;
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
    const loadCal = load1();
    await cli(pd, ['calibrate', '--rows', String(C), '--json']);
    const calibrateS = (performance.now() - t0) / 1000;
    metrics['calibrate.seconds'] = calibrateS;
    lines.push(`  dagctl calibrate --rows ${C.toLocaleString('en-US')}: ${calibrateS.toFixed(1)} s wall, load ${loadCal.toFixed(1)} → ${load1().toFixed(1)}`);
    for (let run = 1; run <= 4; run++) {
      const loadBefore = load1();
      const r = await runPipelineCli(pd, 8, ['--force'], 1, DIST);
      const loadAfter = load1();
      if (r.code !== 0) throw new Error(`run ${run} exited ${String(r.code)}: ${r.stderr.slice(-1500)}`);
      const tasks = perTask(r.tasks);
      const wall = accuracy([...tasks.values()].map((v) => ({ p: v.predicted, a: v.actual })));
      const withCpu = [...tasks.values()].filter((v) => v.cpuComplete && v.actualCpu > 0 && v.predictedCpu > 0);
      const cpu = accuracy(withCpu.map((v) => ({ p: v.predictedCpu, a: v.actualCpu })));
      const sumCpu = [...tasks.values()].reduce((s, v) => s + v.actualCpu, 0);
      const sumWait = [...tasks.values()].reduce((s, v) => s + v.wait, 0);
      const k = sumCpu > 0 ? (sumCpu + sumWait) / sumCpu : NaN;
      const planned = (r.tasks as readonly Inst[]).find((t) => t.contention !== undefined)?.contention;
      if (planned !== undefined) metrics[`run${run}.contention.planned`] = planned;
      const cells: string[] = [];
      let worstDefault = 0;
      for (const [name, v] of tasks) {
        const d = defaults.get(name);
        if (run === 1 && d !== undefined) worstDefault = Math.max(worstDefault, factor(d, v.actual));
        const cpuCell = v.cpuComplete && v.predictedCpu > 0 ? `, CPU ${(v.predictedCpu / 1000).toFixed(1)}/${(v.actualCpu / 1000).toFixed(1)} s` : '';
        cells.push(`${name} ${(v.predicted / 1000).toFixed(1)}/${(v.actual / 1000).toFixed(1)} s${cpuCell}${run === 1 && d !== undefined ? ` (defaults ${(d / 1000).toFixed(1)} s)` : ''}`);
      }
      metrics[`run${run}.median_rel_error`] = wall.median;
      metrics[`run${run}.worst_factor`] = wall.worst;
      metrics[`run${run}.cpu.median_rel_error`] = cpu.median;
      metrics[`run${run}.cpu.worst_factor`] = cpu.worst;
      metrics[`run${run}.cpu.tasks`] = cpu.n;
      metrics[`run${run}.contention`] = k;
      metrics[`run${run}.load1.before`] = loadBefore;
      metrics[`run${run}.load1.after`] = loadAfter;
      const cpuText = cpu.n === 0 ? 'CPU: no task had CPU predictions' : `CPU (${cpu.n} tasks): worst ${cpu.worst.toFixed(2)}×, median ${pct(cpu.median)}`;
      const loadText = `load ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}, contention planned ${planned === undefined ? '-' : planned.toFixed(2)} / met ${k.toFixed(2)}`;
      if (run === 1) {
        metrics['run1.worst_factor_defaults'] = worstDefault;
        lines.push(`  run 1 (from calibration): wall: worst task off by ${wall.worst.toFixed(2)}× (goal ≤ 2×; the operators' defaults: ${worstDefault.toFixed(2)}×), median |pred − actual|/actual ${pct(wall.median)}; ${cpuText}; ${loadText}`);
      } else {
        lines.push(`  run ${run} (history of ${run - 1} run${run > 2 ? 's' : ''}): wall: median |pred − actual|/actual ${pct(wall.median)}${run === 4 ? ' (goal ≤ 25% after three runs)' : ''}, worst task ${wall.worst.toFixed(2)}×; ${cpuText}; ${loadText}`);
      }
      lines.push(`    predicted/actual Σ instance time: ${cells.join(', ')}`);
    }
  } finally {
    await rm(pd.dir, { recursive: true, force: true });
  }
  return { name: 'costmodel', lines, metrics };
}
