/**
 * `dagctl cost` — Cost-model calculators (steady-state). (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const costCommand: CommandDef = {
  name: 'cost',
  summary: 'Cost-model calculators (steady-state)',
  usage: 'dagctl cost',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'cost is not implemented yet');
  },
};
