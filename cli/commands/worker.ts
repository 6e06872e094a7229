/**
 * `dagctl worker` — Start a worker that processes task instances from Redis/BullMQ. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const workerCommand: CommandDef = {
  name: 'worker',
  summary: 'Start a worker that processes task instances from Redis/BullMQ',
  usage: 'dagctl worker',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'worker is not implemented yet');
  },
};
