/**
 * `dagctl plan FILE [--param k=v]... [--workers N] [--deadline 2h] [--max-workers M] [--json]` —
 * validates the DAG, expands it into task instances with the T = O + P×H cost model (fitted to run
 * history where there is enough), and prints per-task costs, the critical path, total work, the
 * predicted makespan on N workers and, with --deadline, the fewest workers that meet it.
 *
 * Exit 0 on a plan; 2 on an invalid DAG or bad options; 1 when the deadline cannot be met by any
 * worker count up to --max-workers (the work would fail its deadline).
 */
import path from 'node:path';
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { operatorLookup } from '../../operators/registry.js';
import { createCostModel } from '../../scheduler/plan/cost.js';
import { loadPlanningContext } from '../../scheduler/plan/context.js';
import { expandDag } from '../../scheduler/plan/expand.js';
import { buildPlanReport, DEFAULT_MAX_WORKERS, DEFAULT_PLAN_WORKERS } from '../../scheduler/plan/plan.js';
import { formatPlanReport } from '../../scheduler/plan/plan-format.js';
import { formatIssue, issueJson } from '../../definitions/format-issues.js';
import { loadDag } from '../../definitions/load.js';
import { parseParamArgs } from '../../definitions/params.js';
import { flag, str, strs, writeJson } from '../command.js';
import type { CommandDef, ParsedArgs } from '../command.js';
import { dagLoadOptions } from '../shared.js';

function positiveInt(args: ParsedArgs, name: string, fallback: number): number {
  const text = str(args, name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new DagctlError('USAGE', `--${name} must be a positive integer, got "${text}"`);
  return v;
}

export const planCommand: CommandDef = {
  name: 'plan',
  summary: 'Plan a DAG with the T = O + P×H cost model',
  usage: 'dagctl plan FILE [--param k=v]... [--workers N] [--deadline 2h] [--max-workers M] [--max-dag-bytes N] [--json]',
  options: {
    param: { type: 'string', multiple: true },
    workers: { type: 'string' },
    deadline: { type: 'string' },
    'max-workers': { type: 'string' },
    home: { type: 'string' },
    json: { type: 'boolean' },
    'max-dag-bytes': { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const file = args.positionals[0];
    if (file === undefined || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one DAG file\n${this.usage}`);
    const workers = positiveInt(args, 'workers', DEFAULT_PLAN_WORKERS);
    const maxWorkers = positiveInt(args, 'max-workers', Math.max(workers, DEFAULT_MAX_WORKERS));
    const deadlineText = str(args, 'deadline');
    const deadlineMs = deadlineText === undefined ? undefined : parseDuration(deadlineText);
    if (deadlineMs === null || (deadlineMs !== undefined && deadlineMs <= 0)) throw new DagctlError('USAGE', `--deadline: "${deadlineText}" is not a positive duration`);
    const json = flag(args, 'json');

    const loaded = await loadDag(path.resolve(io.cwd, file), { paramOverrides: parseParamArgs(strs(args, 'param')), ...dagLoadOptions(io, str(args, 'max-dag-bytes')) });
    const issues = loaded.issues.map((i) => ({ ...i, file }));
    if (loaded.dag === undefined) {
      if (json) writeJson(io, { valid: false, issues: issues.map(issueJson) });
      else io.stderr.write(issues.map(formatIssue).join('\n') + '\n');
      return 2;
    }
    const dag = loaded.dag;
    // A what-if estimate may plan before the data lands: empty inputs are a warning here, not INPUT_EMPTY.
    const ctx = await loadPlanningContext(dag, str(args, 'home'), undefined, { requireInputs: false });
    for (const e of ctx.emptyInputs ?? []) io.stderr.write(`warning: INPUT_EMPTY: ${e.message}\n`);
    for (const u of ctx.uncommitted ?? []) io.stderr.write(`warning: UNCOMMITTED_FILES: ${u.message}\n`);
    const cost = createCostModel(ctx.history, { operators: operatorLookup(loaded.dag), ...(ctx.contention === undefined ? {} : { contention: ctx.contention, probed: ctx.contentionProbed === true }) });
    const instances = expandDag(dag, ctx.sources, cost);
    const report = buildPlanReport(instances, { workers, deadlineMs, maxWorkers, cost, dag: loaded.dag.name });
    if (json) writeJson(io, { dag: dag.name, sourceHash: dag.sourceHash, report: roundedMs(report) });
    else io.stdout.write(formatPlanReport(report, dag.name).join('\n') + '\n');
    return report.deadline !== undefined && !report.deadline.search.feasible ? 1 : 0;
  },
};

/** Milliseconds (keys ending in Ms) to 0.1 ms: the model's arithmetic leaves long fractions no one can use. */
function roundedMs<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v: unknown) => (typeof v === 'number' && k.endsWith('Ms') ? Math.round(v * 10) / 10 : v))) as T;
}
