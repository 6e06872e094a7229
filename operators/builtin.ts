/**
 * The built-in operators, in the order `dagctl operators` lists them. registry.ts registers each.
 */
import type { AnyOperator } from './types.js';
import { noop } from './noop.js';

export const BUILTIN_OPERATORS: AnyOperator[] = [noop as AnyOperator];
