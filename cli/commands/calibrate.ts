/**
 * `dagctl calibrate [--rows N] [--json]` — measures the built-in operators' cost lines T = O + P×H
 * on this machine and stores them as run history in the state folder ($DAGCTL_HOME), so a DAG's
 * first run is predicted from this machine's speed instead of the operators' generic defaults.
 *
 * How: generates pageviews, equivs and ages (gen/generate.ts, fixed seed) at two sizes (N/5 and
 * N rows, default N = 100,000) in a temporary folder, runs the shipped dags/superwebanalytics.yaml
 * (normalize, dedupe, equiv-components, rollup) and dags/birthday-inference.yaml
 * (partial-recompute) on each with `dagctl run --concurrency 1` (one worker thread: one core's
 * time per instance) in a temporary state folder, and appends the cost samples those runs
 * recorded to this state folder's history, their task renamed `calibrate:<dag>/<task>` so they
 * inform the per-operator fits (scheduler/plan/cost.ts levels 2–3) but never stand in for a
 * user task's own history. Two sizes let the fit tell O from P. The samples carry each instance's
 * worker-thread CPU time and run-queue wait, so what it stores does not depend on the load during
 * calibration: the lines it prints are the uncontended time U (wall − wait) and the CPU time C, and
 * a plan predicts U + (k − 1)·C for the contention k it measures then (scheduler/plan/cost.ts).
 * Re-running adds fresh samples;
 * the model fits the most recent ones. Operators the shipped DAGs do not use keep their defaults
 * (listed in the output).
 *
 * Exit 0 on success; 1 when a calibration run fails (CALIBRATION_FAILED names the DAG and size);
 * 2 on bad input. The temporary folder is removed either way.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DagctlError } from '../../core/errors.js';
import { generate } from '../../gen/generate.js';
import { operatorNames } from '../../operators/registry.js';
import type { CostSample } from '../../scheduler/model.js';
import { dagctlHome } from '../../scheduler/plan/context.js';
import { createCostModel } from '../../scheduler/plan/cost.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { openObjectStore } from '../../storage/open.js';
import { flag, str, writeJson, type CommandDef } from '../command.js';

const USAGE = 'dagctl calibrate [--rows N] [--json]';
const DAGS = fileURLToPath(new URL('../../../dags/', import.meta.url));
const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

export interface CalibrationLine {
  operator: string;
  stage: string;
  samples: number;
  overheadMs: number;
  perUnitMs: number;
  relativeError: number;
  /** The CPU line, when the samples had CPU times. */
  cpuOverheadMs?: number;
  cpuPerUnitMs?: number;
}

/** Runs one shipped DAG with the CLI in a child process; CALIBRATION_FAILED when it fails. */
async function runDag(dag: string, params: Record<string, string>, home: string, cwd: string, signal: AbortSignal): Promise<void> {
  const args = [BIN, 'run', join(DAGS, dag), ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]), '--concurrency', '1', '--json'];
  const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, DAGCTL_HOME: home, CI: '1' }, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', () => undefined);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  if (res.code !== 0) throw new DagctlError('CALIBRATION_FAILED', `calibration run of dags/${dag} (${JSON.stringify(params)}) exited ${String(res.code)}: ${res.stderr.trim().slice(-1500)}`, { dag, params });
}

export async function calibrate(rows: number, home: string, signal: AbortSignal, log: (line: string) => void): Promise<{ samples: CostSample[]; lines: CalibrationLine[]; uncalibrated: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-calibrate-'));
  try {
    const runHome = join(dir, 'state');
    for (const [i, n] of [Math.max(1000, Math.floor(rows / 5)), rows].entries()) {
      const data = join(dir, `data${i}`);
      const persons = Math.max(100, Math.floor(n / 10));
      const gen = async (kind: 'pageviews' | 'equivs' | 'ages', folder: string, count: number, start: string, days: number): Promise<void> => {
        await generate(kind, { store: await openObjectStore(pathToFileURL(join(data, folder)).href), rows: count, seed: 7, start, days, persons, signal });
      };
      log(`calibrate: generating ${n.toLocaleString('en-US')} rows`);
      await gen('pageviews', 'master/pageviews', n, '2024-03-01', 4);
      await gen('equivs', 'master/equivs', Math.floor(n / 5), '2024-03-01', 4);
      await gen('ages', 'master/ages', n, '2024-01-01', 4);
      await gen('ages', 'incoming/ages', Math.max(10, Math.floor(n / 100)), '2024-02-01', 1);
      log(`calibrate: running superwebanalytics on ${n.toLocaleString('en-US')} pageviews`);
      await runDag('superwebanalytics.yaml', { data }, runHome, dir, signal);
      log(`calibrate: running birthday-inference on ${n.toLocaleString('en-US')} ages`);
      await runDag('birthday-inference.yaml', { data, batch: join(data, 'incoming/ages') }, runHome, dir, signal);
    }
    const samples = (await new LocalRunStore(runHome).history({ limit: 100_000 })).map((s) => ({ ...s, task: `calibrate:${s.task ?? s.operator}` }));
    await new LocalRunStore(home).appendSamples(samples);
    // What the model now fits per (operator, stage) from these samples alone.
    const model = createCostModel(samples, { contention: 1 });
    const seen = new Map<string, { operator: string; stage: string }>();
    for (const s of samples) seen.set(`${s.operator}\u0000${s.stage}`, { operator: s.operator, stage: s.stage });
    const lines: CalibrationLine[] = [];
    for (const { operator, stage } of [...seen.values()].sort((a, b) => a.operator.localeCompare(b.operator) || a.stage.localeCompare(b.stage))) {
      const zero = model.estimate(operator, stage, 0, 0);
      const one = model.estimate(operator, stage, 1024 * 1024, 1000);
      const line: CalibrationLine = { operator, stage, samples: zero.samples, overheadMs: zero.overheadMs, perUnitMs: one.predictedMs - zero.predictedMs, relativeError: zero.relativeError ?? 0 };
      if (zero.cpuMs !== undefined && one.cpuMs !== undefined) {
        line.cpuOverheadMs = zero.cpuMs;
        line.cpuPerUnitMs = one.cpuMs - zero.cpuMs;
      }
      lines.push(line);
    }
    const calibrated = new Set(samples.map((s) => s.operator));
    const uncalibrated = operatorNames().filter((n) => !calibrated.has(n)).sort();
    return { samples, lines, uncalibrated };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const calibrateCommand: CommandDef = {
  name: 'calibrate',
  summary: "Measure the built-in operators' cost (O, P) on this machine into the state folder",
  usage: `${USAGE}\n  Runs the shipped DAGs on generated data at N/5 and N rows (default 100,000) and stores the\n  cost samples in $DAGCTL_HOME's run history; plans then predict first runs from them.`,
  options: { rows: { type: 'string' }, json: { type: 'boolean' } },
  allowPositionals: false,
  async run(args, io) {
    const text = str(args, 'rows') ?? '100000';
    const rows = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(rows) || rows < 5000) throw new DagctlError('USAGE', `--rows must be an integer ≥ 5000, got "${text}"\n${USAGE}`);
    const json = flag(args, 'json');
    const home = dagctlHome(io.env, io.cwd);
    const t0 = performance.now();
    const r = await calibrate(rows, home, io.interrupted, (l) => { if (!json) io.stderr.write(`${l}\n`); });
    const seconds = (performance.now() - t0) / 1000;
    if (json) {
      writeJson(io, { home, rows, seconds, samples: r.samples.length, stages: r.lines, uncalibrated: r.uncalibrated });
      return 0;
    }
    io.stdout.write(`calibrated in ${seconds.toFixed(1)} s: ${r.samples.length} samples stored in ${home}\n`);
    io.stdout.write('O and P of the uncontended time (wall − run-queue wait), and of the CPU time where measured:\n');
    io.stdout.write(`${'operator'.padEnd(20)} ${'stage'.padEnd(12)} ${'samples'.padStart(7)} ${'O (ms)'.padStart(9)} ${'P (ms/unit)'.padStart(12)} ${'fit err'.padStart(8)} ${'CPU O'.padStart(9)} ${'CPU P'.padStart(9)}\n`);
    for (const l of r.lines) {
      io.stdout.write(`${l.operator.padEnd(20)} ${l.stage.padEnd(12)} ${String(l.samples).padStart(7)} ${l.overheadMs.toFixed(1).padStart(9)} ${l.perUnitMs.toFixed(3).padStart(12)} ${`${(100 * l.relativeError).toFixed(0)}%`.padStart(8)} ${(l.cpuOverheadMs?.toFixed(1) ?? '-').padStart(9)} ${(l.cpuPerUnitMs?.toFixed(3) ?? '-').padStart(9)}\n`);
    }
    if (r.uncalibrated.length > 0) io.stdout.write(`defaults kept (not used by the shipped DAGs): ${r.uncalibrated.join(', ')}\n`);
    return 0;
  },
};
