/**
 * `dagctl validate FILE... [--json] [--param k=v]...` — validates DAG files: structure (zod), then
 * the semantic rules, reporting every issue of every file.
 *
 * Output: one line per issue, `file:line:col: error CODE path: message`, and `file: valid` for a
 * file without errors; `--json` prints { valid, issues } (valid is the AND over the files, issues
 * are concatenated). Across the files, a dataset URI produced by two DAGs is
 * DATASET_PRODUCED_BY_TWO_DAGS. Exit 0 when every file is valid (warnings allowed), 2 otherwise.
 */
import { DagctlError } from '../../core/errors.js';
import { formatIssue, issueJson } from '../../definitions/format-issues.js';
import { hasErrors } from '../../definitions/issues.js';
import type { ValidationIssue } from '../../definitions/issues.js';
import { loadDag } from '../../definitions/load.js';
import { crossDagProducers } from '../../definitions/rules/cross-dag.js';
import type { DagSpec } from '../../definitions/types.js';
import { parseParamArgs } from '../../definitions/params.js';
import { flag, str, strs, writeJson } from '../command.js';
import { dagLoadOptions } from '../dag-load-options.js';
import type { CommandDef } from '../command.js';
import path from 'node:path';

export const validateCommand: CommandDef = {
  name: 'validate',
  summary: 'Validate DAG files (schema, then semantic rules)',
  usage: 'dagctl validate FILE... [--json] [--param k=v]... [--max-dag-bytes N]\n  Exit 0 when every file is valid, 2 otherwise. Files over N bytes (default 8 MiB, or DAGCTL_MAX_DAG_BYTES) are FILE_TOO_LARGE.',
  options: {
    json: { type: 'boolean' },
    'max-dag-bytes': { type: 'string' },
    param: { type: 'string', multiple: true },
  },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length === 0) throw new DagctlError('USAGE', `no DAG file given\n${this.usage}`);
    const paramOverrides = parseParamArgs(strs(args, 'param'));
    const limits = dagLoadOptions(io, str(args, 'max-dag-bytes'));
    const all: ValidationIssue[] = [];
    let valid = true;
    const lines: string[] = [];
    const dags: { file: string; dag: DagSpec }[] = [];
    for (const file of args.positionals) {
      // Paths are relative to the caller's cwd (io.cwd), but issues keep the name as typed.
      const r = await loadDag(path.resolve(io.cwd, file), { paramOverrides, ...limits });
      const issues = r.issues.map((i) => ({ ...i, file }));
      if (r.dag !== undefined) dags.push({ file, dag: r.dag });
      all.push(...issues);
      const ok = !hasErrors(issues);
      valid &&= ok;
      for (const i of issues) lines.push(formatIssue(i));
      if (ok) lines.push(`${file}: valid${r.dag !== undefined ? ` (${r.dag.tasks.length} tasks, ${Object.keys(r.dag.datasets).length} datasets)` : ''}`);
    }
    // Across the files: one dataset written by two DAGs.
    const cross = crossDagProducers(dags);
    all.push(...cross);
    for (const i of cross) lines.push(formatIssue(i));
    valid &&= !hasErrors(cross);
    if (flag(args, 'json')) writeJson(io, { valid, issues: all.map(issueJson) });
    else io.stdout.write(lines.join('\n') + '\n');
    return valid ? 0 : 2;
  },
};
