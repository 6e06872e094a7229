/**
 * Non-negative least squares for the cost line T = O + P×H: minimize Σ (tᵢ − O − P·hᵢ)² subject
 * to O ≥ 0 and P ≥ 0.
 *
 * With two unknowns the constrained problem is solved exactly by the active-set enumeration of its
 * KKT points: the unconstrained optimum (when both parts are ≥ 0), the optimum on the face O = 0,
 * the optimum on the face P = 0, and the vertex O = P = 0. The problem is convex, so the feasible
 * candidate with the least squared error is the global optimum. (Clamping the unconstrained
 * solution after the fact is not the same thing: with O < 0 clamped to 0, P must be refitted.)
 *
 * Degenerate data — every H the same, so O and P cannot be told apart — takes P from the prior
 * (the operator's default) and fits O alone: O = max(0, mean(t − P·h)).
 *
 * Optional weights wᵢ > 0 turn it into weighted least squares (Σ wᵢ·rᵢ²), the same enumeration.
 * `fitCostLine` is what the cost model uses: relative errors (weights 1/predicted², so a 10 ms
 * instance counts as much as a 10 s one), one pass that drops outliers (a cold first instance, a
 * machine hiccup) and refits, and H values too close together to tell O from P (relative spread
 * < 10%) treated as degenerate, P then coming from the prior.
 *
 * Precondition: h and t (and weights) have the same length n ≥ 1; values are finite.
 */

export interface LineFit {
  overhead: number;
  perUnit: number;
  /** Root mean squared error of the fit, in the units of t. */
  rmse: number;
  /** rmse / mean(t); 0 when mean(t) is 0. */
  relativeError: number;
  /** True when the H values were all equal and P came from the prior. */
  degenerate: boolean;
}

function sse(h: readonly number[], t: readonly number[], o: number, p: number, w?: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < h.length; i++) {
    const r = (t[i] as number) - o - p * (h[i] as number);
    s += (w === undefined ? 1 : (w[i] as number)) * r * r;
  }
  return s;
}

export interface LineFitOptions {
  /** Weights of the samples (default all 1). */
  weights?: readonly number[];
  /** Relative spread of H (standard deviation ÷ mean) below which P comes from the prior (default 1e-6). */
  minSpread?: number;
}

export function fitNonNegativeLine(h: readonly number[], t: readonly number[], priorPerUnit: number, opts: LineFitOptions = {}): LineFit {
  const n = h.length;
  const w = opts.weights;
  // Weighted sums; with unit weights sw = n.
  let sw = 0, sh = 0, st = 0, shh = 0, sht = 0, plainT = 0;
  for (let i = 0; i < n; i++) {
    const hi = h[i] as number, ti = t[i] as number, wi = w === undefined ? 1 : (w[i] as number);
    sw += wi; sh += wi * hi; st += wi * ti; shh += wi * hi * hi; sht += wi * hi * ti; plainT += ti;
  }
  const meanT = plainT / n;
  const meanH = sh / sw;
  const varH = shh / sw - meanH ** 2;
  // Relative spread of H below this, the normal equations are ill-conditioned: treat as all equal.
  const spread = opts.minSpread ?? 1e-6;
  const degenerate = !(varH > spread * spread * Math.max(1, meanH ** 2));
  const finish = (o: number, p: number, deg: boolean): LineFit => {
    const rmse = Math.sqrt(sse(h, t, o, p) / n);
    return { overhead: o, perUnit: p, rmse, relativeError: meanT > 0 ? rmse / meanT : 0, degenerate: deg };
  };
  if (degenerate) {
    const p = Math.max(0, priorPerUnit);
    return finish(Math.max(0, (st - p * sh) / sw), p, true);
  }
  const candidates: [number, number][] = [[0, 0]];
  // Unconstrained optimum (normal equations).
  const det = sw * shh - sh * sh;
  const pFree = (sw * sht - sh * st) / det;
  const oFree = (st - pFree * sh) / sw;
  if (oFree >= 0 && pFree >= 0) candidates.push([oFree, pFree]);
  // Face O = 0: P = Σht / Σh².
  if (shh > 0) candidates.push([0, Math.max(0, sht / shh)]);
  // Face P = 0: O = (weighted) mean(t).
  candidates.push([Math.max(0, st / sw), 0]);
  let best = candidates[0] as [number, number];
  let bestErr = sse(h, t, best[0], best[1], w);
  for (const c of candidates.slice(1)) {
    const e = sse(h, t, c[0], c[1], w);
    if (e < bestErr) [best, bestErr] = [c, e];
  }
  return finish(best[0], best[1], false);
}

/** Relative spread of H below which the cost model takes P from its prior. */
export const COST_MIN_SPREAD = 0.1;

/**
 * The cost model's fit, for durations whose noise is proportional to their size: iteratively
 * reweighted least squares with wᵢ = 1/predᵢ² (relative residuals, without the downward bias of
 * weighting by 1/tᵢ²), then one refit without the samples whose relative residual exceeds
 * max(0.5, 3 × the median one) when at least `minKeep` samples remain. `relativeError` is the
 * median relative residual |t − O − P·h| / (O + P·h) of the kept samples.
 */
export function fitCostLine(h: readonly number[], t: readonly number[], priorPerUnit: number, minKeep = 3): LineFit {
  const floor = Math.max(1, median(t) * 1e-3);
  const predicted = (f: LineFit, x: number): number => Math.max(floor, f.overhead + f.perUnit * x);
  const irls = (hs: readonly number[], ts: readonly number[]): LineFit => {
    let f = fitNonNegativeLine(hs, ts, priorPerUnit, { minSpread: COST_MIN_SPREAD });
    for (let k = 0; k < 3; k++) f = fitNonNegativeLine(hs, ts, priorPerUnit, { weights: hs.map((x) => 1 / predicted(f, x) ** 2), minSpread: COST_MIN_SPREAD });
    return f;
  };
  const rel = (f: LineFit, hs: readonly number[], ts: readonly number[]): number[] => hs.map((x, i) => Math.abs((ts[i] as number) - predicted(f, x)) / predicted(f, x));
  let fit = irls(h, t);
  let res = rel(fit, h, t);
  const cut = Math.max(0.5, 3 * median(res));
  const keep = res.map((r, i) => (r <= cut ? i : -1)).filter((i) => i >= 0);
  if (keep.length < h.length && keep.length >= minKeep) {
    const hk = keep.map((i) => h[i] as number), tk = keep.map((i) => t[i] as number);
    fit = irls(hk, tk);
    res = rel(fit, hk, tk);
  }
  return { ...fit, relativeError: median(res) };
}
function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
