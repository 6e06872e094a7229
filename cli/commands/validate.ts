/**
 * `dagctl validate` — Validate DAG files (schema, then semantic rules). (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const validateCommand: CommandDef = {
  name: 'validate',
  summary: 'Validate DAG files (schema, then semantic rules)',
  usage: 'dagctl validate',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'validate is not implemented yet');
  },
};
