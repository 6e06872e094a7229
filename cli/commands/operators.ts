/**
 * `dagctl operators` — the registered operators with their stages, cost defaults and params.
 */
import { z } from 'zod';
import { didYouMean } from '../../core/suggest.js';
import { getOperator, operatorNames } from '../../operators/registry.js';
import { flag, writeJson, type CommandDef } from '../command.js';

export const operatorsCommand: CommandDef = {
  name: 'operators',
  summary: 'List the registered operators',
  usage: 'dagctl operators [NAME] [--json]',
  options: { json: { type: 'boolean' } },
  allowPositionals: true,
  async run(args, io) {
    const names = args.positionals.length > 0 ? args.positionals : operatorNames();
    const list = names.map((n) => {
      const op = getOperator(n);
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
      return { name: op.name, version: op.version, summary: op.summary, cost: op.cost, inputs: op.inputs, outputs: op.outputs, stages, params };
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
      io.stdout.write(`${o.name.padEnd(20)} v${o.version}  O=${o.cost.overheadMs}ms P=${o.cost.perUnitMs}ms/${unit}  ${o.summary}\n`);
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
