/**
 * `dagctl retry` — Retry a failed run, optionally from a task. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const retryCommand: CommandDef = {
  name: 'retry',
  summary: 'Retry a failed run, optionally from a task',
  usage: 'dagctl retry',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'retry is not implemented yet');
  },
};
