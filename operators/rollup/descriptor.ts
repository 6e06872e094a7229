/**
 * The rollup operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/rollup/rollup.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';
import { BucketsParam } from '../lib/params.js';

const RollupParams = z
  .object({
    urlColumn: z.string().default('url'),
    personColumn: z.string().default('person'),
    tsColumn: z.string().default('ts'),
    granularities: z.array(z.enum(['h', 'd', 'w', 'm'])).min(1).default(['h', 'd', 'w', 'm']),
    precision: z.number().int().min(4).max(16).default(14),
    /** Deprecated: implied by the input count; when given it must agree (2 inputs ⇔ true). */
    components: z.boolean().optional(),
    componentIdColumn: z.string().default('id'),
    componentPersonColumn: z.string().default('person'),
    buckets: BucketsParam,
    /**
     * Broadcast join cap: the index is shipped whole to the map instances while its probe-side
     * size (BroadcastIndex: 24 bytes per id + its directory, < 32 bytes per id + 72) stays within this;
     * beyond it (or at 0) the components are shuffled and joined per bucket instead.
     */
    maxBroadcastBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  })
  .strict();
export type RollupParams = z.infer<typeof RollupParams>;

export function usesComponents(p: RollupParams, inputs: number): boolean {
  return p.components ?? inputs === 2;
}

export const rollupDescriptor: OperatorDescriptor<RollupParams> = {
  name: 'rollup',
  version: '5',
  summary: 'Pageviews and HyperLogLog uniques per (url, granularity, bucket), optionally by equiv component.',
  params: RollupParams,
  cost: { overheadMs: 200, perUnitMs: 8, driver: 'rows' },
  inputs: { min: 1, max: 2 },
  outputs: { min: 1, max: 1 },
  stages(p, info): StageSpec[] {
    return usesComponents(p, info.inputs)
      ? [
          { name: 'index', fanout: 'bucket' },
          { name: 'map', fanout: 'partition' },
          { name: 'join', fanout: 'bucket' },
          { name: 'aggregate', fanout: 'bucket', writesOutputs: true },
        ]
      : [
          { name: 'map', fanout: 'partition' },
          { name: 'aggregate', fanout: 'bucket', writesOutputs: true },
        ];
  },
};
