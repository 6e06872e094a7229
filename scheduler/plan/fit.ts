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
 * Precondition: h and t have the same length n ≥ 1; values are finite.
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

function sse(h: readonly number[], t: readonly number[], o: number, p: number): number {
  let s = 0;
  for (let i = 0; i < h.length; i++) {
    const r = (t[i] as number) - o - p * (h[i] as number);
    s += r * r;
  }
  return s;
}

export function fitNonNegativeLine(h: readonly number[], t: readonly number[], priorPerUnit: number): LineFit {
  const n = h.length;
  let sh = 0, st = 0, shh = 0, sht = 0;
  for (let i = 0; i < n; i++) {
    const hi = h[i] as number, ti = t[i] as number;
    sh += hi; st += ti; shh += hi * hi; sht += hi * ti;
  }
  const meanT = st / n;
  const varH = shh / n - (sh / n) ** 2;
  // Relative spread of H below this, the normal equations are ill-conditioned: treat as all equal.
  const degenerate = !(varH > 1e-12 * Math.max(1, (sh / n) ** 2));
  const finish = (o: number, p: number, deg: boolean): LineFit => {
    const rmse = Math.sqrt(sse(h, t, o, p) / n);
    return { overhead: o, perUnit: p, rmse, relativeError: meanT > 0 ? rmse / meanT : 0, degenerate: deg };
  };
  if (degenerate) {
    const p = Math.max(0, priorPerUnit);
    return finish(Math.max(0, meanT - (p * sh) / n), p, true);
  }
  const candidates: [number, number][] = [[0, 0]];
  // Unconstrained optimum (normal equations).
  const det = n * shh - sh * sh;
  const pFree = (n * sht - sh * st) / det;
  const oFree = (st - pFree * sh) / n;
  if (oFree >= 0 && pFree >= 0) candidates.push([oFree, pFree]);
  // Face O = 0: P = Σht / Σh².
  if (shh > 0) candidates.push([0, Math.max(0, sht / shh)]);
  // Face P = 0: O = mean(t).
  candidates.push([Math.max(0, meanT), 0]);
  let best = candidates[0] as [number, number];
  let bestErr = sse(h, t, best[0], best[1]);
  for (const c of candidates.slice(1)) {
    const e = sse(h, t, c[0], c[1]);
    if (e < bestErr) [best, bestErr] = [c, e];
  }
  return finish(best[0], best[1], false);
}
