/**
 * The effective params of a DAG: the file's `params` with `--param k=v` overrides applied.
 *
 * Overrides may only set declared params (a typo would otherwise silently do nothing), and take
 * the declared param's type: numbers must parse as finite numbers, booleans as true/false.
 *
 * Precondition: `declared` passed the structural schema.
 */
import { DagctlError } from '../core/errors.js';
import type { ParamValue } from './interpolate.js';
import type { IssueReporter } from './reporter.js';

export function applyParamOverrides(
  declared: Readonly<Record<string, ParamValue>>,
  overrides: Readonly<Record<string, string>>,
  report: IssueReporter,
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = { ...declared };
  for (const [key, text] of Object.entries(overrides)) {
    const current = Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (current === undefined) {
      report.add('UNKNOWN_PARAM_OVERRIDE', ['params', key], `--param ${key}: the DAG declares no param "${key}"`);
      continue;
    }
    const v = coerce(current, text);
    if (v === undefined) {
      report.add('PARAM_OVERRIDE_INVALID', ['params', key], `--param ${key}=${text}: expected a ${typeof current}`);
      continue;
    }
    out[key] = v;
  }
  return out;
}

function coerce(like: ParamValue, text: string): ParamValue | undefined {
  if (typeof like === 'string') return text;
  if (typeof like === 'number') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  return undefined;
}

/** `k=v` strings (from the command line) to a record; throws PARAM_INVALID on a malformed one. */
export function parseParamArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new DagctlError('PARAM_INVALID', `--param expects k=v, got "${a}"`, { param: a });
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}
