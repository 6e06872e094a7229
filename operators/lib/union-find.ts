/**
 * Union-find over string identifiers on typed arrays: ids are interned once to dense ints (a
 * Map<string, number> — V8's string-keyed hash map, which caches each string's hash), parents and
 * sizes live in Int32Arrays (union by size, path halving), so a union costs a few array accesses.
 * Callers that already hold ints (interned via id()) use unionInts and skip the lookup.
 * forEachComponentMin labels every id with the smallest id (JS string order, i.e. UTF-16 code
 * units) of its component — the person id equiv-components publishes.
 */

export class UnionFind {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private parent: Int32Array;
  private size: Int32Array;

  constructor(capacity = 1024) {
    this.parent = new Int32Array(Math.max(16, capacity));
    this.size = new Int32Array(this.parent.length);
  }

  get count(): number {
    return this.names.length;
  }

  /** The string of interned int i. */
  name(i: number): string {
    return this.names[i]!;
  }

  /** Interns `id` (a singleton component if new) and returns its int. */
  id(s: string): number {
    const i = this.index.get(s);
    return i !== undefined ? i : this.add(s);
  }

  private add(s: string): number {
    const i = this.names.length;
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
    this.index.set(s, i);
    this.names.push(s);
    return i;
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
    const n = this.names.length;
    const names = this.names;
    const minOfRoot = new Int32Array(n).fill(-1);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = this.find(i);
      out[i] = r;
      const cur = minOfRoot[r]!;
      if (cur === -1 || names[i]! < names[cur]!) minOfRoot[r] = i;
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
    for (let i = 0; i < mins.length; i++) fn(this.names[i]!, this.names[mins[i]!]!, this.size[this.find(i)]!);
  }

  has(s: string): boolean {
    return this.index.has(s);
  }
}
