/**
 * `dagctl operators` — the registered operators with their stages, cost defaults and params.
 */
import { z } from 'zod';
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
        io.stdout.write(`${o.name}: unknown operator\n`);
        continue;
      }
      const unit = o.cost.driver === 'bytes' ? 'MiB' : '1k rows';
      io.stdout.write(`${o.name.padEnd(20)} v${o.version}  O=${o.cost.overheadMs}ms P=${o.cost.perUnitMs}ms/${unit}  ${o.summary}\n`);
    }
    return 0;
  },
};
