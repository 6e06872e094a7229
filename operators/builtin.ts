/**
 * The built-in operators, in the order `dagctl operators` lists them. registry.ts registers each.
 */
import type { AnyOperator } from './types.js';
import { noop } from './noop.js';
import { normalize } from './normalize/normalize.js';
import { dedupe } from './dedupe/dedupe.js';
import { equivComponents } from './equiv-components/equiv-components.js';
import { rollup } from './rollup/rollup.js';
import { bloomJoin } from './bloom-join.js';
import { partialRecompute } from './partial-recompute/partial-recompute.js';
import { parseAccessLog } from './parse-access-log/parse-access-log.js';
import { readRecords } from './read-records.js';
import { sql } from './sql.js';
import { exec } from './exec/exec.js';

export const BUILTIN_OPERATORS: AnyOperator[] = [
  noop,
  parseAccessLog,
  readRecords,
  normalize,
  dedupe,
  equivComponents,
  rollup,
  bloomJoin,
  partialRecompute,
  sql,
  exec,
];
