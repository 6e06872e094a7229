/**
 * The parse-access-log operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/parse-access-log/parse-access-log.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';

const ParseParams = z
  .object({
    host: z.string().min(1).default('localhost'),
    scheme: z.enum(['http', 'https']).default('http'),
    /** Status codes or classes ('2xx'); empty = all. */
    statusFilter: z.array(z.string().regex(/^[1-5](\d\d|xx)$/)).default(['2xx', '3xx']),
    /** Request methods kept; empty = all. */
    methods: z.array(z.string()).default(['GET']),
  })
  .strict();
export type ParseParams = z.infer<typeof ParseParams>;

export const parseAccessLogDescriptor: OperatorDescriptor<ParseParams> = {
  name: 'parse-access-log',
  version: '2',
  summary: 'Apache/NCSA combined log lines → pageviews (url, person = ip:<client>, ts, status, bytes, referrer, agent).',
  params: ParseParams,
  cost: { overheadMs: 50, perUnitMs: 3, driver: 'bytes' },
  inputs: { min: 1, max: 1 },
  outputs: { min: 1, max: 2 },
  stages(): StageSpec[] {
    return [{ name: 'parse', fanout: 'partition', writesOutputs: true }];
  },
};
