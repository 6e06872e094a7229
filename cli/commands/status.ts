/**
 * `dagctl status` — Show where a run stands. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const statusCommand: CommandDef = {
  name: 'status',
  summary: 'Show where a run stands',
  usage: 'dagctl status',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'status is not implemented yet');
  },
};
