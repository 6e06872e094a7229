/**
 * `dagctl gen` — Generate SuperWebAnalytics-like sample data. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const genCommand: CommandDef = {
  name: 'gen',
  summary: 'Generate SuperWebAnalytics-like sample data',
  usage: 'dagctl gen',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'gen is not implemented yet');
  },
};
