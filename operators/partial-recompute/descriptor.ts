/**
 * The partial-recompute operator's descriptor: its params schema, cost defaults, arity and stages — what
 * validation and planning need, without the implementation (operators/partial-recompute/partial-recompute.ts, which spreads
 * this into its definition and is imported on the first run: operators/lazy.ts).
 */
import { z } from 'zod';
import type { OperatorDescriptor, StageSpec } from '../types.js';
import { BucketsParam } from '../lib/params.js';

const PartialParams = z
  .object({
    personColumn: z.string().default('person'),
    ageColumn: z.string().default('age'),
    tsColumn: z.string().default('ts'),
    mode: z.enum(['auto', 'partial', 'full']).default('auto'),
    falsePositiveRate: z.number().gt(0).lt(1).default(0.01),
    /** Partial mode: expected fetched master rows per recompute bucket (partialBuckets). */
    partialRowsPerBucket: z.number().int().positive().default(250_000),
    /** Partial mode: old view rows copied (or scanned, merge-on-read) per recompute instance (copyBuckets). */
    partialViewRowsPerBucket: z.number().int().positive().default(150_000),
    /**
     * Partial mode, how the new view version is made: `merge-on-read` lists the old version's
     * files again with deletion vectors for the recomputed persons' rows, plus a file of the
     * recomputed rows (nothing rewritten); `rewrite` copies the old view's other rows into new
     * files (compaction); `auto` merges on read until the version would have more than
     * maxViewFiles files or more than maxDeletedFraction of its rows deleted, then rewrites.
     */
    viewUpdate: z.enum(['auto', 'merge-on-read', 'rewrite']).default('auto'),
    /**
     * Partial mode: with one recompute bucket (R = 1) and at most this many master rows, the
     * recompute instance scans the master itself (fused: no fetch instances, no shuffle of the
     * fetched rows); above it (or with 0) the fetch stage fans out over the master's partitions.
     */
    fuseScanRows: z.number().int().min(0).default(2_000_000),
    /**
     * Partial mode: new-batch rows the plan holds while it decides whether the run fuses (a fused
     * run writes no shuffle: its recompute instance reads the batch itself); past it, the rows go
     * to the shuffle as they come and the run does not fuse.
     */
    fuseHoldRows: z.number().int().min(0).default(500_000),
    /**
     * With a second output declared (the sample store, lib/sample-store.ts): a partial run reads
     * the affected persons' master samples from the store (written by full runs) instead of
     * scanning the master; false scans as without a store (the store is still carried over).
     */
    useSampleStore: z.boolean().default(true),
    maxViewFiles: z.number().int().positive().default(64),
    maxDeletedFraction: z.number().gt(0).max(1).default(0.5),
    cost: z
      .object({
        scanUs: z.number().min(0), keyScanUs: z.number().min(0), probeUs: z.number().min(0), shuffleUs: z.number().min(0), computeUs: z.number().min(0), rewriteUs: z.number().min(0),
      })
      .partial()
      .strict()
      .default({}),
    buckets: BucketsParam,
  })
  .strict();
export type PartialParams = z.infer<typeof PartialParams>;

export const partialRecomputeDescriptor: OperatorDescriptor<PartialParams> = {
  name: 'partial-recompute',
  version: '11',
  summary: 'Birthday view from age samples, recomputing only the persons with new samples (Bloom join).',
  params: PartialParams,
  cost: { overheadMs: 300, perUnitMs: 4, driver: 'rows' },
  inputs: { min: 2, max: 2 },
  outputs: { min: 1, max: 2 },
  stages(): StageSpec[] {
    return [
      { name: 'plan', fanout: 'single' },
      { name: 'fetch', fanout: 'partition' },
      { name: 'recompute', fanout: 'bucket', writesOutputs: true },
    ];
  },
};
