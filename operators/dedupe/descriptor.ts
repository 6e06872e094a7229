/**
 * The dedupe operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/dedupe/dedupe.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';
import { BucketsParam, ColumnTypesParam } from '../lib/params.js';

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

export const dedupeDescriptor: OperatorDescriptor<DedupeParams> = {
  name: 'dedupe',
  version: '3',
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
};
