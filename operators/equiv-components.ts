/**
 * equiv-components: connected components of the equiv graph. Every identifier appearing in an edge
 * (self-loops included) is mapped to its component's smallest identifier (JS string order):
 * output `id: string, person: string`, one row per identifier.
 *
 * Algorithm (hash-to-min with local union-find; state = an edge set of (node, min) pairs):
 *  - 'local' ('partition'): union-find over the partition's edges, then each node x emits the star
 *    edge (x, min of its local component) (x ≠ min; singletons emit their self-loop). Each edge goes to bucket(x) and bucket(min), so a node's
 *    bucket always holds every edge incident to it.
 *  - 'propagate' ('bucket', iterative): union-find over the bucket's (deduplicated) edges; emit the
 *    star edge of every node seen. `changed` counts emitted edges the bucket did not receive; the
 *    engine repeats rounds while Σchanged > 0. At the fixpoint (no bucket emits a new edge) the
 *    global minimum g of each component is adjacent to every node of the component (proof in
 *    docs/operators.md), so min(N[x]) = g for every x.
 *  - 'emit' ('bucket'): each node owned by the bucket → min over its closed neighbourhood. Fails with
 *    TASK_FAILED if the last round still changed edges (maxRounds reached).
 * Rounds: each propagate instance puts blob 'state' = [round, changed]; emit reports `rounds`.
 * Memory per instance: its partition's or bucket's edges.
 */
import { z } from 'zod';
import { DagctlError } from '../core/errors.js';
import { bucketOf } from '../core/hash.js';
import type { Schema } from '../storage/types.js';
import type { InputHandle, OperatorDef, StageResult, StageSpec } from './types.js';
import { EdgeComponents } from './lib/edge-components.js';
import { IntPairSet } from './lib/int-pair-set.js';
import { BucketedWriter, ChunkedWriter } from './lib/rows.js';
import { BucketsParam } from './lib/params.js';

const EquivParams = z
  .object({
    id1: z.string().default('id1'),
    id2: z.string().default('id2'),
    maxRounds: z.number().int().min(1).max(1000).default(64),
    buckets: BucketsParam,
  })
  .strict();
export type EquivParams = z.infer<typeof EquivParams>;

const EDGE_SCHEMA: Schema = [
  { name: 'a', type: 'string' },
  { name: 'b', type: 'string' },
];

/**
 * Expected edges of an input, to size lib/edge-components.ts (its partition count follows it):
 * the row count, or when that is unknown (master datasets: their file entries carry rows −1, so
 * `rows` is 0) bytes / 16, an over-estimate for Parquet equiv edges that only costs presizing.
 */
function edgeHint(input: InputHandle): number {
  return input.rows > 0 ? input.rows : Math.min(1 << 22, Math.max(1024, Math.floor(input.bytes / 16)));
}

/**
 * Emits (x, min) for every node of `uf` to bucket(x) and bucket(min); returns how many emitted
 * edges are not in `received` (pairs of uf ints).
 */
async function emitStars(uf: EdgeComponents, w: BucketedWriter, buckets: number, received: IntPairSet | null): Promise<number> {
  let changed = 0;
  const mins = uf.componentMins();
  // Bucket of each node, computed once per node (a node appears as x and, often, as min).
  const bucket = new Int32Array(mins.length);
  for (let i = 0; i < mins.length; i++) bucket[i] = bucketOf(uf.name(i), buckets);
  for (let x = 0; x < mins.length; x++) {
    const m = mins[x]!;
    // Star edges (x, min) for x ≠ min; a self-loop (x, x) only for a singleton component, so that
    // isolated ids survive — a bucket that is not x's owner never needs to emit (x, x), and
    // emitting it there would count as a change forever (x's self-loop only goes to bucket(x)).
    if (x === m && uf.componentSize(x) !== 1) continue;
    if (received !== null && !received.has(x, m)) changed++;
    const row = { a: uf.name(x), b: uf.name(m) };
    const bx = bucket[x]!, bm = bucket[m]!;
    if (w.push(bx, row)) await w.drain();
    if (bm !== bx && w.push(bm, row)) await w.drain();
  }
  return changed;
}

export const equivComponents: OperatorDef<EquivParams> = {
  name: 'equiv-components',
  version: '1',
  summary: 'Connected components of equiv edges: every identifier → smallest identifier of its component.',
  params: EquivParams,
  cost: { overheadMs: 200, perUnitMs: 6, driver: 'rows' },
  inputs: { min: 1, max: 1 },
  outputs: { min: 1, max: 1 },
  stages(p): StageSpec[] {
    return [
      { name: 'local', fanout: 'partition' },
      { name: 'propagate', fanout: 'bucket', iterate: { metric: 'changed', maxRounds: p.maxRounds } },
      { name: 'emit', fanout: 'bucket', writesOutputs: true },
    ];
  },
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const B = ctx.buckets;
    if (ctx.stage.name === 'local') {
      const uf = new EdgeComponents(edgeHint(ctx.inputs[0]!));
      let edges = 0, invalid = 0;
      for await (const batch of ctx.inputs[0]!.batches({ columns: [p.id1, p.id2] })) {
        for (const row of batch) {
          const a = row[p.id1], b = row[p.id2];
          if (typeof a !== 'string' || typeof b !== 'string' || a === '' || b === '') { invalid++; continue; }
          uf.add(a, b);
          edges++;
        }
      }
      uf.finish();
      const w = new BucketedWriter(ctx.shuffle.open(EDGE_SCHEMA));
      await emitStars(uf, w, B, null);
      await w.flush();
      return { metrics: { edges, invalid, nodes: uf.count } };
    }
    if (ctx.stage.name === 'propagate') {
      const input = ctx.prior!.bucket(ctx.bucket);
      const received = new IntPairSet(input.rows);
      const uf = new EdgeComponents(edgeHint(input), (a, b) => received.add(a, b));
      for await (const batch of input.batches()) {
        for (const row of batch) uf.add(row.a as string, row.b as string);
      }
      uf.finish();
      const w = new BucketedWriter(ctx.shuffle.open(EDGE_SCHEMA));
      const changed = await emitStars(uf, w, B, received);
      await w.flush();
      const state = new Uint8Array(8);
      new DataView(state.buffer).setUint32(0, ctx.round, true);
      new DataView(state.buffer).setUint32(4, changed, true);
      ctx.putBlob('state', state);
      return { metrics: { changed, edgesIn: received.size } };
    }
    // emit
    let rounds = 0, changed = 0;
    for (const blob of ctx.prior!.blobs('state')) {
      const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
      rounds = Math.max(rounds, v.getUint32(0, true));
      changed += v.getUint32(4, true);
    }
    if (changed > 0) throw new DagctlError('TASK_FAILED', `equiv-components did not converge in ${rounds} rounds`, { rounds, changed });
    const best = new Map<string, string>();
    const consider = (x: string, m: string): void => {
      if (bucketOf(x, B) !== ctx.bucket) return;
      const cur = best.get(x);
      if (cur === undefined || m < cur) best.set(x, m < x ? m : x);
    };
    for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
      for (const row of batch) {
        const a = row.a as string, b = row.b as string;
        consider(a, b);
        consider(b, b);
      }
    }
    if (best.size > 0) {
      const w = new ChunkedWriter(ctx.outputs[0]!.open([{ name: 'id', type: 'string' }, { name: 'person', type: 'string' }]));
      for (const id of [...best.keys()].sort()) if (w.push({ id, person: best.get(id)! })) await w.flush();
      await w.flush();
    }
    let components = 0;
    for (const [id, person] of best) if (id === person) components++;
    return { metrics: { ids: best.size, components, ...(ctx.bucket === 0 ? { rounds } : {}) } };
  },
};
