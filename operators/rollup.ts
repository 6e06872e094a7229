/**
 * rollup: the pageviews-over-time view — pageviews and uniques per (url, granularity, bucket) for
 * granularities h/d/w/m (bucket = ts − ts mod g). Uniques are HyperLogLog estimates
 * (operators/lib/hll.ts); each row keeps its sketch (`hll: bytes`) so coarser buckets and arbitrary
 * ranges merge sketches (mergeRange, re-exported here) instead of rescanning.
 *
 * With `components: true` the task's second input is the equiv-components output (id, person) and
 * uniques count component person ids (the book's user-id normalization):
 *   'map'  ('partition' over pageviews)  → shuffle (url, person, ts) by bucket(person)
 *   'join' ('bucket')  loads the components of its bucket (ids with bucket(id) = b, streamed from
 *          inputs[1] — see "Contract gaps" in docs/operators.md), maps person → component id,
 *          re-shuffles by bucket(url)
 *   'aggregate' ('bucket') per (url, granularity, bucket): count + HLL; writes the view.
 * Without components: 'map' shuffles by bucket(url) straight to 'aggregate'.
 * Memory: the aggregate instance holds its URLs' keys and sketches (sparse while small).
 */
import { z } from 'zod';
import { DagctlError } from '../core/errors.js';
import { bucketOf } from '../core/hash.js';
import type { Schema } from '../storage/types.js';
import type { OperatorDef, StageResult, StageSpec } from './types.js';
import { BucketedWriter, ChunkedWriter, int, str } from './lib/rows.js';
import { BucketsParam } from './lib/params.js';
import { bucketStart, GRANULARITIES, GRANULARITY_SECONDS, type Granularity } from './lib/granularity.js';
import { HyperLogLog } from './lib/hll.js';
import { hashString } from './lib/murmur3.js';

export { mergeRange } from './lib/merge-range.js';

const RollupParams = z
  .object({
    urlColumn: z.string().default('url'),
    personColumn: z.string().default('person'),
    tsColumn: z.string().default('ts'),
    granularities: z.array(z.enum(['h', 'd', 'w', 'm'])).min(1).default(['h', 'd', 'w', 'm']),
    precision: z.number().int().min(4).max(16).default(14),
    /** Join persons to component ids through the second input (equiv-components output). */
    components: z.boolean().default(false),
    componentIdColumn: z.string().default('id'),
    componentPersonColumn: z.string().default('person'),
    buckets: BucketsParam,
  })
  .strict();
export type RollupParams = z.infer<typeof RollupParams>;

const PV_SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'person', type: 'string' },
  { name: 'ts', type: 'int64' },
];
export const VIEW_SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'granularity', type: 'string' },
  { name: 'bucket', type: 'int64' },
  { name: 'pageviews', type: 'int64' },
  { name: 'uniques', type: 'int64' },
  { name: 'hll', type: 'bytes' },
];

interface Agg { url: string; g: Granularity; bucket: number; count: number; hll: HyperLogLog }
const hashOut = new Uint32Array(4);

export const rollup: OperatorDef<RollupParams> = {
  name: 'rollup',
  version: '1',
  summary: 'Pageviews and HyperLogLog uniques per (url, granularity, bucket), optionally by equiv component.',
  params: RollupParams,
  cost: { overheadMs: 200, perUnitMs: 8, driver: 'rows' },
  inputs: { min: 1, max: 2 },
  outputs: { min: 1, max: 1 },
  stages(p): StageSpec[] {
    return [
      { name: 'map', fanout: 'partition' },
      ...(p.components ? [{ name: 'join', fanout: 'bucket' as const }] : []),
      { name: 'aggregate', fanout: 'bucket', writesOutputs: true },
    ];
  },
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const B = ctx.buckets;
    if (p.components !== (ctx.inputs.length === 2)) {
      throw new DagctlError('OPERATOR_INPUT_INVALID', 'rollup: components: true needs exactly 2 inputs (pageviews, components), false needs 1', { inputs: ctx.inputs.length });
    }
    if (ctx.stage.name === 'map') {
      const w = new BucketedWriter(ctx.shuffle.open(PV_SCHEMA));
      for await (const batch of ctx.inputs[0]!.batches({ columns: [p.urlColumn, p.personColumn, p.tsColumn] })) {
        for (const row of batch) {
          const url = str(row, p.urlColumn), person = str(row, p.personColumn), ts = int(row, p.tsColumn);
          await w.add(bucketOf(p.components ? person : url, B), { url, person, ts });
        }
      }
      await w.flush();
      return { metrics: { rowsIn: w.rows } };
    }
    if (ctx.stage.name === 'join') {
      const comp = new Map<string, string>();
      for await (const batch of ctx.inputs[1]!.batches({ columns: [p.componentIdColumn, p.componentPersonColumn] })) {
        for (const row of batch) {
          const id = str(row, p.componentIdColumn);
          if (bucketOf(id, B) === ctx.bucket) comp.set(id, str(row, p.componentPersonColumn));
        }
      }
      const w = new BucketedWriter(ctx.shuffle.open(PV_SCHEMA));
      let mapped = 0;
      for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
        for (const row of batch) {
          const person = row.person as string;
          const c = comp.get(person);
          if (c !== undefined) mapped++;
          await w.add(bucketOf(row.url as string, B), { url: row.url as string, person: c ?? person, ts: row.ts as number });
        }
      }
      await w.flush();
      return { metrics: { joined: mapped, unmapped: w.rows - mapped } };
    }
    // aggregate
    const aggs = new Map<string, Agg>();
    let rows = 0;
    for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
      for (const row of batch) {
        rows++;
        const url = row.url as string, ts = row.ts as number;
        hashString(row.person as string, hashOut);
        const hi = hashOut[0]!, lo = hashOut[1]!;
        for (const g of p.granularities) {
          const bucket = bucketStart(ts, g);
          const k = `${url}\u0000${g}\u0000${bucket}`;
          let a = aggs.get(k);
          if (a === undefined) aggs.set(k, (a = { url, g, bucket, count: 0, hll: new HyperLogLog(p.precision) }));
          a.count++;
          a.hll.addHash(hi, lo);
        }
      }
    }
    const sorted = [...aggs.values()].sort((x, y) =>
      x.url < y.url ? -1 : x.url > y.url ? 1 : GRANULARITY_SECONDS[x.g] - GRANULARITY_SECONDS[y.g] || x.bucket - y.bucket);
    if (sorted.length > 0) {
      const w = new ChunkedWriter(ctx.outputs[0]!.open(VIEW_SCHEMA));
      for (const a of sorted) {
        await w.add({ url: a.url, granularity: a.g, bucket: a.bucket, pageviews: a.count, uniques: a.hll.count(), hll: a.hll.serialize() });
      }
      await w.flush();
    }
    return { metrics: { rowsIn: rows, viewRows: sorted.length } };
  },
};

export { GRANULARITIES };
