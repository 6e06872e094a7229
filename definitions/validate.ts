/**
 * validateDagText: the whole validation pipeline over a DAG file's text, pure (no I/O):
 *   0. safe YAML/JSON reading (definitions/yaml-source.ts, definitions/json-source.ts): YAML_SYNTAX, YAML_UNSAFE_TAG,
 *      YAML_FORBIDDEN_KEY — these stop validation, the content is not trusted further;
 *   1. params: the file's params with --param overrides, then ${params.x} interpolation in
 *      datasets and tasks (UNKNOWN_PARAM_OVERRIDE, PARAM_OVERRIDE_INVALID, UNRESOLVED_PARAM);
 *   2. structure (zod, SCHEMA_INVALID) and 3. semantic rules (definitions/rules.ts);
 *   4. with no errors, resolution into a DagSpec.
 * Every issue is collected and returned sorted by position; warnings never block the DagSpec.
 *
 * Precondition: `file` is the name issues should carry; relative dataset URIs resolve against its
 * directory (from the process's cwd) unless `baseDir` says otherwise.
 */
import path from 'node:path';
import { sha256Hex } from '../core/hash.js';
import { getOperator } from '../operators/registry.js';
import { interpolate, paramRefs } from './interpolate.js';
import type { ValidationIssue } from './issues.js';
import { applyParamOverrides } from './params.js';
import { IssueReporter } from './reporter.js';
import { resolveDag } from './resolve.js';
import { runRules } from './rules.js';
import { checkStructure, declaredParams } from './structure.js';
import type { OperatorLookup } from './structure.js';
import type { DagSpec, RunInterval } from './types.js';
import type { AnyOperator } from '../operators/types.js';
import type { ModuleOperatorRef } from '../operators/modules/bundle.js';
import { NAME_PATTERN } from './schema.js';
import { SAMPLE_INTERVAL, runVars } from './run-vars.js';
import { checkTimezone } from '../core/ticks.js';
import { readYamlSource } from './yaml-source.js';
import { readJsonSource } from './json-source.js';

export interface ValidateOptions {
  /** `--param k=v` overrides, values as typed on the command line. */
  paramOverrides?: Readonly<Record<string, string>>;
  /** Directory relative dataset URIs resolve against; default: the DAG file's directory. */
  baseDir?: string;
  /** Operator lookup; default the registry (tests pass stand-ins instead of registering). */
  operators?: OperatorLookup;
  /** The run's interval for ${run.x} (definitions/run-vars.ts); without it the file is checked with a sample. */
  interval?: RunInterval;
  /** A data-triggered run's changed date partitions for ${run.changedPartitions}; without them a sample. */
  changedPartitions?: readonly string[];
  /** Resolves symlinks of local dataset paths for the overlap rule (definitions/load.ts passes the disk's). */
  realpath?: (absPath: string) => string;
  /** The DAG's operator modules as loadDag loaded them (definitions/load.ts); absent: none loaded. */
  modules?: ModuleSet;
}

/** Operator modules a DAG declares, loaded: each name is in `refs` and in `operators` or `failures`. */
export interface ModuleSet {
  refs: Record<string, ModuleOperatorRef>;
  operators: Map<string, AnyOperator>;
  failures: Record<string, { code: 'OPERATOR_MODULE_FAILED' | 'OPERATOR_INVALID'; message: string }>;
}

export interface ValidationResult {
  /** Present when there is no error issue. */
  dag?: DagSpec;
  issues: ValidationIssue[];
}

export function validateDagText(text: string, file: string, opts: ValidateOptions = {}): ValidationResult {
  // JSON (generated DAGs) takes the fast path; everything else, and broken JSON, the YAML one.
  const source = readJsonSource(text) ?? readYamlSource(text);
  const report = new IssueReporter(file, source.locate);
  for (const i of source.issues) report.addAt(i.code, i.pos, i.path, i.message);
  if (source.value === undefined) return { issues: sorted(report.issues) };

  const raw = source.value;
  const params = applyParamOverrides(declaredParams(raw), opts.paramOverrides ?? {}, report);
  const used = new Set<string>();
  let usesRunVars = false;
  const runVarsUsed = new Set<string>();
  const hooks = {
    onUnresolved: (segments: PropertyKey[], ref: string) => report.add('UNRESOLVED_PARAM', segments, `${ref} does not name a param or a run variable`),
    onUsed: (name: string) => used.add(name),
    runVars: runVars(opts.interval ?? SAMPLE_INTERVAL, scheduleTimezone(raw), opts.changedPartitions),
    onRunVar: (name: string) => {
      runVarsUsed.add(name);
      usesRunVars = true;
    },
  };
  let doc = raw;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    doc = { ...r, datasets: interpolate(r.datasets, params, ['datasets'], hooks), tasks: interpolate(r.tasks, params, ['tasks'], hooks) };
    // Absent sections stay absent, so zod applies its defaults / reports them as missing.
    if (!('datasets' in r)) delete (doc as Record<string, unknown>).datasets;
    if (!('tasks' in r)) delete (doc as Record<string, unknown>).tasks;
  }

  const builtins = opts.operators ?? getOperator;
  const declared = moduleNames(raw);
  const modules = opts.modules;
  for (const name of declared) {
    const at = ['operators', name];
    if (!NAME_PATTERN.test(name)) report.add('INVALID_NAME', at, `operator name "${name}" must match ${String(NAME_PATTERN)}`, { onKey: true });
    if (builtins(name) !== undefined) report.add('OPERATOR_NAME_TAKEN', at, `"${name}" is a built-in operator: give the module another name`, { onKey: true });
    const failed = modules?.failures[name];
    if (failed !== undefined) report.add(failed.code, at, failed.message);
    else if (modules?.operators.get(name) === undefined) report.add('OPERATOR_MODULE_FAILED', at, `operator module of "${name}" was not loaded (load DAG files with definitions/load.ts loadDag)`);
  }
  const lookup: OperatorLookup = (name) => (declared.has(name) ? modules?.operators.get(name) : builtins(name));
  const sourceFile = path.resolve(file);
  const dagDir = opts.baseDir ?? path.dirname(sourceFile);
  const ctx = { params, usedParams: used, operators: lookup, moduleNames: declared, dagDir, ...(opts.realpath !== undefined ? { realpath: opts.realpath } : {}) };
  const draft = checkStructure(doc, ctx, report);
  if (usesRunVars) draft.usesRunVars = true;
  draft.runVarsUsed = runVarsUsed;
  runRules(draft, report);
  const issues = sorted(report.issues);
  if (report.errorCount() > 0 || !draft.structureValid) return { issues };
  const resolveCtx: Parameters<typeof resolveDag>[1] = { sourceHash: sha256Hex(text), sourceFile, dagDir, uriParams: uriParamsOf(raw) };
  if (opts.interval !== undefined) resolveCtx.interval = opts.interval;
  const dag = resolveDag(draft, resolveCtx);
  if (modules !== undefined && declared.size > 0) {
    dag.modules = {};
    for (const name of declared) {
      const ref = modules.refs[name];
      const pos = source.locate(['operators', name], { key: true });
      if (ref !== undefined) dag.modules[name] = { ...ref, at: `${file}:${pos.line}` };
    }
  }
  return { dag, issues };
}

/** Per dataset, the params its URI refers to in the file as written. */
function uriParamsOf(raw: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const datasets = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).datasets : undefined;
  if (datasets === null || typeof datasets !== 'object') return out;
  for (const [name, d] of Object.entries(datasets as Record<string, unknown>)) {
    const uri = d !== null && typeof d === 'object' ? (d as Record<string, unknown>).uri : undefined;
    if (typeof uri === 'string') out[name] = paramRefs(uri);
  }
  return out;
}

/** The names under the document's `operators:` (a malformed section is the schema's to report). */
export function moduleNames(raw: unknown): Set<string> {
  const ops = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>).operators : undefined;
  return new Set(ops !== null && typeof ops === 'object' && !Array.isArray(ops) ? Object.keys(ops) : []);
}

/** The time zone ${run.*Date} variables use: the schedule's, when it is a valid one, else UTC. */
function scheduleTimezone(raw: unknown): string {
  if (raw === null || typeof raw !== 'object') return 'UTC';
  const s = (raw as Record<string, unknown>).schedule;
  if (s === null || typeof s !== 'object') return 'UTC';
  const tz = (s as Record<string, unknown>).timezone;
  return typeof tz === 'string' && checkTimezone(tz) === null ? tz : 'UTC';
}

/** Stable sort by position, so output reads top to bottom like the file. */
function sorted(issues: ValidationIssue[]): ValidationIssue[] {
  return issues.map((issue, i) => ({ issue, i })).sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.i - b.i).map((x) => x.issue);
}
