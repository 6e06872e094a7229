/**
 * The sql operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/sql.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from './types.js';

const SqlParams = z
  .object({
    query: z.string().min(1),
    perPartition: z.boolean().default(false),
  })
  .strict();
export type SqlParams = z.infer<typeof SqlParams>;

export const sqlDescriptor: OperatorDescriptor<SqlParams> = {
  name: 'sql',
  version: '1',
  summary: 'Runs params.query with DuckDB over the inputs (each a table named after its dataset); the result is the output.',
  params: SqlParams,
  cost: { overheadMs: 300, perUnitMs: 2, driver: 'bytes' },
  inputs: { min: 1, max: 16 },
  outputs: { min: 1, max: 1 },
  stages(p): StageSpec[] {
    return [{ name: 'query', fanout: p.perPartition ? 'partition' : 'single', writesOutputs: true }];
  },
};
