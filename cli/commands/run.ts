/**
 * `dagctl run` — Run a DAG (embedded executor, or on Redis/BullMQ with --redis). (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const runCommand: CommandDef = {
  name: 'run',
  summary: 'Run a DAG (embedded executor, or on Redis/BullMQ with --redis)',
  usage: 'dagctl run',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'run is not implemented yet');
  },
};
