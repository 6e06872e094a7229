/**
 * The normalize operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/normalize/normalize.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';
import { DEFAULT_TRACKING_PARAMS } from '../lib/text/url.js';
import { ColumnTypesParam } from '../lib/params.js';

const NormalizeParams = z
  .object({
    urlColumns: z.array(z.string()).default(['url']),
    idColumns: z.array(z.string()).default(['person']),
    stripParams: z.array(z.string()).default(DEFAULT_TRACKING_PARAMS),
    foldWww: z.boolean().default(false),
    trailingSlash: z.enum(['keep', 'strip', 'add']).default('keep'),
    dropQuery: z.boolean().default(false),
    defaultScheme: z.enum(['http', 'https']).nullable().default('http'),
    stripUserZeros: z.boolean().default(true),
    cacheSize: z.number().int().min(0).default(100_000),
    columnTypes: ColumnTypesParam,
  })
  .strict();
export type NormalizeParams = z.infer<typeof NormalizeParams>;

export const normalizeDescriptor: OperatorDescriptor<NormalizeParams> = {
  name: 'normalize',
  version: '2',
  summary: 'Canonical URLs and typed identifiers; unparseable rows to the rejects output.',
  params: NormalizeParams,
  cost: { overheadMs: 50, perUnitMs: 2, driver: 'rows' },
  inputs: { min: 1, max: 1 },
  outputs: { min: 1, max: 2 },
  stages(): StageSpec[] {
    return [{ name: 'normalize', fanout: 'partition', writesOutputs: true }];
  },
  requires(p) {
    return [[...new Set([...p.urlColumns, ...p.idColumns])].map((name) => ({ name, type: 'string' as const }))];
  },
};
