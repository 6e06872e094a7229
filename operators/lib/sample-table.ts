/**
 * Age samples grouped by person without an object per sample: a person → id Map, and per sample
 * (age, ts, next) in growable typed arrays chained per person (newest first). partial-recompute's
 * recompute stage collects its new and fetched samples here, then infers each person's birthday
 * with lib/birthday.ts inferBirthdayInto (no per-person allocation but the view row).
 * idOf / idOrAdd / addAt: add() split, so a columnar reader (lib/shuffle-samples.ts) looks a
 * dictionary-encoded person up once per entry, not once per sample.
 * Preconditions: ages and timestamps are numbers (the shuffle's int64 columns).
 */
import { BirthdayScratch, inferBirthdayInto } from './birthday.js';

export class SampleTable {
  private readonly ids = new Map<string, number>();
  readonly persons: string[] = [];
  private head = new Int32Array(1024);
  private count = new Int32Array(1024);
  private next = new Int32Array(4096);
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
      if (id >= this.head.length) { this.head = grow32(this.head, id + 1); this.count = grow32(this.count, id + 1); }
      this.head[id] = -1;
      this.count[id] = 0;
    }
    return id;
  }

  /** add() for an id from idOf / idOrAdd. */
  addAt(id: number, age: number, ts: number): void {
    const k = this.size++;
    if (k >= this.age.length) { this.next = grow32(this.next, k + 1); this.age = grow64(this.age, k + 1); this.ts = grow64(this.ts, k + 1); }
    this.age[k] = age;
    this.ts[k] = ts;
    this.next[k] = this.head[id]!;
    this.head[id] = k;
    this.count[id]!++;
  }

  /** Calls emit(person, birth_from, birth_to, samples, support) per person, in insertion order. */
  infer(emit: (person: string, from: number, to: number, samples: number, support: number) => void): void {
    const s = new BirthdayScratch();
    for (let id = 0; id < this.persons.length; id++) {
      const n = this.count[id]!;
      s.ensure(n);
      let i = 0;
      for (let k = this.head[id]!; k >= 0; k = this.next[k]!) { s.age[i] = this.age[k]!; s.ts[i] = this.ts[k]!; i++; }
      if (!inferBirthdayInto(s, n)) continue;
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
