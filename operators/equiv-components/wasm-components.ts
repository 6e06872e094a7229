/**
 * Connected components of byte-string edges on the WebAssembly kernel (native/components.c,
 * embedded by scripts/build-wasm.mjs as wasm/components-wasm.ts): what equiv-components' 'local'
 * stage runs on edges read as Parquet pages. The same results as lib/byte-components.ts
 * ByteEdgeComponents (the JS kernel, kept for row input, the packed edge chunks of the later
 * stages — docs/operators.md says why — and as the reference):
 * exact interning of the ids' UTF-8 bytes with the same 32-bit hash (hashOf — ids route to the same
 * bucket whichever kernel read them), union-find, and per id its component's smallest member in JS
 * string order. Why a kernel: the JS path spent ~60% of its time in bounds-checked hash-table
 * probes and staging copies; in C they run 2–3× faster (BENCHMARKS.md, components kernel).
 *
 *   const uf = new WasmEdgeComponents(edgesHint);
 *   for (each row group) if (uf.addPages(id1Pages, id2Pages) === null) → ids not valid UTF-8: release, use the JS kernel
 *   (or, with { record: true }: uf.addChunk(edge chunk) per chunk of a later stage; uf.edgeList())
 *   uf.finish(); const mins = uf.componentMins(); … uf.ids.hashOf(i) / copyBytes / name …
 *   uf.release();   // hands the instance (and its grown memory) to the next user on this thread
 *                   // (kept until an instance of another operator runs here: core/idle-memory.ts)
 *
 * Canonical form: ids must be valid UTF-8 (the JS kernel rewrites invalid bytes as the row decoder
 * would; this one refuses them: addPages returns null having added nothing). Instances are reused
 * per thread (module state): a fresh instance per stage grew its memory page by page and left
 * tens of MB for the garbage collector each time. Preconditions: addPages until finish(), then the
 * readers; nothing after release().
 */
import { isUtf8 } from 'node:buffer';
import { DagctlError } from '../../core/errors.js';
import { registerIdleMemory } from '../../core/idle-memory.js';
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';
import type { ByteIds } from './byte-ids.js';
import { COMPONENTS_WASM_BASE64 } from './wasm/components-wasm.js';

type Fn = (...args: number[]) => number;

interface Kernel {
  memory: WebAssembly.Memory;
  /** The most memory any use has touched (the kernel's used() high-water mark): its resident size. */
  touched: number;
  reset: Fn; init: Fn; finish: Fn; used: Fn; scratch: Fn; stageRanges: Fn; staged: Fn; pairHalves: Fn; flushPairs: Fn; labels: Fn;
  count: Fn; componentSize: Fn; less: Fn; idHash: Fn; idLen: Fn; idOff: Fn; idPart: Fn; poolOf: Fn;
  stageChunk: Fn; recordEdges: Fn; edgeList: Fn; edgeCount: Fn;
  starsBegin: Fn; starsRun: Fn; starsFull: Fn; chunkAt: Fn; chunkLen: Fn; chunkReset: Fn; starsChanged: Fn; starsSkipped: Fn;
  ownedBest: Fn; ownedList: Fn; bestOf: Fn; ownedColumns: Fn; starsUpTo: Fn; dirtyStars: Fn; dirtyList: Fn;
}

const PARTS = 256;
const FUNCS = ['reset', 'init', 'finish', 'used', 'scratch', 'stageRanges', 'staged', 'pairHalves', 'flushPairs', 'labels', 'count', 'componentSize', 'less', 'idHash', 'idLen', 'idOff', 'idPart', 'poolOf', 'stageChunk', 'recordEdges', 'edgeList', 'edgeCount', 'starsBegin', 'starsRun', 'starsFull', 'chunkAt', 'chunkLen', 'chunkReset', 'starsChanged', 'starsSkipped', 'ownedBest', 'ownedList', 'bestOf', 'ownedColumns', 'starsUpTo', 'dirtyStars', 'dirtyList'] as const;

let compiled: WebAssembly.Module | null = null;
/**
 * At most one idle instance per thread, kept for reuse while the memory it has touched (which is
 * never given back) is at most IDLE_MAX_BYTES; a larger one is left to the garbage collector, so a
 * thread does not hold a big partition's memory for the rest of the run. An instance that is not
 * kept costs its next user far more than instantiation: a fresh memory grown to size is reported
 * to V8 as external memory, and that pressure set off a 17 ms mark-compact every few pages
 * (measured: 300k edges at 1.3M edges/s instead of 4.7M when a partition's instance went over).
 * 128 MiB: the propagate/emit buckets of 10M pageviews at B = 8 (~340–470k edges) touch ~100 MiB;
 * under a 64 MiB cap each of them instantiated and faulted in a fresh memory (process CPU 32 → 24 s
 * for normalize-equivs + equiv-components at 10M, 7.7 → 3.2 s of it system time).
 */
let idle: Kernel | null = null;
const IDLE_MAX_BYTES = 128 << 20;
// Kept only while this thread runs equiv-components: an instance of another operator lets it go
// (core/idle-memory.ts), so the kernel's memory does not stay with the thread for the rest of the run.
registerIdleMemory({ operator: 'equiv-components', bytes: () => idle?.memory.buffer.byteLength ?? 0, drop: () => void (idle = null) });
/** Tables are presized for at most this many ids (they grow past it): a hint from file sizes can
 * be far too high, and presized memory is never given back while the instance lives. */
const PRESIZE_MAX = 1 << 19;
/** Ids staged before they are interned: a flush must bring many ids per table partition, so that
 * each partition's table is read into cache once for many lookups (as lib/byte-components.ts).
 * 256k, not the JS kernel's 512k: staging, scratch and flush records scale with it, and at 512k a
 * 300k-edge partition touched 73 MiB (over IDLE_MAX_BYTES: no reuse) against 52 MiB, for 6% more
 * speed (measured 5.0 vs 4.7M edges/s). */
const FLUSH_EVERY = 1 << 18;
/** Scratch bytes (input) staged before a flush regardless of the id count: the kernel's scratch is
 * at most 64 regions (4 MiB each past the first; one add takes one region, or its own when larger),
 * so with long ids (~1 KB) FLUSH_EVERY ids would exhaust them and trap. Under this bound the regions
 * in use are at most 2 + 2 * (64 MiB + 4 MiB) / 4 MiB = 36 (a region left behind plus the add that
 * did not fit hold more than 4 MiB). Ids of ≤ 256 bytes reach FLUSH_EVERY first, as before. */
const FLUSH_BYTES = 64 << 20;

/** Exports returning i32 values that may be negative; every other export returns u32 (pointers,
 * counts, sizes), read `>>> 0` here: past 2 GiB of memory a pointer is not negative. */
const SIGNED: ReadonlySet<string> = new Set(['stageRanges', 'stageChunk', 'less', 'componentSize']);
/** Called per id or edge, reading only (they cannot trap): called as they are, unwrapped. */
const UNWRAPPED: ReadonlySet<string> = new Set(['less', 'componentSize']);

/** An export as JS calls it: a trap (WebAssembly.RuntimeError: a broken precondition or memory
 * that cannot grow past 4 GiB) becomes DagctlError INTERNAL, u32 results unsigned. */
function wrap(name: string, f: Fn): Fn {
  const signed = SIGNED.has(name);
  return (...args: number[]): number => {
    try {
      const r = f(...args);
      return signed ? r : r >>> 0;
    } catch (e) {
      // WebAssembly.RuntimeError (a trap); TypeScript's lib does not declare it.
      if (e instanceof Error && e.constructor.name === 'RuntimeError') {
        throw new DagctlError('INTERNAL', `components kernel: ${name} trapped (${e.message})`, {}, { cause: e });
      }
      throw e;
    }
  };
}

function instantiate(): Kernel {
  compiled ??= new WebAssembly.Module(Buffer.from(COMPONENTS_WASM_BASE64, 'base64'));
  const e = new WebAssembly.Instance(compiled, {}).exports;
  const memory = e.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new DagctlError('INTERNAL', 'components kernel: no memory export');
  const k: Partial<Record<(typeof FUNCS)[number], Fn>> = {};
  for (const name of FUNCS) {
    const f = e[name];
    if (typeof f !== 'function') throw new DagctlError('INTERNAL', `components kernel: no export ${name}`);
    k[name] = UNWRAPPED.has(name) ? (f as Fn) : wrap(name, f as Fn);
  }
  return { memory, touched: 0, ...(k as Record<(typeof FUNCS)[number], Fn>) };
}

class WasmIds implements ByteIds {
  private hash = new Uint32Array(0);
  private len = new Uint32Array(0);
  private off = new Uint32Array(0);
  private part = new Uint32Array(0);
  private pools = new Uint32Array(PARTS);
  private bytes = new Uint8Array(0);
  private readonly names: Array<string | undefined> = [];

  constructor(private readonly owner: WasmEdgeComponents) {}

  get size(): number {
    return this.owner.count;
  }

  /** Set by the owner after any kernel call that adds ids or may grow (detach) the memory. */
  stale = true;

  /** Views over the kernel's per-id arrays, rebuilt when stale (checking the memory's buffer on
   * every read cost more than the reads: the `buffer` getter is not cheap). */
  private sync(): void {
    if (!this.stale) return;
    const k = this.owner.kernel();
    const buf = k.memory.buffer, n = k.count();
    this.hash = new Uint32Array(buf, k.idHash(), n);
    this.len = new Uint32Array(buf, k.idLen(), n);
    this.off = new Uint32Array(buf, k.idOff(), n);
    this.part = new Uint32Array(buf, k.idPart(), n);
    for (let q = 0; q < PARTS; q++) this.pools[q] = k.poolOf(q);
    this.bytes = new Uint8Array(buf);
    this.stale = false;
  }

  hashOf(i: number): number {
    this.sync();
    return this.hash[i]! | 0;
  }

  byteLength(i: number): number {
    this.sync();
    return this.len[i]!;
  }

  copyBytes(i: number, dst: Uint8Array, at: number): number {
    this.sync();
    const src = this.bytes, o = this.pools[this.part[i]!]! + this.off[i]!, n = this.len[i]!;
    // A byte loop, as ByteInterner.copyBytes: ids are short and subarray + set cost more.
    for (let k = 0; k < n; k++) dst[at + k] = src[o + k]!;
    return at + n;
  }

  name(i: number): string {
    const c = this.names[i];
    if (c !== undefined) return c;
    this.sync();
    const o = this.pools[this.part[i]!]! + this.off[i]!;
    const s = Buffer.from(this.bytes.buffer, o, this.len[i]).toString('utf8');
    this.names[i] = s;
    return s;
  }

  less(i: number, j: number): boolean {
    return this.owner.kernel().less(i, j) !== 0;
  }
}

/** One of emit's output columns as byte ranges into a shared buffer, with the ids as dictionary ids. */
export interface OwnedColumn { start: Int32Array; len: Int32Array; ids: Int32Array }

export class WasmEdgeComponents {
  readonly ids: ByteIds;
  private readonly wids: WasmIds;
  private k: Kernel | null;
  private finished = false;
  private mins: Int32Array | null = null;
  private sizes: Int32Array | null = null;
  private readonly flushEvery: number;
  /** Scratch bytes taken since the last flush (see FLUSH_BYTES). */
  private scratchBytes = 0;

  /**
   * `edges`: expected edge count (presizes staging, and the tables unless `ids`, the expected
   * distinct ids, is given; all grow past it: a regrowth leaves the old copy behind). `perAdd`:
   * the most edges one addPages/addChunk brings (default 64k, a row group); `idBytes`: the ids'
   * expected mean length (sizes the byte pools; absent: 16); `inputBytes`: the
   * chunks' bytes in all (sizes the kernel's scratch; absent: 4 MiB regions). `hashMask` (tests) ANDs
   * the hash the tables use, to force collisions; hashOf still reports the full hash.
   * `flushEvery` (tests): staged ids before they are interned.
   */
  constructor(edges = 1024, opts: { hashMask?: number; flushEvery?: number; record?: boolean; perAdd?: number; inputBytes?: number; ids?: number; idBytes?: number } = {}) {
    this.flushEvery = opts.flushEvery ?? FLUSH_EVERY;
    const k = idle ?? instantiate();
    idle = null;
    k.reset();
    const capEdges = Math.max(1024, Math.min(edges, PRESIZE_MAX)), capIds = Math.max(1024, Math.min(opts.ids ?? edges, PRESIZE_MAX));
    // Staged ids: at most two per expected edge, and they peak just under flushEvery plus one
    // add's two columns (perAdd: a row group's rows, ≤ 64k; an edge chunk's edges). Presized to
    // that, not more: presized memory is touched (resident) for the instance's life, and a
    // regrowth leaves the old arrays behind until reset() (docs/operators.md, kernel memory).
    const perAdd = Math.max(1024, opts.perAdd ?? 1 << 16);
    // Scratch holds the input's bytes until a flush: no more than them (0: the kernel's 4 MiB).
    // Recorded edges presized for the expected ones; the ids' byte pools for `idBytes` a id.
    // At most 256 a id presized (the kernel clamps it too; longer ids grow the pools).
    const idBytes = Math.max(0, Math.min(256, Math.ceil(opts.idBytes ?? 0)));
    k.init(capIds, opts.hashMask ?? -1, Math.min(2 * capEdges, this.flushEvery + 2 * perAdd), Math.min(opts.inputBytes ?? 0, 4 << 20), opts.record === true ? capEdges : 0, idBytes);
    k.recordEdges(opts.record === true ? 1 : 0);
    this.k = k;
    this.ids = this.wids = new WasmIds(this);
  }

  /** The live kernel (INTERNAL after release()). */
  kernel(): Kernel {
    if (this.k === null) throw new DagctlError('INTERNAL', 'WasmEdgeComponents used after release()');
    return this.k;
  }

  /**
   * Adds the edges (a[r], b[r]) of one row group's two id columns (storage/parquet/string-column.ts
   * pages; they need not break at the same rows). An edge with an empty id is counted invalid, not
   * added. Returns null, having added nothing, when an id is not valid UTF-8.
   */
  addPages(pa: ByteArrayPage[], pb: ByteArrayPage[]): { edges: number; invalid: number } | null {
    if (this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.addPages after finish()');
    const k = this.kernel();
    this.wids.stale = true;
    let rows = 0, rowsB = 0;
    for (const p of pa) rows += p.count;
    for (const p of pb) rowsB += p.count;
    if (rows !== rowsB) throw new DagctlError('PARQUET_INVALID', 'edge columns differ in length');
    if (rows === 0) return { edges: 0, invalid: 0 };
    // Each distinct byte buffer once (dictionary pages share their dictionary's), then per page
    // its (start, len) arrays — all written before staging, which may grow (detach) the memory.
    const all = [...pa, ...pb];
    const bufs = new Map<Uint8Array, number>(), whole = new Map<Uint8Array, boolean>();
    let bytes = 0;
    for (const p of all) {
      let ok = whole.get(p.data);
      if (ok === undefined) whole.set(p.data, (ok = isUtf8(p.data)));
      if (!ok && !valuesUtf8(p)) return null;
      if (bufs.has(p.data)) continue;
      bufs.set(p.data, bytes);
      bytes += (p.data.length + 3) & ~3;
    }
    this.scratchBytes += bytes + 16 * rows;
    const base = k.scratch(bytes + 16 * rows);
    const mem = new Uint8Array(k.memory.buffer);
    for (const [data, at] of bufs) mem.set(data, base + at);
    const ranges = new Int32Array(k.memory.buffer, base + bytes, 4 * rows);
    const staged: Array<[number, number, number]> = [];
    let r = 0;
    for (const p of all) {
      ranges.set(p.start.subarray(0, p.count), r);
      ranges.set(p.len.subarray(0, p.count), r + p.count);
      staged.push([base + bufs.get(p.data)!, base + bytes + 4 * r, p.count]);
      r += 2 * p.count;
    }
    const first = k.staged();
    for (const [data, at, n] of staged) {
      if (k.stageRanges(data, at, at + 4 * n, n) !== 0) throw new DagctlError('PARQUET_INVALID', 'string page value outside its page');
    }
    const invalid = k.pairHalves(first, rows);
    this.flushIfFull();
    return { edges: rows - invalid, invalid };
  }

  /**
   * Adds the edges of a packed edge chunk (edge-chunks.ts; its ids are UTF-8, as every stage
   * writes them); returns the edge count. A chunk that is not bytes or is truncated is
   * SHUFFLE_INVALID, as readEdgeChunk says.
   */
  addChunk(chunk: unknown): number {
    if (this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.addChunk after finish()');
    if (!(chunk instanceof Uint8Array)) throw new DagctlError('SHUFFLE_INVALID', 'equiv-components edge chunk: not bytes');
    const k = this.kernel();
    this.wids.stale = true;
    this.scratchBytes += chunk.length;
    const at = k.scratch(chunk.length);
    new Uint8Array(k.memory.buffer, at, chunk.length).set(chunk);
    const n = k.stageChunk(at, chunk.length);
    if (n < 0) throw new DagctlError('SHUFFLE_INVALID', 'equiv-components edge chunk: truncated');
    this.flushIfFull();
    return n;
  }

  /**
   * After the last addChunk: adds edge chunks that only join components (equiv-components'
   * broadcast stars of the previous round): they are not recorded (edgeList, `received` and emit
   * never see them) and emitStars emits no star for an id first seen in them. Returns their edge
   * count.
   */
  addBroadcast(chunks: readonly Uint8Array[]): number {
    if (this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.addBroadcast after finish()');
    const k = this.kernel();
    k.flushPairs();
    this.scratchBytes = 0;
    this.wids.stale = true;
    this.ownIds ??= k.count();
    k.recordEdges(0);
    let n = 0;
    for (const c of chunks) n += this.addChunk(c);
    return n;
  }
  /** Ids below this were interned from the instance's own edges (null: no broadcast added). */
  private ownIds: number | null = null;

  /**
   * After emitStars (received: true): the star edges (x, m), m the minimum of a component that got
   * a changed star here, in id order, as one edge chunk (edge-chunks.ts) of at most `max` edges and
   * `maxBytes` bytes (the first ones that fit: a prefix, the same on every retry), or null when
   * there is none or the first does not fit.
   */
  dirtyChunk(max: number, maxBytes = Infinity): Uint8Array | null {
    const k = this.kernel();
    const n = k.dirtyStars(max);
    this.wids.stale = true;
    if (n === 0) return null;
    const all = new Uint32Array(k.memory.buffer, k.dirtyList(), 2 * n);
    let bytes = 0, fit = 0;
    for (; fit < n; fit++) {
      const b = 8 + this.ids.byteLength(all[2 * fit]!) + this.ids.byteLength(all[2 * fit + 1]!);
      if (bytes + b > maxBytes) break;
      bytes += b;
    }
    return fit === 0 ? null : packPairs(this.ids, all.slice(0, 2 * fit));
  }

  /** The recorded edges (record: true) as int pairs (a, b, a, b, …), in the order added; a JS copy. */
  edgeList(): Int32Array {
    if (!this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.edgeList before finish()');
    if (this.edges === null) {
      const k = this.kernel();
      this.edges = new Int32Array(k.memory.buffer, k.edgeList(), 2 * k.edgeCount()).slice();
    }
    return this.edges;
  }
  private edges: Int32Array | null = null;

  /** How many edges were recorded (record: true), without copying them. */
  edgeCount(): number {
    if (!this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.edgeCount before finish()');
    return this.kernel().edgeCount();
  }

  /**
   * equiv-components' star edges, packed by the kernel (native/components.c starsBegin): for every
   * id x with m = componentMins()[x], (x, m) (x ≠ m; (x, x) for a singleton) to bucket(x) = hashOf(x)
   * mod `buckets` and to bucket(m), as edge chunks (edge-chunks.ts) of `chunkBytes` or more, each
   * handed to `write` (a copy) when full, then the rest in bucket order. `received` (propagate;
   * record: true): an edge that was not among the recorded ones counts as `changed`; one that
   * was, of an x not owned by bucket `self`, is skipped (its owner emits it). The same bytes per
   * bucket as EdgeChunkWriter fed by the JS emitStars.
   */
  async emitStars(buckets: number, self: number, received: boolean, chunkBytes: number, write: (bucket: number, chunk: Uint8Array) => Promise<void>): Promise<{ changed: number; skipped: number }> {
    this.componentMins();
    const k = this.kernel();
    this.wids.stale = true;
    k.starsBegin(buckets, self, chunkBytes, received ? 1 : 0);
    if (this.ownIds !== null) k.starsUpTo(this.ownIds);
    const take = async (b: number): Promise<void> => {
      const n = k.chunkLen(b);
      if (n === 0) return;
      const chunk = new Uint8Array(k.memory.buffer, k.chunkAt(b), n).slice();
      k.chunkReset(b);
      await write(b, chunk);
    };
    for (let full = k.starsRun(); full > 0; full = k.starsRun()) {
      const list = new Uint32Array(k.memory.buffer, k.starsFull(), full);
      const bs = Array.from(list);
      for (const b of bs) await take(b);
    }
    for (let b = 0; b < buckets; b++) await take(b);
    return { changed: k.starsChanged(), skipped: k.starsSkipped() };
  }

  /**
   * equiv-components' emit on the kernel (native/components.c ownedBest): the ids owned by bucket
   * `self` (hashOf mod `buckets`), sorted by name (JS string order), and per id the smallest id of
   * its closed neighbourhood over the recorded edges (record: true). JS copies.
   */
  ownedBest(buckets: number, self: number): { owned: Int32Array; best: Int32Array } {
    if (!this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.ownedBest before finish()');
    const k = this.kernel();
    this.wids.stale = true;
    const n = (this.ownedCount = k.ownedBest(buckets, self));
    const owned = new Int32Array(k.memory.buffer, k.ownedList(), n).slice();
    const best = new Int32Array(k.memory.buffer, k.bestOf(), k.count()).slice();
    return { owned, best };
  }

  /**
   * After ownedBest: emit's output columns laid out by the kernel (native/components.c
   * ownedColumns): `data`, the bytes of every owned id and best once each (in id order), and per
   * owned id in sorted order the (start, len, id) of the id and of its best in it. JS copies.
   */
  ownedColumns(): { data: Uint8Array; id: OwnedColumn; person: OwnedColumn } {
    const k = this.kernel();
    this.wids.stale = true;
    const at = k.ownedColumns(), n = this.ownedCount;
    const buf = k.memory.buffer, c = new Uint32Array(buf, at, 8);
    const data = new Uint8Array(buf, c[0], c[1]).slice();
    const arr = (j: number): Int32Array => new Int32Array(buf, c[2 + j], n).slice();
    return { data, id: { start: arr(0), len: arr(1), ids: arr(2) }, person: { start: arr(3), len: arr(4), ids: arr(5) } };
  }
  private ownedCount = 0;

  private flushIfFull(): void {
    const k = this.kernel();
    if (k.staged() < this.flushEvery && this.scratchBytes < FLUSH_BYTES) return;
    k.flushPairs();
    this.scratchBytes = 0;
  }

  finish(): void {
    // The kernel's finish: nothing is staged after it, and interning's memory is reused.
    if (!this.finished) this.kernel().finish();
    this.wids.stale = true;
    this.finished = true;
  }

  get count(): number {
    return this.kernel().count();
  }

  /** Members of i's component (after componentMins: counted once from the labels, not a call
   * into the kernel per node). */
  componentSize(i: number): number {
    if (this.mins === null) return this.kernel().componentSize(i);
    if (this.sizes === null) {
      const m = this.mins, sizes = new Int32Array(m.length);
      for (let x = 0; x < m.length; x++) sizes[m[x]!]!++;
      this.sizes = sizes;
    }
    return this.sizes[this.mins[i]!]!;
  }

  name(i: number): string {
    return this.ids.name(i);
  }

  /** Per int: the int of its component's smallest identifier (JS string order); a JS copy. */
  componentMins(): Int32Array {
    if (!this.finished) throw new DagctlError('INTERNAL', 'WasmEdgeComponents.componentMins before finish()');
    if (this.mins === null) {
      const k = this.kernel();
      const at = k.labels();
      this.wids.stale = true;
      this.mins = new Int32Array(k.memory.buffer, at, k.count()).slice();
    }
    return this.mins;
  }

  /** The memory this use has touched so far (the kernel's allocator high-water mark), bytes. */
  touchedBytes(): number {
    return this.kernel().used();
  }

  /** Hands the instance back for reuse on this thread; this object is dead afterwards. */
  release(): void {
    const k = this.k;
    if (k !== null) k.touched = Math.max(k.touched, k.used());
    if (k !== null && idle === null && k.touched <= IDLE_MAX_BYTES) idle = k;
    this.k = null;
  }
}

/** Int pairs (a, b, a, b, …) of `ids` as one edge chunk: per edge two [u32 LE length][bytes]. */
function packPairs(ids: ByteIds, pairs: Uint32Array): Uint8Array {
  let size = 0;
  for (let k = 0; k < pairs.length; k++) size += 4 + ids.byteLength(pairs[k]!);
  const out = new Uint8Array(size), view = new DataView(out.buffer);
  let at = 0;
  for (let k = 0; k < pairs.length; k++) {
    const i = pairs[k]!;
    view.setUint32(at, ids.byteLength(i), true);
    at = ids.copyBytes(i, out, at + 4);
  }
  return out;
}

/**
 * Whether every value of page p is valid UTF-8, value by value (called only when its whole buffer
 * is not: a PLAIN buffer's 4-byte length prefixes are ASCII only for values under 128 bytes).
 */
function valuesUtf8(p: ByteArrayPage): boolean {
  for (let i = 0; i < p.count; i++) {
    const s = p.start[i]!;
    if (!isUtf8(p.data.subarray(s, s + p.len[i]!))) return false;
  }
  return true;
}
