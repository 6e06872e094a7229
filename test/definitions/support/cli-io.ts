/**
 * An in-memory CliIO for command tests: captures stdout/stderr as strings, runs in a given cwd.
 */
import { Writable } from 'node:stream';
import type { CliIO } from '../../../cli/command.js';
import { main } from '../../../cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export async function runCli(argv: string[], cwd = process.cwd()): Promise<CliRun> {
  const out = sink();
  const err = sink();
  const io: CliIO = { stdout: out.stream, stderr: err.stream, env: {}, cwd, interrupted: new AbortController().signal };
  const code = await main(argv, io);
  return { code, stdout: out.text(), stderr: err.text() };
}
