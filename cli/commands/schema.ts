/**
 * `dagctl schema` — Print the JSON Schema of the DAG file format. (Placeholder until implemented.)
 */
import { DagctlError } from '../../core/errors.js';
import type { CommandDef } from '../command.js';

export const schemaCommand: CommandDef = {
  name: 'schema',
  summary: 'Print the JSON Schema of the DAG file format',
  usage: 'dagctl schema',
  options: {},
  allowPositionals: true,
  async run() {
    throw new DagctlError('USAGE', 'schema is not implemented yet');
  },
};
