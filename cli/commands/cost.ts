/**
 * `dagctl cost steady-state --overhead 3.33h --p 0.8889 [--cluster-scale 2] [--failure-rate 0.1]
 * [--json]` — the steady state T* = O / (1 − P) of a recurring batch loop before and after a
 * change of cluster size or failure rate (scheduler/plan/steady-state.ts).
 *
 * Exit 0 whenever the inputs are valid, also when the loop diverges (P ≥ 1): `converges: false`
 * says so, which is easier to script against than an exit code. Bad input → COST_INVALID (exit 2).
 * JSON hours are null when T* diverges (JSON has no Infinity).
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { steadyStateChange } from '../../scheduler/plan/steady-state.js';
import type { SteadyState } from '../../scheduler/plan/steady-state.js';
import { flag, str, writeJson } from '../command.js';
import type { CommandDef, ParsedArgs } from '../command.js';

const HOUR_MS = 3_600_000;

function numberOpt(args: ParsedArgs, name: string, fallback?: number): number {
  const text = str(args, name);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw new DagctlError('COST_INVALID', `--${name} is required`, { option: name });
  }
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new DagctlError('COST_INVALID', `--${name}: "${text}" is not a number`, { option: name });
  return v;
}

/** Overhead as a duration (3.33h, 20m) or a bare number of hours. */
function overheadHours(args: ParsedArgs): number {
  const text = str(args, 'overhead');
  if (text === undefined) throw new DagctlError('COST_INVALID', '--overhead is required (e.g. 3.33h)', { option: 'overhead' });
  const asNumber = Number(text);
  if (text.trim() !== '' && Number.isFinite(asNumber)) return asNumber;
  const ms = parseDuration(text);
  if (ms === null) throw new DagctlError('COST_INVALID', `--overhead: "${text}" is not a duration`, { option: 'overhead' });
  // parseDuration rounds to whole ms, far below the precision that matters in hours.
  return ms / HOUR_MS;
}

function hoursJson(s: SteadyState): { p: number; hours: number | null; converges: boolean } {
  return { p: s.p, hours: s.converges ? s.hours : null, converges: s.converges };
}

function describe(s: SteadyState): string {
  return s.converges ? `${s.hours.toFixed(2)} h (P = ${s.p.toFixed(4)})` : `diverges (P = ${s.p.toFixed(4)} ≥ 1)`;
}

export const costCommand: CommandDef = {
  name: 'cost',
  summary: 'Cost-model calculators (steady-state)',
  usage:
    'dagctl cost steady-state --overhead 3.33h --p 0.8889 [--cluster-scale K] [--failure-rate F] [--json]\n' +
    '  T* = O / (1 − P); scaling the cluster by K divides P by K, failure rate F multiplies P by 1/(1 − F).\n' +
    '  Exit 0 also when T* diverges (converges: false); 2 on bad input.',
  options: {
    overhead: { type: 'string' },
    p: { type: 'string' },
    'cluster-scale': { type: 'string' },
    'failure-rate': { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    const sub = args.positionals[0];
    if (sub !== 'steady-state' || args.positionals.length > 1) throw new DagctlError('USAGE', `expected "cost steady-state"\n${this.usage}`);
    const r = steadyStateChange({
      overheadHours: overheadHours(args),
      p: numberOpt(args, 'p'),
      clusterScale: numberOpt(args, 'cluster-scale', 1),
      failureRate: numberOpt(args, 'failure-rate', 0),
    });
    const converges = r.after.converges;
    if (flag(args, 'json')) {
      writeJson(io, {
        overheadHours: r.overheadHours,
        before: hoursJson(r.before),
        after: hoursJson(r.after),
        converges,
        elasticity: Number.isFinite(r.elasticity) ? r.elasticity : null,
      });
    } else {
      io.stdout.write(
        [
          `O = ${r.overheadHours} h`,
          `before: T* = ${describe(r.before)}`,
          `after:  T* = ${describe(r.after)}`,
          `converges: ${converges ? 'yes' : 'no'}`,
          `elasticity of T* in P: ${Number.isFinite(r.elasticity) ? r.elasticity.toFixed(2) : '∞'}`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
