/**
 * Start-up: wall time of `node dist/cli/bin.js status`, `validate` (one-task DAG) and a one-task
 * `run` (embedded, durable state), spawned N times each, interleaved, median per command. Peer:
 * `node -e 0` spawned the same way (the floor of any Node CLI). Goals: status and validate
 * < 300 ms, a one-task run < 600 ms; on a loaded machine read the margin over the floor.
 * CPU time of each process is printed too: less noisy than wall time on a shared machine.
 * Set STARTUP_RUNS to change N (default 10).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './types.js';
import type { BenchResult } from './types.js';

const BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));
const ONE_TASK = 'apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: one\ntasks:\n  - name: only\n    operator: noop\n';

/** CPU ms of waited-for children (Linux /proc/self/stat cutime + cstime); NaN elsewhere. */
function childCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return NaN;
  }
}

function timeSpawn(args: string[], cwd: string, cpu?: number[]): number {
  const c0 = childCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, env: { ...process.env, DAGCTL_HOME: join(cwd, '.dagctl') }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  cpu?.push(childCpuMs() - c0);
  return ms;
}

export async function benchStartup(): Promise<BenchResult> {
  const runs = Number(process.env.STARTUP_RUNS ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'dagctl-startup-'));
  try {
    writeFileSync(join(dir, 'one.yaml'), ONE_TASK);
    const cases: Array<[string, string[], number]> = [
      ['node -e 0 (floor)', ['-e', '0'], 0],
      ['dagctl --version', [BIN, '--version'], 0],
      ['dagctl validate one.yaml', [BIN, 'validate', 'one.yaml'], 300],
      ['dagctl run one.yaml (1 task)', [BIN, 'run', 'one.yaml'], 600],
      ['dagctl status', [BIN, 'status'], 300],
    ];
    const times = cases.map(() => [] as number[]);
    const cpus = cases.map(() => [] as number[]);
    timeSpawn([BIN, 'run', 'one.yaml'], dir); // warm the file cache; status has a run to show
    for (let i = 0; i < runs; i++) cases.forEach(([, args], j) => times[j]?.push(timeSpawn(args, dir, cpus[j])));
    const floor = median(times[0] ?? []);
    const lines = [`start-up, median of ${runs} spawns (wall ms; goal; over the node floor; CPU ms of the process, 10 ms ticks):`];
    const metrics: Record<string, number> = {};
    cases.forEach(([name, , goal], j) => {
      const m = median(times[j] ?? []);
      const cpu = median(cpus[j] ?? []);
      metrics[name] = m;
      metrics[`${name} cpu`] = cpu;
      lines.push(`  ${name.padEnd(30)} ${m.toFixed(0).padStart(6)} ms${goal > 0 ? `  (goal < ${goal} ms: ${m < goal ? 'met' : 'missed'})` : ''}  ${(m / floor).toFixed(1)}× floor, +${(m - floor).toFixed(0)} ms, cpu ${cpu.toFixed(0)} ms`);
    });
    return { name: 'startup', lines, metrics };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
