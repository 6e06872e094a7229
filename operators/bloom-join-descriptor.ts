/**
 * The bloom-join operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/bloom-join.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from './types.js';
import { BucketsParam, ColumnTypesParam } from './lib/params.js';

const BloomJoinParams = z
  .object({
    largeKey: z.array(z.string()).min(1),
    smallKey: z.array(z.string()).min(1),
    falsePositiveRate: z.number().gt(0).lt(1).default(0.01),
    type: z.literal('inner').default('inner'),
    smallPrefix: z.string().default('small_'),
    columnTypes: ColumnTypesParam,
    buckets: BucketsParam,
  })
  .strict()
  .refine((p) => p.largeKey.length === p.smallKey.length, { message: 'largeKey and smallKey need the same number of columns' });
export type BloomJoinParams = z.infer<typeof BloomJoinParams>;

export const bloomJoinDescriptor: OperatorDescriptor<BloomJoinParams> = {
  name: 'bloom-join',
  version: '2',
  summary: 'Inner join of a large and a small dataset, filtering the large side with a Bloom filter first.',
  params: BloomJoinParams,
  cost: { overheadMs: 200, perUnitMs: 3, driver: 'rows' },
  inputs: { min: 2, max: 2 },
  outputs: { min: 1, max: 1 },
  stages(): StageSpec[] {
    return [
      { name: 'build', fanout: 'single' },
      { name: 'map', fanout: 'partition' },
      { name: 'reduce', fanout: 'bucket', writesOutputs: true },
    ];
  },
};
