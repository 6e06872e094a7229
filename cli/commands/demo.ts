/**
 * `dagctl demo` — Generate sample data (if absent) and run dags/superwebanalytics.yaml. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const demoCommand: CommandDef = {
  name: 'demo',
  summary: 'Generate sample data (if absent) and run dags/superwebanalytics.yaml',
  usage: 'dagctl demo',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'demo is not implemented yet');
  },
};
