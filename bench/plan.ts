/**
 * Planning speed: validate + expand + plan report (critical path, makespan on 16 workers, a
 * deadline search) for three DAGs of about 10,000 task instances each, median of 5 runs:
 *   wide   start → one noop task with 9,998 buckets → end;
 *   deep   a chain of 10,000 noop tasks (dependsOn);
 *   mixed  a root, 50 tasks × 100 buckets and 5 chains of 999 tasks, all joined by a sink.
 * deep and mixed have 10,000 tasks, so they also run as JSON (the fast path for generated DAGs):
 * as YAML, the yaml library's parse alone is about a second on such files.
 * Peer: parsing the same text alone (yaml.parse / JSON.parse), the floor any validator pays.
 * Goal: < 1 s.
 */
import { parse, stringify } from 'yaml';
import { createCostModel } from '../scheduler/plan/cost.js';
import { expandDag } from '../scheduler/plan/expand.js';
import { buildPlanReport } from '../scheduler/plan/plan.js';
import { validateDagText } from '../definitions/validate.js';
import { median } from './types.js';
import type { BenchResult } from './types.js';

const RUNS = 5;

interface TaskDoc {
  name: string;
  operator: 'noop';
  dependsOn: string[];
  params?: { buckets: number };
}

function task(name: string, dependsOn: string[], buckets?: number): TaskDoc {
  return buckets === undefined ? { name, operator: 'noop', dependsOn } : { name, operator: 'noop', dependsOn, params: { buckets } };
}

function dagDoc(tasks: TaskDoc[]): Record<string, unknown> {
  return { apiVersion: 'dagctl/v1', kind: 'Dag', metadata: { name: 'bench' }, tasks };
}

/** start → one noop task with 9,998 buckets → end: 10,000 instances from 3 tasks. */
export function wideDag(): Record<string, unknown> {
  return dagDoc([task('start', []), task('fan', ['start'], 9998), task('end', ['fan'])]);
}

/** A chain of n noop tasks. */
export function deepDag(n = 10_000): Record<string, unknown> {
  return dagDoc(Array.from({ length: n }, (_, i) => task(`t${i}`, i === 0 ? [] : [`t${i - 1}`])));
}

/** A root, 50 tasks × 100 buckets and 5 chains of 999 tasks, joined by a sink: 9,997 instances. */
export function mixedDag(): Record<string, unknown> {
  const tasks = [task('root', [])];
  const ends: string[] = [];
  for (let f = 0; f < 50; f++) {
    tasks.push(task(`fan${f}`, ['root'], 100));
    ends.push(`fan${f}`);
  }
  for (let c = 0; c < 5; c++) {
    for (let i = 0; i < 999; i++) tasks.push(task(`c${c}-${i}`, [i === 0 ? 'root' : `c${c}-${i - 1}`]));
    ends.push(`c${c}-998`);
  }
  tasks.push(task('sink', ends));
  return dagDoc(tasks);
}

interface Timing {
  validateMs: number;
  expandMs: number;
  reportMs: number;
  totalMs: number;
  instances: number;
  makespanMs: number;
}

function planOnce(text: string): Timing {
  const t0 = performance.now();
  const { dag, issues } = validateDagText(text, '/bench/dag.yaml');
  if (dag === undefined) throw new Error(`bench DAG invalid: ${issues[0]?.code} ${issues[0]?.message}`);
  const t1 = performance.now();
  const instances = expandDag(dag, {}, createCostModel([]));
  const t2 = performance.now();
  const report = buildPlanReport(instances, { workers: 16, deadlineMs: 3_600_000 });
  const t3 = performance.now();
  return { validateMs: t1 - t0, expandMs: t2 - t1, reportMs: t3 - t2, totalMs: t3 - t0, instances: instances.length, makespanMs: report.makespan.makespanMs };
}

export async function benchPlan(): Promise<BenchResult> {
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const cases: [string, string][] = [
    ['wide.yaml', stringify(wideDag())],
    ['deep.yaml', stringify(deepDag())],
    ['deep.json', JSON.stringify(deepDag(), null, 1)],
    ['mixed.yaml', stringify(mixedDag())],
    ['mixed.json', JSON.stringify(mixedDag(), null, 1)],
  ];
  for (const [name, text] of cases) {
    const isJson = name.endsWith('.json');
    planOnce(text); // warm-up (JIT)
    const runs: Timing[] = [];
    const parses: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      runs.push(planOnce(text));
      const p0 = performance.now();
      if (isJson) JSON.parse(text);
      else parse(text);
      parses.push(performance.now() - p0);
    }
    const m = (k: keyof Timing): number => median(runs.map((r) => r[k]));
    const parseMs = median(parses);
    const instances = runs[0]?.instances ?? 0;
    for (const k of ['validateMs', 'expandMs', 'reportMs', 'totalMs'] as const) metrics[`${name}.${k}`] = m(k);
    metrics[`${name}.instances`] = instances;
    metrics[`${name}.parseMs`] = parseMs;
    lines.push(
      `plan ${name.padEnd(10)} ${String(instances).padStart(6)} instances: total ${m('totalMs').toFixed(0)} ms ` +
        `(validate ${m('validateMs').toFixed(0)}, expand ${m('expandMs').toFixed(0)}, report ${m('reportMs').toFixed(0)}); ` +
        `${isJson ? 'JSON.parse' : 'yaml.parse'} alone ${parseMs.toFixed(0)} ms; goal < 1000 ms ${m('totalMs') < 1000 ? 'met' : 'MISSED'}`,
    );
  }
  return { name: 'plan', lines, metrics };
}
