/**
 * The equiv-components operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/equiv-components/equiv-components.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';
import { BucketsParam } from '../lib/params.js';

const EquivParams = z
  .object({
    id1: z.string().default('id1'),
    id2: z.string().default('id2'),
    maxRounds: z.number().int().min(1).max(1000).default(64),
    /** The WebAssembly kernel (wasm-components.ts: 'local' on Parquet pages, propagate and emit on
     * every bucket) or the JS one (byte-components.ts) everywhere; wasm by default
     * (docs/operators.md). */
    kernel: z.enum(['wasm', 'js']).default('wasm'),
    buckets: BucketsParam,
  })
  .strict();
export type EquivParams = z.infer<typeof EquivParams>;

export const equivComponentsDescriptor: OperatorDescriptor<EquivParams> = {
  name: 'equiv-components',
  version: '4',
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
};
