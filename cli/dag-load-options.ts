/**
 * dagLoadOptions: how DAG files are loaded by validate/plan/run (the size cap and the interrupt
 * signal). Its own module, light, so `dagctl validate` loads no run-store code (cli/shared.ts
 * re-exports it for the run commands).
 */
import { DagctlError } from '../core/errors.js';
import { DEFAULT_MAX_DAG_BYTES } from '../definitions/limits.js';
import type { CliIO } from './command.js';

/**
 * How DAG files are loaded by validate/plan/run: the size cap (`--max-dag-bytes`, else
 * DAGCTL_MAX_DAG_BYTES, else 8 MiB) and the interrupt signal that stops a long parse.
 */
export function dagLoadOptions(io: CliIO, flagValue: string | undefined): { maxBytes: number; signal: AbortSignal; onLargeFile: (bytes: number) => void } {
  const raw = flagValue ?? io.env.DAGCTL_MAX_DAG_BYTES;
  let maxBytes = DEFAULT_MAX_DAG_BYTES;
  if (raw !== undefined && raw !== '') {
    maxBytes = Number(raw);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new DagctlError('USAGE', `--max-dag-bytes / DAGCTL_MAX_DAG_BYTES expects a positive integer, got "${raw}"`);
  }
  const onLargeFile = (bytes: number): void => void io.stderr.write(`validating a large DAG file (${(bytes / 1048576).toFixed(1)} MiB)…\n`);
  return { maxBytes, signal: io.interrupted, onLargeFile };
}
