/**
 * Schemas at the boundary: what each input file of an instance must carry — the columns declared
 * in the dataset's `schema` (definitions/schema.ts) and those the reading operator requires
 * (OperatorDef.requires) — and the check of one file's Parquet schema against it.
 *
 * checkFileSchema is pure: a missing column, or a column of another type, is
 * DATASET_SCHEMA_MISMATCH (never retried) naming the dataset, the file, the column, the expected
 * type and what was found. Extra columns are allowed (schema evolution adds nullable columns).
 */
import { DagctlError } from '../../core/errors.js';
import type { AnyOperator } from '../../operators/types.js';
import type { DatasetSpec } from '../../definitions/types.js';
import type { Field, Schema } from '../../storage/types.js';

export interface InputContract {
  dataset: string;
  uri: string;
  columns: Field[];
  /** Declared non-null columns (rows with a null there go to rejects). */
  notNull: string[];
}

/** The contract of input `index` of a task, or null when nothing is required of it. */
export function inputContract(ds: DatasetSpec, op: AnyOperator, params: unknown, index: number): InputContract | null {
  const byName = new Map<string, Field>();
  for (const f of ds.schema ?? []) byName.set(f.name, f);
  for (const f of op.requires?.(params)[index] ?? []) if (!byName.has(f.name)) byName.set(f.name, f);
  if (byName.size === 0) return null;
  return { dataset: ds.name, uri: ds.uri, columns: [...byName.values()], notNull: (ds.schema ?? []).filter((f) => f.nullable !== true).map((f) => f.name) };
}

/** Throws DATASET_SCHEMA_MISMATCH when `found` (a file's schema) lacks a column of `c` or types it otherwise. */
export function checkFileSchema(c: InputContract, file: string, found: Schema): void {
  const have = new Map(found.map((f) => [f.name, f]));
  for (const want of c.columns) {
    const got = have.get(want.name);
    if (got !== undefined && got.type === want.type) continue;
    const foundText = got === undefined ? 'no such column' : got.type;
    throw new DagctlError(
      'DATASET_SCHEMA_MISMATCH',
      `dataset "${c.dataset}": file ${c.uri}/${file}: column "${want.name}" expected ${want.type}, found ${foundText}; fix or move the file (nothing was written)`,
      { dataset: c.dataset, file: `${c.uri}/${file}`, column: want.name, expected: want.type, found: got === undefined ? null : got.type },
    );
  }
}
