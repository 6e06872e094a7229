/**
 * Bundling policy (pure): which ready instances of one dispatch share one queue job.
 *
 * Every queue job has a fixed cost (BullMQ's add / moveToActive / moveToFinished scripts and its
 * job hash, plus the worker's per-job handling) that dwarfs an instance predicted to take a
 * millisecond. Like Spark's task coalescing or Ray's batching, short ready instances of the same
 * run, queue, task and stage are packed into one job — a "bundle" — while each member keeps its
 * own attempt, events, timeout and retry.
 *
 * Rules, per group (callers group by run/queue/task/stage, in dispatch order):
 *   - only instances predicted (plan's T = O + P×H) under `maxMemberMs` are bundled; the others,
 *     and everything when the policy is off (`maxMembers` ≤ 1), go alone;
 *   - a bundle closes when adding a member would push its predicted total past `targetMs` or its
 *     size past `maxMembers` — and, so workers never starve, past ⌊short / minBundles⌋: with fewer
 *     than 2 × minBundles short instances ready nothing is bundled (a lone ready instance, a
 *     chain, a small fan-out keep today's single jobs and latency);
 *   - a bundle of one is a plain single job.
 * Precondition: predictions are finite numbers ≥ 0 (the planner's). Short instances keep their
 * dispatch order; long ones go out as they come.
 */
import { DagctlError } from '../core/errors.js';

export interface BundlePolicy {
  /** Instances predicted at or above this (ms) are never bundled. */
  maxMemberMs: number;
  /** A bundle's predicted total (ms) stays at or under this. */
  targetMs: number;
  /** Hard cap on members per bundle; 1 turns bundling off. */
  maxMembers: number;
  /** Keep at least this many jobs per group when enough instances are ready. */
  minBundles: number;
}

export const DEFAULT_BUNDLE_POLICY: Readonly<BundlePolicy> = { maxMemberMs: 5, targetMs: 50, maxMembers: 64, minBundles: 32 };

export interface BundleCandidate {
  id: string;
  predictedMs: number;
}

/** Splits one group's ready instances into jobs: each inner list is one job (length 1 = single). */
export function planBundles(cands: readonly BundleCandidate[], policy: BundlePolicy = DEFAULT_BUNDLE_POLICY): string[][] {
  const short = cands.filter((c) => isShort(c, policy));
  const cap = Math.min(policy.maxMembers, Math.floor(short.length / Math.max(1, policy.minBundles)));
  if (cap < 2) return cands.map((c) => [c.id]);
  const out: string[][] = [];
  let cur: string[] = [];
  let total = 0;
  for (const c of cands) {
    if (!isShort(c, policy)) {
      out.push([c.id]);
      continue;
    }
    const ms = Math.max(0, c.predictedMs);
    if (cur.length > 0 && (cur.length >= cap || total + ms > policy.targetMs)) {
      out.push(cur);
      cur = [];
      total = 0;
    }
    cur.push(c.id);
    total += ms;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function isShort(c: BundleCandidate, p: BundlePolicy): boolean {
  return Number.isFinite(c.predictedMs) && c.predictedMs < p.maxMemberMs;
}

const ENV: Record<keyof BundlePolicy, string> = {
  maxMemberMs: 'DAGCTL_BUNDLE_MAX_MEMBER_MS',
  targetMs: 'DAGCTL_BUNDLE_TARGET_MS',
  maxMembers: 'DAGCTL_BUNDLE_MAX_MEMBERS',
  minBundles: 'DAGCTL_BUNDLE_MIN_BUNDLES',
};

/** The defaults, overridden by `DAGCTL_BUNDLE_*` variables (USAGE error on a non-number). */
export function bundlePolicyFromEnv(env: NodeJS.ProcessEnv, base: BundlePolicy = DEFAULT_BUNDLE_POLICY): BundlePolicy {
  const p: BundlePolicy = { ...base };
  for (const k of Object.keys(ENV) as Array<keyof BundlePolicy>) {
    const raw = env[ENV[k]];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new DagctlError('USAGE', `${ENV[k]} must be a number ≥ 0, got "${raw}"`);
    p[k] = n;
  }
  return p;
}
