/**
 * `dagctl dataset` — Inspect datasets and vacuum old view versions. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const datasetCommand: CommandDef = {
  name: 'dataset',
  summary: 'Inspect datasets and vacuum old view versions',
  usage: 'dagctl dataset',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'dataset is not implemented yet');
  },
};
