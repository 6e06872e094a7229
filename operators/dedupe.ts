/**
 * dedupe: removes duplicates on a key (default: all columns) across all partitions.
 * Stage 'map' ('partition'): each row goes to bucket bucketOf(key). Stage 'reduce' ('bucket'):
 * one survivor per key, chosen deterministically — the smallest (`keep: first`) or largest
 * (`keep: last`) `orderBy` value, ties (and the no-orderBy case) broken by the smallest canonical
 * row (lib/rows.ts canonicalRow) — so the result never depends on arrival order. Output rows are
 * sorted by key within a bucket. Memory: a reduce instance holds its bucket's distinct keys.
 */
import { z } from 'zod';
import { bucketOf } from '../core/hash.js';
import type { Row } from '../storage/types.js';
import type { OperatorDef, StageResult, StageSpec } from './types.js';
import { BucketedWriter, canonicalRow, ChunkedWriter, compareValues, inferSchema, keyOf } from './lib/rows.js';
import { BucketsParam, ColumnTypesParam } from './lib/params.js';

const DedupeParams = z
  .object({
    /** Key columns; null = the whole row (exact duplicates). */
    key: z.array(z.string()).min(1).nullable().default(null),
    orderBy: z.string().nullable().default(null),
    keep: z.enum(['first', 'last']).default('first'),
    columnTypes: ColumnTypesParam,
    buckets: BucketsParam,
  })
  .strict();
export type DedupeParams = z.infer<typeof DedupeParams>;

interface Survivor { row: Row; canon: string }

export const dedupe: OperatorDef<DedupeParams> = {
  name: 'dedupe',
  version: '1',
  summary: 'Removes duplicate rows on a key across partitions, with a deterministic survivor.',
  params: DedupeParams,
  cost: { overheadMs: 100, perUnitMs: 4, driver: 'rows' },
  inputs: { min: 1, max: 1 },
  outputs: { min: 1, max: 1 },
  stages(): StageSpec[] {
    return [
      { name: 'map', fanout: 'partition' },
      { name: 'reduce', fanout: 'bucket', writesOutputs: true },
    ];
  },
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const keyCols = (row: Row): string[] => p.key ?? Object.keys(row).sort();
    if (ctx.stage.name === 'map') {
      let w = null as BucketedWriter | null;
      for await (const batch of ctx.inputs[0]!.batches()) {
        if (batch.length === 0) continue;
        w ??= new BucketedWriter(ctx.shuffle.open(inferSchema(batch, p.columnTypes)));
        for (const row of batch) await w.add(bucketOf(keyOf(row, keyCols(row)), ctx.buckets), row);
      }
      await w?.flush();
      return { metrics: { rowsIn: w?.rows ?? 0 } };
    }
    // reduce
    const best = new Map<string, Survivor>();
    let seen = 0;
    for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
      for (const row of batch) {
        seen++;
        const k = keyOf(row, keyCols(row));
        const cur = best.get(k);
        if (cur === undefined) {
          best.set(k, { row, canon: canonicalRow(row) });
          continue;
        }
        let c = 0;
        if (p.orderBy !== null) {
          c = compareValues(row[p.orderBy], cur.row[p.orderBy]);
          if (p.keep === 'last') c = -c;
        }
        if (c < 0) best.set(k, { row, canon: canonicalRow(row) });
        else if (c === 0) {
          const canon = canonicalRow(row);
          if (canon < cur.canon) best.set(k, { row, canon });
        }
      }
    }
    if (best.size > 0) {
      const keys = [...best.keys()].sort();
      const rows = keys.map((k) => best.get(k)!.row);
      const w = new ChunkedWriter(ctx.outputs[0]!.open(inferSchema(rows, p.columnTypes)));
      for (const r of rows) await w.add(r);
      await w.flush();
    }
    return { metrics: { rowsOut: best.size, removed: seen - best.size } };
  },
};
