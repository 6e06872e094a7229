/**
 * `dagctl runs` — List past runs. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const runsCommand: CommandDef = {
  name: 'runs',
  summary: 'List past runs',
  usage: 'dagctl runs',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'runs is not implemented yet');
  },
};
