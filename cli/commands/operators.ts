/**
 * `dagctl operators` — List the registered operators. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const operatorsCommand: CommandDef = {
  name: 'operators',
  summary: 'List the registered operators',
  usage: 'dagctl operators',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'operators is not implemented yet');
  },
};
