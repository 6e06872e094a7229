/**
 * Command dispatch: `dagctl <command> [options]`. Loads only that command (cli/commands/index.ts),
 * parses its options strictly, maps DagctlErrors to exit codes (2 for invalid input/usage, 1 for
 * everything else) and prints them as one clear line (or JSON with --json).
 */
import { parseArgs } from 'node:util';
import { DagctlError, errorMessage, isDagctlError } from '../core/errors.js';
import type { CliIO } from './command.js';
import { loadAllCommands, loadCommand } from './commands/index.js';

const INPUT_CODES = new Set(['DAG_INVALID', 'DAG_READ_FAILED', 'PARAM_INVALID', 'USAGE', 'OPERATOR_UNKNOWN', 'OPERATOR_PARAMS_INVALID', 'STORAGE_URI_INVALID', 'COST_INVALID', 'QUERY_INVALID', 'QUERY_VIEW_UNKNOWN', 'QUERY_KEY_UNKNOWN', 'QUERY_RANGE_INVALID', 'QUERY_RANGE_OUTSIDE_DATA', 'INPUT_EMPTY']);

/** Loads every command (their summaries live with them): only `--help` and an unknown name pay for it. */
export async function helpText(): Promise<string> {
  const lines = ['dagctl — declarative DAGs of data operators over partitioned Parquet datasets', '', 'Commands:'];
  for (const c of await loadAllCommands()) lines.push(`  ${c.name.padEnd(18)} ${c.summary}`);
  lines.push('', 'Run `dagctl <command> --help` for its options.');
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(await helpText());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout.write('dagctl 0.1.0\n');
    return 0;
  }
  const cmd = await loadCommand(name);
  if (cmd === undefined) {
    io.stderr.write(`dagctl: unknown command "${name}"\n\n${await helpText()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  const wantsJson = rest.includes('--json');
  try {
    const parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: cmd.allowPositionals, strict: true });
    return await cmd.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (e) {
    const err = isDagctlError(e)
      ? e
      : e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')
        ? new DagctlError('USAGE', `${errorMessage(e)}\n${cmd.usage}`)
        : new DagctlError('INTERNAL', errorMessage(e), { stack: e instanceof Error ? e.stack : undefined });
    if (wantsJson) io.stdout.write(JSON.stringify({ error: err.toJSON() }, null, 2) + '\n');
    else io.stderr.write(`dagctl ${name}: ${err.code}: ${err.message}\n`);
    if (err.code === 'INTERNAL' && io.env.DAGCTL_DEBUG) io.stderr.write(String(err.details.stack) + '\n');
    return INPUT_CODES.has(err.code) ? 2 : 1;
  }
}
