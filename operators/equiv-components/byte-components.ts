/**
 * Connected components of byte-string edges, the ids kept as their UTF-8 bytes (lib/byte-intern.ts)
 * — edges come straight from Parquet pages or from
 * equiv-components' packed shuffle chunks (lib/edge-chunks.ts), so no JS string is built for an id
 * (only, later, for the names the caller outputs). Edges are staged a pair at a time, interned a
 * flush at a time (every `flushEvery` staged ids and on finish()), and each flushed edge's int
 * pair goes to an IntUnionFind. Preconditions: add every edge, then finish() once before
 * componentMins/componentSize. `keep(a, b)` (optional) sees every flushed edge as ints and
 * decides whether it is unioned.
 */
import { DagctlError } from '../../core/errors.js';
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';
import { ByteInterner } from '../lib/columnar/byte-intern.js';
import type { WordHash } from '../lib/columnar/word-hash.js';
import { IntUnionFind } from './union-find.js';

const FLUSH_EVERY = 1 << 19;

export class ByteEdgeComponents {
  readonly ids: ByteInterner;
  private readonly uf: IntUnionFind;
  private out: Int32Array;
  private finished = false;
  /** Per flushed edge (when `record`): its endpoints' ints, 2 per edge. */
  private edges: Int32Array | null;
  private nEdges = 0;

  /**
   * `edges`: expected edge count (sizes buffers only); `record`: keep every edge's int pair
   * (edgeList()) for callers that revisit the edges.
   */
  constructor(edges = 1024, private readonly keep: ((a: number, b: number) => boolean) | null = null, opts: { record?: boolean; flushEvery?: number; hash?: WordHash } = {}) {
    this.flushEvery = opts.flushEvery ?? FLUSH_EVERY;
    const staged = Math.min(2 * edges, this.flushEvery);
    this.ids = new ByteInterner(edges, staged, opts.hash);
    this.uf = new IntUnionFind(edges);
    this.out = new Int32Array(2 * Math.max(1, Math.ceil(staged / 2)));
    this.edges = opts.record === true ? new Int32Array(2 * Math.max(16, edges)) : null;
  }

  private readonly flushEvery: number;

  /** Stages the edge (a[ao … ao + al), b[bo … bo + bl)) of UTF-8 ids. */
  add(a: Uint8Array, ao: number, al: number, b: Uint8Array, bo: number, bl: number): void {
    if (this.finished) throw new DagctlError('INTERNAL', 'ByteEdgeComponents.add after finish()');
    this.ids.stage(a, ao, al);
    this.ids.stage(b, bo, bl);
    this.afterStage();
  }

  /** Stages the edge (a, b) of JS strings. */
  addStrings(a: string, b: string): void {
    if (this.finished) throw new DagctlError('INTERNAL', 'ByteEdgeComponents.add after finish()');
    this.ids.stageString(a);
    this.ids.stageString(b);
    this.afterStage();
  }

  private afterStage(): void {
    if (this.ids.pending + 2 > this.out.length) {
      if (this.out.length < this.flushEvery) this.out = new Int32Array(2 * Math.ceil(Math.min(this.flushEvery, 2 * this.out.length) / 2));
      else this.flush();
    }
  }

  finish(): void {
    this.flush();
    this.finished = true;
  }

  private flush(): void {
    const n = this.ids.pending, out = this.out;
    this.ids.flush(out);
    this.uf.ensure(this.ids.size);
    const uf = this.uf, keep = this.keep;
    if (this.edges !== null) {
      if (this.nEdges * 2 + n > this.edges.length) {
        const e = new Int32Array(Math.max(2 * this.edges.length, this.nEdges * 2 + n));
        e.set(this.edges.subarray(0, 2 * this.nEdges));
        this.edges = e;
      }
      this.edges.set(out.subarray(0, n), 2 * this.nEdges);
      this.nEdges += n >> 1;
    }
    for (let e = 0; e < n; e += 2) {
      const a = out[e]!, b = out[e + 1]!;
      if (keep === null || keep(a, b)) uf.union(a, b);
    }
  }

  /** Every added edge as ints (a, b, a, b, …), in add order; only with `record`. */
  edgeList(): Int32Array {
    if (this.edges === null || !this.finished) throw new DagctlError('INTERNAL', 'ByteEdgeComponents.edgeList needs record and finish()');
    return this.edges.subarray(0, 2 * this.nEdges);
  }

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
    if (!this.finished) throw new DagctlError('INTERNAL', 'ByteEdgeComponents.componentMins before finish()');
    const ids = this.ids;
    return this.uf.componentMins((i, j) => ids.less(i, j));
  }
}

/**
 * Adds the edges (a[r], b[r]) of two columns' pages of one row group (storage/parquet/
 * string-column.ts) to `uf`; an edge with an empty id is counted as invalid, not added. The two
 * columns' pages need not break at the same rows: they are walked with two cursors.
 */
export function addPageEdges(uf: ByteEdgeComponents, pa: ByteArrayPage[], pb: ByteArrayPage[]): { edges: number; invalid: number } {
  let edges = 0, invalid = 0;
  let ia = 0, ib = 0, ka = 0, kb = 0;
  for (;;) {
    while (ia < pa.length && ka === pa[ia]!.count) { ia++; ka = 0; }
    while (ib < pb.length && kb === pb[ib]!.count) { ib++; kb = 0; }
    const A = pa[ia], B = pb[ib];
    if (A === undefined || B === undefined) {
      if (A !== undefined || B !== undefined) throw new DagctlError('PARQUET_INVALID', 'edge columns differ in length');
      break;
    }
    const n = Math.min(A.count - ka, B.count - kb);
    const as = A.start, al = A.len, bs = B.start, bl = B.len, ad = A.data, bd = B.data;
    for (let k = 0; k < n; k++) {
      const la = al[ka + k]!, lb = bl[kb + k]!;
      if (la === 0 || lb === 0) { invalid++; continue; }
      uf.add(ad, as[ka + k]!, la, bd, bs[kb + k]!, lb);
      edges++;
    }
    ka += n;
    kb += n;
  }
  return { edges, invalid };
}
