/**
 * The exec operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/exec/exec.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';

const ExecParams = z
  .object({
    command: z.array(z.string().min(1)).min(1),
    columns: z.record(z.string(), z.enum(['string', 'int64', 'double', 'boolean'])),
    args: z.record(z.string(), z.unknown()).default({}),
    env: z.record(z.string(), z.string()).default({}),
    timeout: z.number().int().positive().optional(),
  })
  .strict();
export type ExecParams = z.infer<typeof ExecParams>;

export const execDescriptor: OperatorDescriptor<ExecParams> = {
  name: 'exec',
  version: '1',
  summary: 'Runs a program per instance (params.command) on its input files; commits the rows it writes to its output folder.',
  params: ExecParams,
  cost: { overheadMs: 200, perUnitMs: 5, driver: 'rows' },
  inputs: { min: 0, max: 16 },
  outputs: { min: 1, max: 1 },
  stages(): StageSpec[] {
    return [{ name: 'run', fanout: 'partition', writesOutputs: true }];
  },
};
