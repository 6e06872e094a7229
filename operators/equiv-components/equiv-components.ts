/**
 * equiv-components: connected components of the equiv graph. Every identifier appearing in an edge
 * (self-loops included) is mapped to its component's smallest identifier (JS string order):
 * output `id: string, person: string`, one row per identifier.
 *
 * Algorithm (hash-to-min with local union-find; state = an edge set of (node, min) pairs):
 *  - 'local' ('partition'): union-find over the partition's edges, then each node x emits the star
 *    edge (x, min of its local component) (x ≠ min; singletons emit their self-loop). Each edge goes to bucket(x) and bucket(min), so a node's
 *    bucket always holds every edge incident to it.
 *  - 'propagate' ('bucket', iterative): union-find over the bucket's edges; emit the
 *    star edge of every node seen, but a received one of a node the bucket does not own (its
 *    owner emits it: version 3). `changed` counts emitted edges the bucket did not receive; the
 *    engine repeats rounds while Σchanged > 0. Version 4: a round also broadcasts (blob 'dirty')
 *    the stars of its components that got a changed star, and the next round joins every
 *    bucket's into its union-find without recording them (broadcastCaps; docs/operators.md). At the fixpoint (no bucket emits a new edge) the
 *    global minimum g of each component is adjacent to every node of the component (proof in
 *    docs/operators.md), so min(N[x]) = g for every x.
 *  - 'emit' ('bucket'): each node owned by the bucket → min over its closed neighbourhood. Fails with
 *    TASK_FAILED if the last round still changed edges (maxRounds reached).
 * Rounds: each propagate instance puts blob 'state' = [round, changed]; emit reports `rounds`.
 * Representation (version 2): ids are never JS strings between the input and the output. 'local'
 * reads the ids' UTF-8 bytes straight from the Parquet files' pages when it can
 * (storage/parquet/string-column.ts: REQUIRED, PLAIN or dictionary; else rows) and runs union-find
 * on them in the JS kernel (lib/byte-components.ts) or, with param kernel: 'wasm', in the
 * WebAssembly one (lib/wasm-components.ts; ids that are not UTF-8 and row input stay on JS);
 * propagate and emit intern the bytes of their bucket's edge chunks, any size, in the same kernel
 * (ids compared in JS string order on the bytes); with kernel: 'wasm' the star edges are packed
 * and emit's owned ids sorted and laid out as output columns there too. The edge set travels
 * between stages as packed byte chunks (edge-chunks.ts: one shuffle row per ~256 KiB of edges).
 * A node's bucket is its byte hash mod B. No id becomes a JS string on the wasm path (the JS one
 * decodes emit's names to sort them). Ids are compared as UTF-8: an id
 * that is not well-formed (lone surrogates, invalid UTF-8 bytes) is taken as its U+FFFD-replaced
 * form, as a Parquet round trip would make it anyway.
 * Memory per instance: its partition's or bucket's edges (and, in 'local', its files' id pages).
 */
import { DagctlError } from '../../core/errors.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { pageUtf8 } from '../../storage/parquet/utf8.js';
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';
import type { InputHandle, OperatorDef, StageContext, StageResult } from '../types.js';
import type { ColumnBatch, ColumnValues } from '../../storage/types.js';
import { addPageEdges, ByteEdgeComponents } from './byte-components.js';
import { WasmEdgeComponents } from './wasm-components.js';
import type { ByteIds } from './byte-ids.js';
import { CHUNK_BYTES, EDGE_CHUNK_SCHEMA, EdgeChunkWriter, readEdgeChunk } from './edge-chunks.js';
import { ChunkedWriter } from '../lib/rows.js';
import { equivComponentsDescriptor, type EquivParams } from './descriptor.js';
export type { EquivParams };

/**
 * Expected edges of an input, to size lib/byte-components.ts (its partition count follows it):
 * the row count, or when that is unknown (master datasets: their file entries carry rows −1, so
 * `rows` is 0) bytes / 16, an over-estimate for Parquet equiv edges that only costs presizing.
 */
function edgeHint(input: InputHandle): number {
  return input.rows > 0 ? input.rows : Math.min(1 << 22, Math.max(1024, Math.floor(input.bytes / 16)));
}

/**
 * Expected edges of a bucket of edge chunks: its rows are chunks, not edges; an edge is two
 * (4-byte length + id) records, so bytes / 24 over-estimates for ids of 8+ bytes. Under-sizing
 * cost more (growing the tables and pools of every instance, and their garbage) than presizing.
 */
function chunkEdgeHint(input: InputHandle): number {
  return Math.min(1 << 22, Math.max(1024, Math.floor(input.bytes / 24)));
}

/**
 * What a round's buckets broadcast to the next round (blob 'dirty', one edge chunk a bucket): the
 * stars of its components that got a changed star. Every bucket of the next round reads all of
 * them (B blobs, stored base64 in the commit markers) and joins them into its union-find before
 * labelling (never recorded, never emitted for ids only they bring), so a new minimum reaches
 * buckets a round early (at 10M pageviews: 3 rounds instead of 4). Any subset is correct — each is
 * an edge of a true component —, so a bucket with more sends the first ones in id order (the same
 * on a retry) that fit both caps: BROADCAST_BYTES / B bytes (at least BROADCAST_MIN_BYTES: 4 MiB a
 * round in all up to B = 256, so each instance reads at most that) and BROADCAST_TOTAL / B edges
 * (at least 256). With one bucket nothing is sent: its own edges already hold every star.
 */
const BROADCAST_TOTAL = 32768;
const BROADCAST_BYTES = 4 * 2 ** 20;
const BROADCAST_MIN_BYTES = 16 * 2 ** 10;
/** The broadcast caps of one bucket of B (see BROADCAST_BYTES); null when B = 1 (no broadcast). */
export function broadcastCaps(buckets: number): { edges: number; bytes: number } | null {
  if (buckets <= 1) return null;
  return { edges: Math.max(256, Math.ceil(BROADCAST_TOTAL / buckets)), bytes: Math.max(BROADCAST_MIN_BYTES, Math.floor(BROADCAST_BYTES / buckets)) };
}

/** The bucket that owns id i: its byte hash (the same in every instance and round) mod B. Not
 * core/hash.ts bucketOf, which hashes a JS string: only this operator's own stages use it. */
function ownerOf(ids: ByteIds, i: number, buckets: number): number {
  return (ids.hashOf(i) >>> 0) % buckets;
}

/**
 * Emits (x, min) for every node of `uf` to bucket(x) and bucket(min), except a received edge of a
 * node x that bucket `self` does not own (x's owner emits x's star); returns `changed`, how many
 * of its edges the bucket did not receive (`received[x]` = 1 when (x, min of x) was among them;
 * null: 'local', nothing received), and `skipped`, the received edges left to their owners.
 */
/** What emitStars reads of a components result (either kernel's). */
interface Components {
  readonly ids: ByteIds;
  componentSize(i: number): number;
}

async function emitStars(uf: Components, mins: Int32Array, w: EdgeChunkWriter, buckets: number, received: Uint8Array | null, self = -1): Promise<{ changed: number; skipped: number }> {
  let changed = 0, skipped = 0;
  const ids = uf.ids;
  for (let x = 0; x < mins.length; x++) {
    const m = mins[x]!;
    // Star edges (x, min) for x ≠ min; a self-loop (x, x) only for a singleton component, so that
    // isolated ids survive — a bucket that is not x's owner never needs to emit (x, x), and
    // emitting it there would count as a change forever (x's self-loop only goes to bucket(x)).
    if (x === m && uf.componentSize(x) !== 1) continue;
    const bx = ownerOf(ids, x, buckets);
    if (received !== null && received[x] === 0) changed++;
    else if (received !== null && bx !== self) {
      // (x, m) was received and x is not ours: the edge came here because m is ours, and x's
      // owner received it too and emits x's star itself — the same edge to the same two buckets,
      // or (x, m') and (m, m') for a smaller m' it knows of (m is in its edge set), which keep x
      // and m connected. A duplicate less in the next round (docs/operators.md).
      skipped++;
      continue;
    }
    const bm = ownerOf(ids, m, buckets);
    if (w.push(bx, ids, x, m)) await w.drain();
    if (bm !== bx && w.push(bm, ids, x, m)) await w.drain();
  }
  return { changed, skipped };
}

/**
 * Per node x: 1 when the edge (x, mins[x]) — the star edge x will emit — is among the received
 * `edges` (a, b, a, b, …). One sequential pass over the edge list and a byte per node: a hash set
 * of the received pairs (lib/int-pair-set.ts) cost a cache miss per edge to build and one per node
 * to probe. Duplicate received edges need no dedupe: a union of joined nodes is a no-op.
 */
function receivedStars(edges: Int32Array, mins: Int32Array): Uint8Array {
  const got = new Uint8Array(mins.length);
  for (let k = 0; k < edges.length; k += 2) {
    const a = edges[k]!;
    if (mins[a] === edges[k + 1]) got[a] = 1;
  }
  return got;
}

/**
 * The input's id columns as Parquet pages, per row group (storage/parquet/string-column.ts, PLAIN
 * or dictionary-encoded: no JS string per id), or null when the input has no raw files or a file's
 * id columns cannot be read as pages (nullable, missing, other encodings or codecs) or hold an id
 * that is not UTF-8: the caller then reads rows (whose decoder fails on it, naming it). Every file is checked before any edge is added, so a fallback starts from
 * nothing. Holds the partition's decompressed id pages.
 */
async function edgePages(input: InputHandle, id1: string, id2: string): Promise<Array<[ByteArrayPage[], ByteArrayPage[]]> | null> {
  const files = input.rawFiles?.();
  if (files === undefined || files.length === 0) return null;
  const cols: Array<[ByteArrayPage[], ByteArrayPage[]]> = [];
  for (const f of files) {
    const bytes = await f.read();
    const cf = openColumnFile(bytes);
    for (let rg = 0; rg < cf.rowGroups.length; rg++) {
      const a = cf.byteArrayPages(rg, id1), b = cf.byteArrayPages(rg, id2);
      // An id that is not UTF-8: the row decoder reports it (PARQUET_INVALID_UTF8, file/column/row).
      if (a === null || b === null || !a.every(pageUtf8) || !b.every(pageUtf8)) return null;
      cols.push([a, b]);
    }
  }
  return cols;
}

/**
 * The WebAssembly kernel over the pages, or null (released, nothing kept) when an id is not valid
 * UTF-8: the JS kernel then takes the pages (it canonicalizes such ids as the row decoder would).
 */
function wasmFromPages(cols: Array<[ByteArrayPage[], ByteArrayPage[]]>, hint: number): { uf: WasmEdgeComponents; edges: number; invalid: number } | null {
  // Ids: ~1.28 per equiv edge at 1M pageviews (the kernel's id arrays are presized to the estimate).
  const uf = new WasmEdgeComponents(hint, { ids: Math.ceil(1.5 * hint) });
  let edges = 0, invalid = 0;
  try {
    for (const [pa, pb] of cols) {
      const c = uf.addPages(pa, pb);
      if (c === null) {
        uf.release();
        return null;
      }
      edges += c.edges;
      invalid += c.invalid;
    }
  } catch (e) {
    uf.release();
    throw e;
  }
  uf.finish();
  return { uf, edges, invalid };
}

/** What the chunk stages read of the JS kernel: ids, components, every edge's int pair. */
interface ChunkComponents extends Components {
  readonly count: number;
  componentMins(): Int32Array;
  edgeList(): Int32Array;
}

/**
 * A stage reading packed edge chunks (propagate, emit), every edge's int pair recorded: on the
 * WebAssembly kernel (kernel: 'wasm', whatever the bucket's size: it interns in flushes of
 * bounded size, lib/wasm-components.ts) or the JS one (`join` false interns only: emit; the
 * WebAssembly kernel unions anyway, which emit does not read). The caller releases a
 * WebAssembly result (`release`) once done with it.
 */
async function chunkComponents(input: InputHandle, join: boolean, kernel: EquivParams['kernel'], broadcast: readonly Uint8Array[] = []): Promise<{ wasm: WasmEdgeComponents; js: null } | { wasm: null; js: ByteEdgeComponents }> {
  if (kernel === 'wasm') {
    let uf: WasmEdgeComponents | null = null;
    try {
      for await (const batch of input.batches()) {
        for (const row of batch) {
          uf ??= new WasmEdgeComponents(...sampledEdgeHint(input, row.edges, broadcast));
          uf.addChunk(row.edges);
        }
      }
      uf ??= new WasmEdgeComponents(1024, { record: true });
      if (broadcast.length > 0) uf.addBroadcast(broadcast);
      uf.finish();
    } catch (e) {
      uf?.release();
      throw e;
    }
    return { wasm: uf, js: null };
  }
  const uf = new ByteEdgeComponents(chunkEdgeHint(input), join ? null : () => false, { record: true });
  for await (const batch of input.batches()) {
    for (const row of batch) readEdgeChunk(row.edges, (buf, ao, al, bo, bl) => uf.add(buf, ao, al, buf, bo, bl));
  }
  uf.finish();
  return { wasm: null, js: uf };
}

/**
 * The WebAssembly kernel's presize for a bucket of edge chunks, from its first chunk: its edges per
 * byte times the bucket's bytes (every chunk holds star edges of the same ids), per add the edges
 * of a full chunk (CHUNK_BYTES and one edge) at that density with a quarter to spare, ids for the
 * tables 1.5 × the edges, byte pools for the chunk's mean id length, and scratch
 * for the bucket's and the broadcast's bytes. chunkEdgeHint (bytes / 24) presized for 8-byte ids:
 * ~2× the pipeline's edges, and presized memory stays resident with the thread's kernel
 * (docs/operators.md). A chunk that is not bytes or is truncated is left to addChunk to report.
 */
function sampledEdgeHint(input: InputHandle, first: unknown, broadcast: readonly Uint8Array[]): [number, { record: true; perAdd?: number; inputBytes?: number; ids?: number; idBytes?: number }] {
  if (!(first instanceof Uint8Array) || first.length === 0) return [chunkEdgeHint(input), { record: true }];
  let n: number;
  try {
    n = readEdgeChunk(first, () => undefined);
  } catch {
    return [chunkEdgeHint(input), { record: true }];
  }
  const bytes = Math.max(input.bytes, first.length), perByte = n / first.length;
  // Scratch holds the chunks, the broadcast's and 16-byte alignment per chunk (4 KiB of slack).
  const scratch = bytes + broadcast.reduce((k, b) => k + b.length, 0) + 4096;
  const perAdd = Math.ceil(1.25 * perByte * Math.max(first.length, CHUNK_BYTES + 1024));
  const edges = Math.min(1 << 22, Math.max(1024, Math.ceil(perByte * bytes)));
  // Ids per star edge: ~1.05 in the first round, ~1.45 later (the minima are ids too), so the
  // tables are presized for 1.5 × edges: presized for the edges, a 10M bucket's tables all
  // doubled past 3/4 full (the old tables left behind: +8 MiB of its ~108).
  // An edge is two [u32 length][bytes] records: the ids' mean length sizes the kernel's byte pools
  // (at 16 bytes a 10M bucket's pools all regrew: ~12 MiB of old pools left behind).
  const idBytes = (first.length / n - 8) / 2;
  return [edges, { record: true, perAdd, inputBytes: scratch, ids: Math.ceil(1.5 * edges), idBytes }];
}

export const equivComponents: OperatorDef<EquivParams> = {
  ...equivComponentsDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const B = ctx.buckets;
    // Phase times (metrics ms.*): reading + interning + union-find, then emitting; the rest of an
    // instance's duration is the runner's (opening inputs, committing files).
    const t0 = performance.now();
    if (ctx.stage.name === 'local') {
      const input = ctx.inputs[0]!;
      const cols = await edgePages(input, p.id1, p.id2);
      const fast = cols !== null && p.kernel === 'wasm' ? wasmFromPages(cols, edgeHint(input)) : null;
      let uf: ByteEdgeComponents | WasmEdgeComponents;
      const counts = { edges: 0, invalid: 0 };
      if (fast !== null) {
        uf = fast.uf;
        counts.edges = fast.edges;
        counts.invalid = fast.invalid;
      } else if (cols !== null) {
        const js = (uf = new ByteEdgeComponents(edgeHint(input)));
        for (const [pa, pb] of cols) {
          const c = addPageEdges(js, pa, pb);
          counts.edges += c.edges;
          counts.invalid += c.invalid;
        }
        js.finish();
      } else {
        const js = (uf = new ByteEdgeComponents(edgeHint(input)));
        for await (const batch of input.batches({ columns: [p.id1, p.id2] })) {
          for (const row of batch) {
            const a = row[p.id1], b = row[p.id2];
            if (typeof a !== 'string' || typeof b !== 'string' || a === '' || b === '') { counts.invalid++; continue; }
            js.addStrings(a, b);
            counts.edges++;
          }
        }
        js.finish();
      }
      const fromPages = cols === null ? 0 : 1, wasm = fast === null ? 0 : 1, nodes = uf.count;
      const t1 = performance.now();
      const sw = ctx.shuffle.open(EDGE_CHUNK_SCHEMA);
      if (fast !== null) {
        try {
          await fast.uf.emitStars(B, -1, false, CHUNK_BYTES, (b, chunk) => sw.write(b, [{ edges: chunk }]));
        } finally {
          fast.uf.release();
        }
      } else {
        const w = new EdgeChunkWriter(sw);
        await emitStars(uf, uf.componentMins(), w, B, null);
        await w.flush();
      }
      return { metrics: { edges: counts.edges, invalid: counts.invalid, nodes, fromPages, wasm, 'ms.read': t1 - t0, 'ms.write': performance.now() - t1 } };
    }
    if (ctx.stage.name === 'propagate') {
      // The previous round's broadcast stars (every bucket's, see BROADCAST_BYTES): joins only.
      const broadcast = ctx.prior!.blobs('dirty');
      const c = await chunkComponents(ctx.prior!.bucket(ctx.bucket), true, p.kernel, broadcast);
      let edgesIn: number, t1: number, changed: number, skipped: number, wasmMiB = 0, broadcastOut = 0, nodes: number;
      const sw = ctx.shuffle.open(EDGE_CHUNK_SCHEMA);
      if (c.wasm !== null) {
        try {
          edgesIn = c.wasm.edgeCount();
          nodes = c.wasm.count;
          t1 = performance.now();
          ({ changed, skipped } = await c.wasm.emitStars(B, ctx.bucket, true, CHUNK_BYTES, (b, chunk) => sw.write(b, [{ edges: chunk }])));
          const caps = broadcastCaps(B);
          const dirty = changed > 0 && caps !== null ? c.wasm.dirtyChunk(caps.edges, caps.bytes) : null;
          if (dirty !== null) {
            ctx.putBlob('dirty', dirty);
            broadcastOut = dirty.length;
          }
          wasmMiB = c.wasm.touchedBytes() / 2 ** 20;
        } finally {
          c.wasm.release();
        }
      } else {
        const uf = c.js;
        const mins = uf.componentMins();
        edgesIn = uf.edgeList().length / 2;
        nodes = uf.count;
        const received = receivedStars(uf.edgeList(), mins);
        t1 = performance.now();
        const w = new EdgeChunkWriter(sw);
        ({ changed, skipped } = await emitStars(uf, mins, w, B, received, ctx.bucket));
        await w.flush();
      }
      const wasm = c.wasm === null ? 0 : 1;
      const state = new Uint8Array(8);
      new DataView(state.buffer).setUint32(0, ctx.round, true);
      new DataView(state.buffer).setUint32(4, changed, true);
      ctx.putBlob('state', state);
      const broadcastIn = c.wasm === null ? 0 : broadcast.reduce((n, b) => n + b.length, 0);
      return { metrics: { changed, edgesIn, nodes, skipped, wasmChunks: wasm, wasmMiB, broadcastIn, broadcastOut, 'ms.read': t1 - t0, 'ms.write': performance.now() - t1 }, inputRows: edgesIn };
    }
    // emit
    let rounds = 0, changed = 0;
    for (const blob of ctx.prior!.blobs('state')) {
      const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
      rounds = Math.max(rounds, v.getUint32(0, true));
      changed += v.getUint32(4, true);
    }
    if (changed > 0) throw new DagctlError('TASK_FAILED', `equiv-components did not converge in ${rounds} rounds`, { rounds, changed });
    const c = await chunkComponents(ctx.prior!.bucket(ctx.bucket), false, p.kernel);
    if (c.js !== null) return await emitOwned(ctx, c.js, B, rounds, t0);
    try {
      return await emitOwned(ctx, c.wasm, B, rounds, t0);
    } finally {
      c.wasm.release();
    }
  },
};

/** Marks an id whose bytes ownedColumns still has to place. */
const TO_PLACE = -2;

/** The owned ids' bytes into `data` from 0 in row order (at[id] = where); returns the end. */
function placeOwned(ids: ByteIds, owned: ArrayLike<number>, at: Int32Array, data: Uint8Array): number {
  let used = 0;
  for (let k = 0; k < owned.length; k++) {
    const id = owned[k]!;
    at[id] = used;
    used = ids.copyBytes(id, data, used);
  }
  return used;
}

/** Then each best not placed yet (not owned), once, in the order of first use. */
function placeBests(ids: ByteIds, owned: ArrayLike<number>, best: Int32Array, at: Int32Array, data: Uint8Array, used: number): void {
  for (let k = 0; k < owned.length; k++) {
    const y = best[owned[k]!]!;
    if (at[y] !== TO_PLACE) continue;
    at[y] = used;
    used = ids.copyBytes(y, data, used);
  }
}

/**
 * emit's output rows (id, person) for the sorted owned ids as columns (storage/types.ts
 * ColumnBatch): each id's UTF-8 bytes copied once into one buffer — the owned ids first, in row
 * order, so any range of rows of the id column is a contiguous range of the buffer (the flat
 * writer's PLAIN page kernel takes ranges of at most 8 MiB), then the bests not owned —, both
 * columns byte ranges into it, with the interned ints as the writer's dictionary ids (equal ints
 * exactly for equal ids). The flat writer writes the same file as from the rows, without a JS
 * string per person or a UTF-8 encode per value. The WebAssembly kernel's ownedColumns lays out
 * the same buffer.
 */
function ownedColumns(ids: ByteIds, owned: ArrayLike<number>, best: Int32Array): ColumnBatch {
  const n = owned.length, at = new Int32Array(best.length).fill(-1);
  let size = 0;
  for (let k = 0; k < n; k++) {
    const id = owned[k]!;
    at[id] = TO_PLACE;
    at[best[id]!] = TO_PLACE;
  }
  for (let i = 0; i < at.length; i++) if (at[i] === TO_PLACE) size += ids.byteLength(i);
  const data = new Uint8Array(size);
  placeBests(ids, owned, best, at, data, placeOwned(ids, owned, at, data));
  const col = (of: (k: number) => number): ColumnValues => {
    const start = new Int32Array(n), len = new Int32Array(n), dict = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = of(k);
      start[k] = at[i]!;
      len[k] = ids.byteLength(i);
      dict[k] = i;
    }
    return { type: 'string', data, start, len, ids: dict };
  };
  return { rows: n, columns: { id: col((k) => owned[k]!), person: col((k) => best[owned[k]!]!) } };
}

/** emit's work once its bucket's edges are interned: owned ids → min over the closed neighbourhood
 * (on the WebAssembly kernel: native/components.c ownedBest; on the JS one here). */
async function emitOwned(ctx: StageContext<EquivParams>, uf: ChunkComponents | WasmEdgeComponents, B: number, rounds: number, t0: number): Promise<StageResult> {
  const t1 = performance.now();
  const ids = uf.ids;
  let owned: ArrayLike<number>, best: Int32Array, edgesIn: number;
  const names: string[] = [];
  let wasmMiB = 0;
  if (uf instanceof WasmEdgeComponents) {
    ({ owned, best } = uf.ownedBest(B, ctx.bucket));
    edgesIn = uf.edgeCount();
    wasmMiB = uf.touchedBytes() / 2 ** 20;
  } else {
    // best[x] = min over x's closed neighbourhood, for the ids this bucket owns (−1: not owned).
    const n = uf.count;
    best = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) if (ownerOf(ids, i, B) === ctx.bucket) best[i] = i;
    const e = uf.edgeList();
    edgesIn = e.length / 2;
    for (let k = 0; k < e.length; k += 2) {
      const a = e[k]!, b = e[k + 1]!;
      const ca = best[a]!;
      if (ca !== -1 && ids.less(b, ca)) best[a] = b;
      const cb = best[b]!;
      if (cb !== -1 && ids.less(a, cb)) best[b] = a;
    }
    const list: number[] = [];
    for (let i = 0; i < n; i++) if (best[i] !== -1) list.push(i);
    // Sorted by the decoded names (needed for the output anyway; ids are distinct, so no ties):
    // V8's string compare beat ids.less on the bytes by ~40% here.
    for (const id of list) names[id] = ids.name(id);
    list.sort((x, y) => (names[x]! < names[y]! ? -1 : 1));
    owned = list;
  }
  if (owned.length > 0) {
    const out = ctx.outputs[0]!.open([{ name: 'id', type: 'string' }, { name: 'person', type: 'string' }]);
    if (out.writeColumns !== undefined) {
      let cols: ColumnBatch;
      if (uf instanceof WasmEdgeComponents) {
        const c = uf.ownedColumns();
        cols = { rows: owned.length, columns: { id: { type: 'string', data: c.data, ...c.id }, person: { type: 'string', data: c.data, ...c.person } } };
      } else cols = ownedColumns(ids, owned, best);
      await out.writeColumns(cols);
    }
    else {
      const w = new ChunkedWriter(out);
      for (let k = 0; k < owned.length; k++) {
        const id = owned[k]!;
        if (w.push({ id: names[id] ?? ids.name(id), person: ids.name(best[id]!) })) await w.flush();
      }
      await w.flush();
    }
  }
  let components = 0;
  for (let k = 0; k < owned.length; k++) if (best[owned[k]!] === owned[k]) components++;
  const wasm = uf instanceof WasmEdgeComponents ? 1 : 0;
  return { metrics: { ids: owned.length, components, wasmChunks: wasm, wasmMiB, ...(ctx.bucket === 0 ? { rounds } : {}), 'ms.read': t1 - t0, 'ms.write': performance.now() - t1 }, inputRows: edgesIn };
}
