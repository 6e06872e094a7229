/**
 * Union-find over string identifiers on typed arrays: ids are interned once to dense ints
 * (lib/intern.ts: an open-addressing table over FNV-1a hashes, about 3× a Map<string, number>
 * on fresh strings — interning was 85% of the per-edge cost; see docs/operators.md), parents and
 * sizes live in Int32Arrays (union by size, path halving), so a union costs a few array accesses.
 * Callers that already hold ints (interned via id()) use unionInts and skip the lookup.
 * forEachComponentMin labels every id with the smallest id (JS string order, i.e. UTF-16 code
 * units) of its component — the person id equiv-components publishes.
 */
import { Interner } from './intern.js';

export class UnionFind {
  private readonly index: Interner;
  private parent: Int32Array;
  private size: Int32Array;

  constructor(capacity = 1024) {
    this.index = new Interner(capacity);
    this.parent = new Int32Array(Math.max(16, capacity));
    this.size = new Int32Array(this.parent.length);
  }

  get count(): number {
    return this.index.size;
  }

  /** The string of interned int i. */
  name(i: number): string {
    return this.index.name(i);
  }

  /** Interns `id` (a singleton component if new) and returns its int. */
  id(s: string): number {
    const n = this.index.size;
    const i = this.index.id(s);
    if (i === n) this.add(i);
    return i;
  }

  /** Makes the new int i (= the previous count) a singleton component. */
  private add(i: number): void {
    if (i === this.parent.length) {
      const p = new Int32Array(i * 2);
      p.set(this.parent);
      this.parent = p;
      const z = new Int32Array(i * 2);
      z.set(this.size);
      this.size = z;
    }
    this.parent[i] = i;
    this.size[i] = 1;
  }

  find(i: number): number {
    const p = this.parent;
    while (p[i]! !== i) {
      const gp = p[p[i]!]!;
      p[i] = gp;
      i = gp;
    }
    return i;
  }

  union(a: string, b: string): void {
    this.unionInts(this.id(a), this.id(b));
  }

  unionInts(a: number, b: number): void {
    let ra = this.find(a), rb = this.find(b);
    if (ra === rb) return;
    const sz = this.size;
    if (sz[ra]! < sz[rb]!) {
      const t = ra;
      ra = rb;
      rb = t;
    }
    this.parent[rb] = ra;
    sz[ra]! += sz[rb]!;
  }

  /**
   * Per interned int: the int of its component's smallest id (string order). One pass to find
   * roots and minima, one to label; ints compare through `names` only when roots collide.
   */
  componentMins(): Int32Array {
    const n = this.index.size;
    const names = this.index;
    const minOfRoot = new Int32Array(n).fill(-1);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = this.find(i);
      out[i] = r;
      const cur = minOfRoot[r]!;
      if (cur === -1 || names.name(i) < names.name(cur)) minOfRoot[r] = i;
    }
    for (let i = 0; i < n; i++) out[i] = minOfRoot[out[i]!]!;
    return out;
  }

  /** Size of the component of int i. */
  componentSize(i: number): number {
    return this.size[this.find(i)]!;
  }

  /** Calls fn(id, smallest id of its component, component size) for every id, in interning order. */
  forEachComponentMin(fn: (id: string, min: string, size: number) => void): void {
    const mins = this.componentMins();
    for (let i = 0; i < mins.length; i++) fn(this.index.name(i), this.index.name(mins[i]!), this.size[this.find(i)]!);
  }

  has(s: string): boolean {
    return this.index.get(s) !== -1;
  }
}
