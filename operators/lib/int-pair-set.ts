/**
 * A set of (int, int) pairs (both in 0..2^31) on one open-addressing Int32Array table (linear
 * probing, load ≤ 1/2, doubling): equiv-components dedupes received edges and checks emitted ones
 * by interned node ids, instead of building an `a + '\0' + b` string per edge for a Set<string>.
 */
export class IntPairSet {
  private table: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.table = new Int32Array(n * 2).fill(-1);
    this.mask = n - 1;
  }

  private static slot(a: number, b: number, mask: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (b >>> 15), 0x85ebca6b);
    h ^= h >>> 13;
    return h & mask;
  }

  /** Adds (a, b); returns false when it was already present. */
  add(a: number, b: number): boolean {
    const t = this.table;
    let i = IntPairSet.slot(a, b, this.mask);
    for (;;) {
      const k = t[2 * i]!;
      if (k === -1) break;
      if (k === a && t[2 * i + 1] === b) return false;
      i = (i + 1) & this.mask;
    }
    t[2 * i] = a;
    t[2 * i + 1] = b;
    if (++this.size * 2 > this.mask + 1) this.grow();
    return true;
  }

  has(a: number, b: number): boolean {
    const t = this.table;
    let i = IntPairSet.slot(a, b, this.mask);
    for (;;) {
      const k = t[2 * i]!;
      if (k === -1) return false;
      if (k === a && t[2 * i + 1] === b) return true;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    const n = (this.mask + 1) * 2;
    this.table = new Int32Array(n * 2).fill(-1);
    this.mask = n - 1;
    const t = this.table;
    for (let j = 0; j < old.length; j += 2) {
      const a = old[j]!;
      if (a === -1) continue;
      const b = old[j + 1]!;
      let i = IntPairSet.slot(a, b, this.mask);
      while (t[2 * i] !== -1) i = (i + 1) & this.mask;
      t[2 * i] = a;
      t[2 * i + 1] = b;
    }
  }
}
