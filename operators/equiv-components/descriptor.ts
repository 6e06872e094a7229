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
    /** 'local' on Parquet pages: the WebAssembly kernel (lib/wasm-components.ts) or the JS one;
     * propagate and emit always run the JS kernel. wasm by default since its memory fits the
     * per-thread reuse cap (docs/operators.md: local stage ×1.25–1.35, whole operator 4–8% faster). */
    kernel: z.enum(['wasm', 'js']).default('wasm'),
    buckets: BucketsParam,
  })
  .strict();
export type EquivParams = z.infer<typeof EquivParams>;

export const equivComponentsDescriptor: OperatorDescriptor<EquivParams> = {
  name: 'equiv-components',
  version: '3',
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
