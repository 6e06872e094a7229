/**
 * Age samples grouped by person without an object per sample: a person → id Map, and per sample
 * (person id, age, ts) in growable typed arrays, grouped by person (a counting sort) when
 * inferring. partial-recompute's recompute stage collects its new and fetched samples here, then infers each person's birthday
 * with lib/birthday.ts inferBirthdayInto (no per-person allocation but the view row).
 * idOf / idOrAdd / addAt: add() split, so a columnar reader (lib/shuffle-samples.ts) looks a
 * dictionary-encoded person up once per entry, not once per sample.
 * Preconditions: ages and timestamps are numbers (the shuffle's int64 columns).
 */
import { BirthdayScratch, inferBirthdayInto } from './birthday.js';

export class SampleTable {
  private readonly ids = new Map<string, number>();
  readonly persons: string[] = [];
  private count = new Int32Array(1024);
  /** Per sample (in arrival order): its person's id, age and ts. */
  private owner = new Int32Array(4096);
  private age = new Float64Array(4096);
  private ts = new Float64Array(4096);
  /** Samples added (with repeats). */
  size = 0;

  has(person: string): boolean {
    return this.ids.has(person);
  }

  add(person: string, age: number, ts: number): void {
    this.addAt(this.idOrAdd(person), age, ts);
  }

  /** The person's id, or -1 when it has no samples. */
  idOf(person: string): number {
    return this.ids.get(person) ?? -1;
  }

  /** The person's id, a new one (no samples yet) when it has none. */
  idOrAdd(person: string): number {
    let id = this.ids.get(person);
    if (id === undefined) {
      id = this.persons.length;
      this.ids.set(person, id);
      this.persons.push(person);
      if (id >= this.count.length) this.count = grow32(this.count, id + 1);
      this.count[id] = 0;
    }
    return id;
  }

  /** add() for an id from idOf / idOrAdd. */
  addAt(id: number, age: number, ts: number): void {
    const k = this.size++;
    if (k >= this.age.length) { this.owner = grow32(this.owner, k + 1); this.age = grow64(this.age, k + 1); this.ts = grow64(this.ts, k + 1); }
    this.owner[k] = id;
    this.age[k] = age;
    this.ts[k] = ts;
    this.count[id]!++;
  }

  /**
   * The samples added from the `from`-th on (arrival order), grouped by person: each person with
   * such samples and its range [from, from + n) of `ages` / `tss` (for lib/sample-store.ts).
   */
  groupsFrom(from: number): { persons: Array<{ person: string; from: number; n: number }>; ages: Float64Array; tss: Float64Array } {
    const n = this.persons.length, size = this.size;
    const count = new Int32Array(n);
    for (let k = from; k < size; k++) count[this.owner[k]!]!++;
    const at = new Int32Array(n + 1);
    for (let id = 0; id < n; id++) at[id + 1] = at[id]! + count[id]!;
    const ages = new Float64Array(Math.max(0, size - from)), tss = new Float64Array(ages.length), fill = at.slice(0, n);
    for (let k = from; k < size; k++) {
      const j = fill[this.owner[k]!]!++;
      ages[j] = this.age[k]!;
      tss[j] = this.ts[k]!;
    }
    const persons: Array<{ person: string; from: number; n: number }> = [];
    for (let id = 0; id < n; id++) if (count[id]! > 0) persons.push({ person: this.persons[id]!, from: at[id]!, n: count[id]! });
    return { persons, ages, tss };
  }

  /** Calls emit(person, birth_from, birth_to, samples, support) per person, in insertion order. */
  infer(emit: (person: string, from: number, to: number, samples: number, support: number) => void): void {
    // Group the samples by person first (a counting sort: one sequential pass over them), so
    // each person's samples are read contiguously: per-person chains through the arrays (before
    // session 9) cost a cache miss per sample once a partial run's fetched samples no longer fit
    // in cache.
    const n = this.persons.length, size = this.size;
    const at = new Int32Array(n + 1);
    for (let id = 0; id < n; id++) at[id + 1] = at[id]! + this.count[id]!;
    const age = new Float64Array(size), ts = new Float64Array(size), fill = at.slice(0, n);
    for (let k = 0; k < size; k++) {
      const j = fill[this.owner[k]!]!++;
      age[j] = this.age[k]!;
      ts[j] = this.ts[k]!;
    }
    const s = new BirthdayScratch();
    for (let id = 0; id < n; id++) {
      const from = at[id]!, m = at[id + 1]! - from;
      s.ensure(m);
      const sa = s.age, st = s.ts;
      for (let i = 0; i < m; i++) { sa[i] = age[from + i]!; st[i] = ts[from + i]!; }
      if (!inferBirthdayInto(s, m)) continue;
      const o = s.out;
      emit(this.persons[id]!, o[0]!, o[1]!, o[2]!, o[3]!);
    }
  }
}

function grow32(a: Int32Array<ArrayBuffer>, min: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}
function grow64(a: Float64Array<ArrayBuffer>, min: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}
