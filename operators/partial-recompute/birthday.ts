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
 * Two implementations of the one definition: inferBirthday (sample objects; the readable
 * reference, kept for tests and callers) and inferBirthdayInto (parallel number arrays and a
 * reusable scratch, allocation-free — partial-recompute's hot path; property-tested equal).
 * Preconditions: ages and timestamps are safe integers, and the interval ends stay safe integers.
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

/** Reusable work arrays for inferBirthdayInto (grown on demand). */
export class BirthdayScratch {
  age = new Float64Array(64);
  ts = new Float64Array(64);
  starts = new Float64Array(64);
  /** Result of the last inferBirthdayInto: [birth_from, birth_to, samples, support]. */
  readonly out = new Float64Array(4);
  ensure(n: number): void {
    if (this.age.length >= n) return;
    const size = Math.max(n, this.age.length * 2);
    const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => { const b = new Float64Array(size); b.set(a); return b; };
    this.age = grow(this.age);
    this.ts = grow(this.ts);
    this.starts = new Float64Array(size);
  }
}

/** Whether every (ts, age) packs exactly into ts·256 + age: ages in 0..255, |ts| < 2^44. */
function packable(age: Float64Array, ts: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const a = age[i]!, t = ts[i]!;
    if (!(a >= 0 && a < 256 && Number.isInteger(a) && Math.abs(t) < 2 ** 44)) return false;
  }
  return true;
}

/**
 * inferBirthday over the n samples (scratch.age[i], scratch.ts[i]), i < n (the caller fills them,
 * after scratch.ensure(n)); the result lands in scratch.out. Returns false when n = 0.
 * Same definition: distinct (age, ts) pairs (sorted by ts then age, neighbours compared), starts
 * sorted, then merged with the ends (to + 1 = start + Y) with ends first at equal positions.
 */
export function inferBirthdayInto(s: BirthdayScratch, n: number): boolean {
  if (n === 0) return false;
  const age = s.age, ts = s.ts;
  // Sort the pairs by (ts, age): insertion sort (a person has a handful of samples).
  if (n <= 48) {
    for (let i = 1; i < n; i++) {
      const a = age[i]!, t = ts[i]!;
      let j = i - 1;
      while (j >= 0 && (ts[j]! > t || (ts[j] === t && age[j]! > a))) { age[j + 1] = age[j]!; ts[j + 1] = ts[j]!; j--; }
      age[j + 1] = a;
      ts[j + 1] = t;
    }
  } else if (packable(age, ts, n)) {
    // Many samples (the generator's and real data's heavy persons): (ts, age) packed into one
    // exact double, ts·256 + age, whose numeric order is the pair order — one TypedArray sort, no
    // index array and no comparator calls.
    const key = s.starts.subarray(0, n);
    for (let i = 0; i < n; i++) key[i] = ts[i]! * 256 + age[i]!;
    key.sort();
    for (let i = 0; i < n; i++) {
      const t = Math.floor(key[i]! / 256);
      ts[i] = t;
      age[i] = key[i]! - t * 256;
    }
  } else {
    const idx = Array.from({ length: n }, (_, i) => i).sort((x, y) => ts[x]! - ts[y]! || age[x]! - age[y]!);
    const a2 = idx.map((i) => age[i]!), t2 = idx.map((i) => ts[i]!);
    for (let i = 0; i < n; i++) { age[i] = a2[i]!; ts[i] = t2[i]!; }
  }
  // Every interval is Y long (end + 1 = start + Y), so the ends sorted are the starts sorted + Y:
  // one sort. Insertion sort for a handful (TypedArray#sort's call and subarray views cost more
  // than sorting ~10 numbers: measured ×1.6 on a partial run's inference).
  const st = s.starts;
  let d = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && ts[i] === ts[i - 1] && age[i] === age[i - 1]) continue;
    const v = ts[i]! - (age[i]! + 1) * YEAR_SECONDS + 1;
    let j = d - 1;
    if (d < 48) {
      while (j >= 0 && st[j]! > v) { st[j + 1] = st[j]!; j--; }
      st[j + 1] = v;
    } else st[d] = v;
    d++;
  }
  if (d > 48) st.subarray(0, d).sort();
  // Merge: ends first at equal positions; after each event, the region up to the next event's
  // position (exclusive) has the current depth.
  let i = 0, j = 0, depth = 0, best = 0, bestFrom = 0, bestTo = 0;
  while (j < d) {
    let pos: number;
    const ej = st[j]! + YEAR_SECONDS;
    if (i < d && st[i]! < ej) { pos = st[i]!; depth++; i++; } else { pos = ej; depth--; j++; }
    if (j >= d) break;
    const ej2 = st[j]! + YEAR_SECONDS;
    const next = i < d && st[i]! < ej2 ? st[i]! : ej2;
    if (next > pos && depth > best) { best = depth; bestFrom = pos; bestTo = next - 1; }
  }
  const o = s.out;
  o[0] = bestFrom; o[1] = bestTo; o[2] = d; o[3] = best;
  return true;
}
