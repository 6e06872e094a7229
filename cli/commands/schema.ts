/**
 * `dagctl schema [--out FILE]` — prints (or writes) the JSON Schema of the DAG file format,
 * generated from the zod schemas (definitions/json-schema.ts), for editor completion and CI checks.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DagctlError, errorMessage } from '../../core/errors.js';
import { dagJsonSchema } from '../../definitions/json-schema.js';
import { str } from '../command.js';
import type { CommandDef } from '../command.js';

export const schemaCommand: CommandDef = {
  name: 'schema',
  summary: 'Print the JSON Schema of the DAG file format',
  usage: 'dagctl schema [--out FILE]',
  options: { out: { type: 'string' } },
  allowPositionals: false,
  async run(args, io) {
    const text = JSON.stringify(dagJsonSchema(), null, 2) + '\n';
    const out = str(args, 'out');
    if (out === undefined) {
      io.stdout.write(text);
      return 0;
    }
    try {
      await writeFile(path.resolve(io.cwd, out), text);
    } catch (e) {
      throw new DagctlError('STORAGE_IO', `cannot write ${out}: ${errorMessage(e)}`, { file: out });
    }
    io.stderr.write(`wrote ${out}\n`);
    return 0;
  },
};
