/**
 * The built-in operators, in the order `dagctl operators` lists them. registry.ts registers each.
 * Each is its light descriptor (params, cost, arity, stages) plus a loader of its implementation,
 * imported on its first run (operators/lazy.ts); noop is light enough to load whole.
 */
import type { AnyOperator } from './types.js';
import { lazyOperator } from './lazy.js';
import { noop } from './noop.js';
import { normalizeDescriptor } from './normalize/descriptor.js';
import { dedupeDescriptor } from './dedupe/descriptor.js';
import { equivComponentsDescriptor } from './equiv-components/descriptor.js';
import { rollupDescriptor } from './rollup/descriptor.js';
import { bloomJoinDescriptor } from './bloom-join-descriptor.js';
import { partialRecomputeDescriptor } from './partial-recompute/descriptor.js';
import { parseAccessLogDescriptor } from './parse-access-log/descriptor.js';
import { readRecordsDescriptor } from './read-records-descriptor.js';
import { sqlDescriptor } from './sql-descriptor.js';
import { execDescriptor } from './exec/descriptor.js';

export const BUILTIN_OPERATORS: AnyOperator[] = [
  noop,
  lazyOperator(parseAccessLogDescriptor, async () => (await import('./parse-access-log/parse-access-log.js')).parseAccessLog),
  lazyOperator(readRecordsDescriptor, async () => (await import('./read-records.js')).readRecords),
  lazyOperator(normalizeDescriptor, async () => (await import('./normalize/normalize.js')).normalize),
  lazyOperator(dedupeDescriptor, async () => (await import('./dedupe/dedupe.js')).dedupe),
  lazyOperator(equivComponentsDescriptor, async () => (await import('./equiv-components/equiv-components.js')).equivComponents),
  lazyOperator(rollupDescriptor, async () => (await import('./rollup/rollup.js')).rollup),
  lazyOperator(bloomJoinDescriptor, async () => (await import('./bloom-join.js')).bloomJoin),
  lazyOperator(partialRecomputeDescriptor, async () => (await import('./partial-recompute/partial-recompute.js')).partialRecompute),
  lazyOperator(sqlDescriptor, async () => (await import('./sql.js')).sql),
  lazyOperator(execDescriptor, async () => (await import('./exec/exec.js')).exec),
];
