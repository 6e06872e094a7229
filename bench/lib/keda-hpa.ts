/**
 * A model of KEDA + the Kubernetes HPA (autoscaling/v2) driving one Deployment from one external
 * metric with an AverageValue target — what the chart's ScaledObject sets up — for the scaling
 * benchmark (bench/autoscale.ts). Pure: step() takes the time, the metric and the current replicas
 * and returns the replicas to run. Times are milliseconds, so a benchmark can compress them.
 *
 * Rules modelled (HPA: kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale):
 *   raw recommendation   ceil(metric / target), unchanged while metric / (target × current) is
 *                        within the tolerance (0.1) of 1; clamped to [max(1, min), max];
 *   scale-up             stabilisation window (default 0: the lowest recommendation in the window),
 *                        limited per period to max(current × (1 + percent/100), current + pods);
 *   scale-down           stabilisation window: the highest recommendation in the window wins;
 *                        limited per period to removing percent% of the replicas;
 *   KEDA activation      metric > activationTarget is "active"; at 0 replicas an active metric
 *                        starts max(1, min) replicas; with min = 0, replicas go to 0 once the
 *                        metric has been inactive for cooldownPeriod.
 */
export interface KedaHpaConfig {
  target: number;
  activationTarget: number;
  minReplicas: number;
  maxReplicas: number;
  cooldownMs: number;
  scaleUpWindowMs: number;
  scaleUpPercent: number;
  scaleUpPods: number;
  scaleUpPeriodMs: number;
  scaleDownWindowMs: number;
  scaleDownPercent: number;
  scaleDownPeriodMs: number;
  tolerance: number;
}

export const CHART_DEFAULTS: Omit<KedaHpaConfig, 'target' | 'minReplicas' | 'maxReplicas'> = {
  activationTarget: 0,
  cooldownMs: 300_000,
  scaleUpWindowMs: 0,
  scaleUpPercent: 100,
  scaleUpPods: 4,
  scaleUpPeriodMs: 15_000,
  scaleDownWindowMs: 300_000,
  scaleDownPercent: 50,
  scaleDownPeriodMs: 60_000,
  tolerance: 0.1,
};

export class KedaHpa {
  private readonly recs: Array<{ at: number; replicas: number }> = [];
  private readonly changes: Array<{ at: number; from: number; to: number }> = [];
  private lastActive = -Infinity;

  constructor(readonly cfg: KedaHpaConfig) {}

  step(now: number, metric: number, current: number): number {
    const c = this.cfg;
    const floor = Math.max(1, c.minReplicas);
    if (metric > c.activationTarget) this.lastActive = now;
    if (current === 0) {
      if (metric <= c.activationTarget) return 0;
      return this.record(now, 0, Math.min(c.maxReplicas, floor));
    }
    if (c.minReplicas === 0 && metric <= c.activationTarget && now - this.lastActive >= c.cooldownMs) return this.record(now, current, 0);
    let raw = Math.ceil(metric / c.target - 1e-9);
    if (Math.abs(metric / (c.target * current) - 1) <= c.tolerance) raw = current;
    raw = Math.min(c.maxReplicas, Math.max(floor, raw));
    this.recs.push({ at: now, replicas: raw });
    const keep = Math.max(c.scaleUpWindowMs, c.scaleDownWindowMs);
    while (this.recs.length > 0 && (this.recs[0]?.at ?? now) < now - keep) this.recs.shift();
    const inWindow = (w: number): number[] => this.recs.filter((r) => r.at >= now - w).map((r) => r.replicas);
    let desired = current;
    const upCandidate = Math.min(...inWindow(c.scaleUpWindowMs));
    const downCandidate = Math.max(...inWindow(c.scaleDownWindowMs));
    if (upCandidate > current) {
      const base = this.replicasAt(now - c.scaleUpPeriodMs, current);
      const limit = Math.max(Math.ceil(base * (1 + c.scaleUpPercent / 100)), base + c.scaleUpPods);
      desired = Math.min(upCandidate, limit);
    } else if (downCandidate < current) {
      const base = this.replicasAt(now - c.scaleDownPeriodMs, current);
      const limit = base - Math.floor((base * c.scaleDownPercent) / 100);
      desired = Math.max(downCandidate, limit, floor);
    }
    return this.record(now, current, desired);
  }

  /** Replicas at the start of a policy period: the count before the changes made since then. */
  private replicasAt(since: number, current: number): number {
    let r = current;
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const ch = this.changes[i];
      if (ch === undefined || ch.at <= since) break;
      r = ch.from;
    }
    return r;
  }

  private record(now: number, from: number, to: number): number {
    if (to !== from) this.changes.push({ at: now, from, to });
    return to;
  }
}
