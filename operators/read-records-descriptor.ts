/**
 * The read-records operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/read-records.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from './types.js';

const ColumnTypeSchema = z.enum(['string', 'int64', 'double', 'boolean']);
const ReadParams = z
  .object({
    /** Overrides the dataset's format (default: the input dataset's declared format). */
    format: z.enum(['csv', 'jsonl']).optional(),
    columns: z.record(z.string(), ColumnTypeSchema).optional(),
    delimiter: z.string().length(1).default(','),
    inferRows: z.number().int().min(1).max(1_000_000).default(1000),
  })
  .strict();
export type ReadParams = z.infer<typeof ReadParams>;

export const readRecordsDescriptor: OperatorDescriptor<ReadParams> = {
  name: 'read-records',
  version: '1',
  summary: 'CSV or JSON-lines source records → rows (columns declared or inferred); malformed lines to rejects with counts.',
  params: ReadParams,
  cost: { overheadMs: 50, perUnitMs: 4, driver: 'bytes' },
  inputs: { min: 1, max: 1 },
  outputs: { min: 1, max: 2 },
  stages(): StageSpec[] {
    return [{ name: 'read', fanout: 'partition', writesOutputs: true }];
  },
};
