/**
 * Birthday inference (the book's partial-recomputation example), defined precisely.
 * A sample "age a at time t" (epoch seconds) says the birth instant b satisfies
 *   t − (a+1)·Y < b ≤ t − a·Y,   Y = 31,556,952 s (the mean Gregorian year, 365.2425 days),
 * i.e. the inclusive integer interval [t − (a+1)·Y + 1, t − a·Y]. Identical samples count once.
 * The estimate is the region covered by the most samples (a sweep over interval ends): when all
 * samples agree it is their intersection; when they conflict, the earliest region of maximal
 * support wins — deterministic, and independent of sample order.
 * View row: person, birth_from, birth_to (inclusive), samples (distinct samples), support (samples
 * agreeing with the region).
 */
export const YEAR_SECONDS = 31_556_952;

export interface AgeSample { age: number; ts: number }
export interface Birthday { birth_from: number; birth_to: number; samples: number; support: number }

export function sampleInterval(s: AgeSample): [number, number] {
  return [s.ts - (s.age + 1) * YEAR_SECONDS + 1, s.ts - s.age * YEAR_SECONDS];
}

/** Key identifying a distinct sample (for de-duplication). */
export function sampleKey(s: AgeSample): string {
  return `${s.age}@${s.ts}`;
}

/** Infers the birthday from samples (duplicates are removed here); null when there are none. */
export function inferBirthday(samples: Iterable<AgeSample>): Birthday | null {
  const distinct = new Map<string, AgeSample>();
  for (const s of samples) distinct.set(sampleKey(s), s);
  if (distinct.size === 0) return null;
  // Events: +1 at from, −1 at to+1; at equal positions ends come first (inclusive intervals
  // [x, y] and [y+1, z] do not overlap).
  const ev: Array<[number, number]> = [];
  for (const s of distinct.values()) {
    const [from, to] = sampleInterval(s);
    ev.push([from, 1], [to + 1, -1]);
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let depth = 0, best = 0, bestFrom = 0, bestTo = 0;
  for (let i = 0; i < ev.length; i++) {
    depth += ev[i]![1];
    const next = ev[i + 1];
    if (next !== undefined && next[0] > ev[i]![0] && depth > best) {
      best = depth;
      bestFrom = ev[i]![0];
      bestTo = next[0] - 1;
    }
  }
  return { birth_from: bestFrom, birth_to: bestTo, samples: distinct.size, support: best };
}
