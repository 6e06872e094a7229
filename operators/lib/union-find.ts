/**
 * Union-find over string identifiers on typed arrays: ids are interned to dense ints, parents live
 * in an Int32Array (union by size, path halving), so unions cost a few array accesses instead of
 * graph objects. components() labels every id with the smallest id (JS string order, i.e. UTF-16
 * code units) of its component — the person id equiv-components publishes.
 */

export class UnionFind {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private parent = new Int32Array(1024);
  private size = new Int32Array(1024);

  get count(): number {
    return this.names.length;
  }

  /** Interns `id` (a singleton component if new) and returns its int. */
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.names.length;
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
    }
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
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }

  /** Calls fn(id, smallest id of its component, component size) for every id, in interning order. */
  forEachComponentMin(fn: (id: string, min: string, size: number) => void): void {
    const n = this.names.length;
    const minOf = new Array<string | undefined>(n);
    for (let i = 0; i < n; i++) {
      const r = this.find(i);
      const s = this.names[i]!;
      const cur = minOf[r];
      if (cur === undefined || s < cur) minOf[r] = s;
    }
    for (let i = 0; i < n; i++) {
      const r = this.find(i);
      fn(this.names[i]!, minOf[r]!, this.size[r]!);
    }
  }

  has(s: string): boolean {
    return this.index.has(s);
  }
}
