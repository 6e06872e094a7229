/**
 * Union-find on typed arrays over dense ints 0 … n−1 (parents and sizes in Int32Arrays, union by
 * size, path halving: a union costs a few array accesses); it grows to n on ensure(n), so callers
 * that intern in batches (lib/byte-components.ts) add the new ints after each flush. componentMins
 * labels every int with its component's smallest member under a caller's order — the smallest
 * identifier (JS string order) for equiv-components.
 */

export class IntUnionFind {
  private parent: Int32Array;
  private size: Int32Array;
  private n = 0;

  constructor(capacity = 1024) {
    this.parent = new Int32Array(Math.max(16, capacity));
    this.size = new Int32Array(this.parent.length);
  }

  /** Number of ints (0 … count−1), each in some component. */
  get count(): number {
    return this.n;
  }

  /** Makes ints count … n−1 singleton components. */
  ensure(n: number): void {
    if (n <= this.n) return;
    if (n > this.parent.length) {
      let cap = this.parent.length * 2;
      while (cap < n) cap *= 2;
      const p = new Int32Array(cap);
      p.set(this.parent);
      this.parent = p;
      const z = new Int32Array(cap);
      z.set(this.size);
      this.size = z;
    }
    const p = this.parent, z = this.size;
    for (let i = this.n; i < n; i++) {
      p[i] = i;
      z[i] = 1;
    }
    this.n = n;
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

  union(a: number, b: number): void {
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

  /** Size of the component of int i. */
  componentSize(i: number): number {
    return this.size[this.find(i)]!;
  }

  /**
   * Per int: the component's smallest int under `less`. One pass finds roots and minima (less is
   * called once per int), one labels.
   */
  componentMins(less: (i: number, j: number) => boolean): Int32Array {
    const n = this.n;
    const minOfRoot = new Int32Array(n).fill(-1);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = this.find(i);
      out[i] = r;
      const cur = minOfRoot[r]!;
      if (cur === -1 || less(i, cur)) minOfRoot[r] = i;
    }
    for (let i = 0; i < n; i++) out[i] = minOfRoot[out[i]!]!;
    return out;
  }
}
