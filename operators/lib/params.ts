/**
 * Param fragments shared by several operators' zod schemas.
 */
import { z } from 'zod';

/** Column type overrides for schema inference (InputHandle exposes no schema yet). */
export const ColumnTypesParam = z
  .record(z.string(), z.enum(['string', 'int64', 'int32', 'double', 'boolean', 'bytes']))
  .default({});

/** Bucket count B of the task's shuffles; absent: the planner's choice. */
export const BucketsParam = z.number().int().min(1).max(100_000).optional();
