/**
 * `dagctl plan` — Plan a DAG with the T = O + P×H cost model. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const planCommand: CommandDef = {
  name: 'plan',
  summary: 'Plan a DAG with the T = O + P×H cost model',
  usage: 'dagctl plan',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'plan is not implemented yet');
  },
};
