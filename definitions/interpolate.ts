/**
 * `${params.name}` interpolation in the strings of a DAG's datasets and tasks.
 *
 * A string that is exactly one reference takes the param's typed value (so `buckets:
 * ${params.buckets}` stays a number); a reference inside a longer string is replaced by the
 * value's text. `$${` writes a literal `${`. `${run.<name>}` takes a run variable (the run's
 * interval, see definitions/run-vars.ts) when the caller passes them. A reference to a missing param, or any `${…}` that is
 * not `params.<name>`, is left as written and reported through `onUnresolved`.
 *
 * Precondition: `value` is plain data (from YAML/JSON); object keys are never interpolated.
 */

export type ParamValue = string | number | boolean;

const WHOLE = /^\$\{params\.([^}]*)\}$/;
const REF = /\$\$\{|\$\{([^}]*)\}/g;

export interface InterpolateHooks {
  onUnresolved(segments: PropertyKey[], reference: string): void;
  onUsed(name: string): void;
  /** Run variables (`run.intervalStart` → text); a `${run.x}` not in it is unresolved. */
  runVars?: Readonly<Record<string, string>>;
  onRunVar?(name: string): void;
}

export function interpolate(value: unknown, params: Readonly<Record<string, ParamValue>>, segments: PropertyKey[], hooks: InterpolateHooks): unknown {
  if (typeof value === 'string') return interpolateString(value, params, segments, hooks);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, params, [...segments, i], hooks));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, params, [...segments, k], hooks);
    return out;
  }
  return value;
}

function lookup(params: Readonly<Record<string, ParamValue>>, name: string): ParamValue | undefined {
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

function interpolateString(s: string, params: Readonly<Record<string, ParamValue>>, segments: PropertyKey[], hooks: InterpolateHooks): unknown {
  const whole = WHOLE.exec(s);
  if (whole !== null) {
    const name = whole[1] ?? '';
    const v = lookup(params, name);
    if (v !== undefined) {
      hooks.onUsed(name);
      return v;
    }
  }
  return s.replace(REF, (match, inner: string | undefined) => {
    if (inner === undefined) return '${'; // the `$${` escape
    const rv = /^run\.(.+)$/.exec(inner);
    if (rv?.[1] !== undefined && hooks.runVars !== undefined && Object.hasOwn(hooks.runVars, rv[1])) {
      hooks.onRunVar?.(rv[1]);
      return hooks.runVars[rv[1]] ?? match;
    }
    const m = /^params\.(.+)$/.exec(inner);
    const v = m?.[1] !== undefined ? lookup(params, m[1]) : undefined;
    if (m?.[1] === undefined || v === undefined) {
      hooks.onUnresolved(segments, match);
      return match;
    }
    hooks.onUsed(m[1]);
    return String(v);
  });
}

/** The param names a string refers to as `${params.name}` (the `$${` escape excluded), in order. */
export function paramRefs(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(REF)) {
    const name = m[1] === undefined ? undefined : /^params\.(.+)$/.exec(m[1])?.[1];
    if (name !== undefined && !out.includes(name)) out.push(name);
  }
  return out;
}
