/**
 * `dagctl operators` — the registered operators with their stages, cost defaults and params; with
 * `--dag FILE`, also the operator modules that DAG declares (loaded as a run would load them).
 * `dagctl operators init NAME` scaffolds a module and its test (cli/commands/operators-init.ts).
 */
import path from 'node:path';
import { z } from 'zod';
import { DagctlError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { getOperator, operatorNames, operatorOf } from '../../operators/registry.js';
import type { AnyOperator } from '../../operators/types.js';
import { formatIssue } from '../../definitions/format-issues.js';
import { loadDag } from '../../definitions/load.js';
import { flag, str, writeJson, type CommandDef } from '../command.js';
import { initOperator } from './operators-init.js';

export const operatorsCommand: CommandDef = {
  name: 'operators',
  summary: 'List the registered operators',
  usage: 'dagctl operators [NAME]... [--dag FILE] [--json]\ndagctl operators init NAME [--dir DIR]\n\n  --dag FILE  also list the operator modules FILE declares (operators:)\n  init NAME   scaffold DIR/NAME.ts (an operator module) and DIR/NAME.test.mjs (default DIR: ops)',
  options: { json: { type: 'boolean' }, dag: { type: 'string' }, dir: { type: 'string' } },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals[0] === 'init') {
      const files = await initOperator(io, args.positionals[1], str(args, 'dir') ?? 'ops');
      if (flag(args, 'json')) writeJson(io, { files });
      else io.stdout.write(`${files.map((f) => `created ${path.relative(io.cwd, f)}`).join('\n')}\nDeclare it in a DAG file: operators: { ${args.positionals[1]!}: ./${path.relative(io.cwd, files[0]!)} } (the path is relative to the DAG file)\n`);
      return 0;
    }
    const modules = new Map<string, { op: AnyOperator; module: string }>();
    const dagFile = str(args, 'dag');
    if (dagFile !== undefined) {
      const loaded = await loadDag(path.resolve(io.cwd, dagFile));
      if (loaded.dag === undefined) {
        for (const i of loaded.issues) io.stderr.write(formatIssue(i) + '\n');
        throw new DagctlError('DAG_INVALID', `${dagFile} is not valid (dagctl validate ${dagFile})`);
      }
      for (const [name, ref] of Object.entries(loaded.dag.modules ?? {})) modules.set(name, { op: operatorOf(loaded.dag, name), module: ref.module });
    }
    const names = args.positionals.length > 0 ? args.positionals : [...operatorNames(), ...modules.keys()];
    const list = names.map((n) => {
      const op = modules.get(n)?.op ?? getOperator(n);
      if (op === undefined) return { name: n, error: 'unknown operator' };
      let stages: unknown = null;
      try {
        stages = op.stages(op.params.parse({}), { inputs: op.inputs.min });
      } catch {
        stages = 'depends on params';
      }
      let params: unknown = null;
      try {
        params = z.toJSONSchema(op.params, { unrepresentable: 'any' });
      } catch {
        params = null;
      }
      const module = modules.get(n)?.module;
      return { name: op.name, version: op.version, summary: op.summary, cost: op.cost, inputs: op.inputs, outputs: op.outputs, stages, params, ...(module === undefined ? {} : { module }) };
    });
    if (flag(args, 'json')) {
      writeJson(io, list);
      return 0;
    }
    for (const o of list) {
      if ('error' in o) {
        io.stdout.write(`${o.name}: unknown operator${didYouMean(o.name, operatorNames())}\n`);
        continue;
      }
      const unit = o.cost.driver === 'bytes' ? 'MiB' : '1k rows';
      io.stdout.write(`${o.name.padEnd(20)} v${o.version}  O=${o.cost.overheadMs}ms P=${o.cost.perUnitMs}ms/${unit}  ${o.summary}${o.module === undefined ? '' : ` (module ${o.module})`}\n`);
      // Named operators: their params too (the same JSON Schema --json prints).
      if (args.positionals.length > 0) io.stdout.write(paramLines(o.params));
    }
    return 0;
  },
};

/** One line per param of an operator's params JSON Schema: name, type, default, required. */
function paramLines(schema: unknown): string {
  const props = (schema as { properties?: Record<string, { type?: unknown; default?: unknown; enum?: unknown[] }> } | null)?.properties;
  if (props === undefined || Object.keys(props).length === 0) return '  (no params)\n';
  const required = new Set((schema as { required?: string[] }).required ?? []);
  return Object.entries(props)
    .map(([k, p]) => {
      const type = p.enum !== undefined ? p.enum.map((v) => JSON.stringify(v)).join('|') : Array.isArray(p.type) ? p.type.join('|') : String(p.type ?? 'any');
      const dflt = p.default !== undefined ? `  default ${JSON.stringify(p.default)}` : required.has(k) ? '  required' : '';
      return `  ${k.padEnd(22)} ${type}${dflt}\n`;
    })
    .join('');
}
