/**
 * The command contract of the CLI: each `dagctl <name>` is one CommandDef in cli/commands/. A
 * command parses its own options (node:util parseArgs), writes to the given streams, and returns
 * an exit code. Only cli/bin.ts calls process.exit.
 *
 * Exit codes: 0 success, 1 the work failed (a run failed, a deadline cannot be met), 2 invalid
 * input or usage.
 */
import type { ParseArgsConfig } from 'node:util';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user interrupts (SIGINT/SIGTERM); commands that run long may listen. */
  interrupted: AbortSignal;
}

export interface CommandDef {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals: boolean;
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function strs(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** The Redis URL of `--redis`, else DAGCTL_REDIS_URL; undefined (embedded) when neither is set or empty. */
export function redisUrlOf(io: CliIO, flagValue: string | undefined): string | undefined {
  const v = flagValue ?? io.env.DAGCTL_REDIS_URL;
  return v === undefined || v === '' ? undefined : v;
}

export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
