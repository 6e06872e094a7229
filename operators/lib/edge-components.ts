/**
 * Connected components of string edges, end to end: edges are staged into a RadixInterner
 * (lib/radix-intern.ts: both endpoints hashed and scattered into cache-sized partitions), interned
 * a flush at a time (every `flushEvery` staged strings, and on finish()), and each flushed edge's
 * int pair goes to an IntUnionFind (lib/union-find.ts). Interning one string at a time into one
 * big table was the per-edge cost (a cache miss per probe, another to confirm the match).
 * Preconditions: add() every edge, then finish() once before componentMins/name/componentSize.
 * `keep(a, b)` (optional) sees every flushed edge as ints and decides whether it is unioned
 * (equiv-components' propagate dedupes received edges with it).
 */
import { DagctlError } from '../../core/errors.js';
import { RadixInterner } from './radix-intern.js';
import { IntUnionFind } from './union-find.js';

/** Strings staged per flush at most: bounds the staging memory (~12 bytes + 2 per code unit each). */
const FLUSH_EVERY = 1 << 19;

export class EdgeComponents {
  readonly ids: RadixInterner;
  private readonly uf: IntUnionFind;
  private out: Int32Array;
  private finished = false;

  /** `edges`: expected edge count (sizes buffers only). */
  constructor(edges = 1024, private readonly keep: ((a: number, b: number) => boolean) | null = null, private readonly flushEvery = FLUSH_EVERY) {
    const staged = Math.min(2 * edges, flushEvery);
    this.ids = new RadixInterner(edges, staged);
    this.uf = new IntUnionFind(edges);
    // Even (edges are staged in pairs), sized by the hint, grown up to flushEvery before flushing
    // early: a radix flush pays off over many strings per partition, not over a small hint's worth.
    this.out = new Int32Array(2 * Math.max(1, Math.ceil(staged / 2)));
  }

  /** Stages the edge (a, b); interned and unioned at the next flush. */
  add(a: string, b: string): void {
    if (this.finished) throw new DagctlError('INTERNAL', 'EdgeComponents.add after finish()');
    this.ids.stage(a);
    this.ids.stage(b);
    if (this.ids.pending + 2 > this.out.length) {
      if (this.out.length < this.flushEvery) this.out = new Int32Array(2 * Math.ceil(Math.min(this.flushEvery, 2 * this.out.length) / 2));
      else this.flush();
    }
  }

  /** Interns and unions the staged edges; call once after the last add(). */
  finish(): void {
    this.flush();
    this.finished = true;
  }

  private flush(): void {
    const n = this.ids.pending, out = this.out;
    this.ids.flush(out);
    this.uf.ensure(this.ids.size);
    const uf = this.uf, keep = this.keep;
    // Staged in pairs: out[2e], out[2e + 1] are edge e's endpoints.
    for (let e = 0; e < n; e += 2) {
      const a = out[e]!, b = out[e + 1]!;
      if (keep === null || keep(a, b)) uf.union(a, b);
    }
  }

  /** Number of distinct identifiers. */
  get count(): number {
    return this.ids.size;
  }

  name(i: number): string {
    return this.ids.name(i);
  }

  componentSize(i: number): number {
    return this.uf.componentSize(i);
  }

  /** Per int: the int of its component's smallest identifier (JS string order). */
  componentMins(): Int32Array {
    if (!this.finished) throw new DagctlError('INTERNAL', 'EdgeComponents.componentMins before finish()');
    const ids = this.ids;
    return this.uf.componentMins((i, j) => ids.less(i, j));
  }
}
