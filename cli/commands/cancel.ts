/**
 * `dagctl cancel` — Cancel a run. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const cancelCommand: CommandDef = {
  name: 'cancel',
  summary: 'Cancel a run',
  usage: 'dagctl cancel',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'cancel is not implemented yet');
  },
};
