/**
 * Declared schema migrations of views: the pure decision a publisher makes when the version it is
 * about to publish has another schema than the view's current version (the Delta log's
 * metaData.schemaString, delta-log.ts deltaColumns / nextSchemaString).
 *
 *   typeLabel(column)                        → `int64`, `string?` … (the DAG file's schema vocabulary)
 *   schemaChanges(current, next)             → SchemaChange[]: removed / type changed (in the current
 *                                              order), then added (in the new order)
 *   needsMigration(change)                   → false only for an added nullable column and a column
 *                                              that only became nullable (readers keep working)
 *   undeclaredChanges(changes, migrations)   → the changes that need a migration no entry declares
 *   checkSchemaMigration(target, current, next, migrations) — SCHEMA_MIGRATION_REQUIRED naming the
 *     view, each undeclared column and change, and the `migrations:` entries that would allow it.
 *   checkCarriedFiles(target, current, next, carried) — SCHEMA_MIGRATION_REQUIRED when the new version
 *     keeps files of the current one (`carried`) across a change those files cannot be read as
 *     (a type change, an added non-nullable column): readers would see both schemas. Declared or
 *     not, such a migration needs every file rewritten.
 *
 * A declaration matches a change exactly: same column, same kind, same `from` (removed, type) and
 * `to` (added, type) — so a migration declared once stays harmless once published (the schemas
 * then agree) and never allows another change of the same column. Column names compare exactly.
 * A current schema without columns (a view first published empty) has nothing to migrate.
 */
import { DagctlError } from '../../core/errors.js';
import type { DeltaColumn } from './delta-log.js';
import type { GuardTarget } from './guards.js';

export type SchemaChangeKind = 'added' | 'removed' | 'type';

/** A difference between the current and the next schema; types as typeLabel writes them. */
export interface SchemaChange {
  column: string;
  change: SchemaChangeKind;
  /** The current type (removed, type). */
  from?: string;
  /** The new type (added, type). */
  to?: string;
}

/** A migration a DAG declares on a view (`datasets.<name>.migrations[]`, definitions/schema.ts). */
export type SchemaMigration =
  | { column: string; change: 'added'; to: string; reason?: string }
  | { column: string; change: 'removed'; from: string; reason?: string }
  | { column: string; change: 'type'; from: string; to: string; reason?: string };

export function typeLabel(c: Pick<DeltaColumn, 'type' | 'nullable'>): string {
  return c.nullable ? `${c.type}?` : c.type;
}

export function schemaChanges(current: readonly DeltaColumn[], next: readonly DeltaColumn[]): SchemaChange[] {
  const after = new Map(next.map((c) => [c.name, c]));
  const before = new Set(current.map((c) => c.name));
  const out: SchemaChange[] = [];
  for (const c of current) {
    const n = after.get(c.name);
    if (n === undefined) out.push({ column: c.name, change: 'removed', from: typeLabel(c) });
    else if (typeLabel(n) !== typeLabel(c)) out.push({ column: c.name, change: 'type', from: typeLabel(c), to: typeLabel(n) });
  }
  for (const n of next) if (!before.has(n.name)) out.push({ column: n.name, change: 'added', to: typeLabel(n) });
  return out;
}

export function needsMigration(c: SchemaChange): boolean {
  if (c.change === 'added') return c.to?.endsWith('?') !== true;
  if (c.change === 'type') return `${c.from ?? ''}?` !== c.to;
  return true;
}

function declares(m: SchemaMigration, c: SchemaChange): boolean {
  if (m.column !== c.column || m.change !== c.change) return false;
  if (m.change === 'added') return m.to === c.to;
  if (m.change === 'removed') return m.from === c.from;
  return m.from === c.from && m.to === c.to;
}

export function undeclaredChanges(changes: readonly SchemaChange[], migrations: readonly SchemaMigration[]): SchemaChange[] {
  return changes.filter((c) => needsMigration(c) && !migrations.some((m) => declares(m, c)));
}

function describe(c: SchemaChange): string {
  if (c.change === 'added') return `column ${c.column} added (${c.to ?? '?'}, not nullable)`;
  if (c.change === 'removed') return `column ${c.column} removed (was ${c.from ?? '?'})`;
  return `column ${c.column} type changed ${c.from ?? '?'} → ${c.to ?? '?'}`;
}

/** The `migrations:` entry that declares `c`, as YAML flow text. */
export function migrationEntry(c: SchemaChange): string {
  if (c.change === 'added') return `{ column: ${c.column}, change: added, to: ${c.to ?? ''} }`;
  if (c.change === 'removed') return `{ column: ${c.column}, change: removed, from: ${c.from ?? ''} }`;
  return `{ column: ${c.column}, change: type, from: ${c.from ?? ''}, to: ${c.to ?? ''} }`;
}

/**
 * Throws SCHEMA_MIGRATION_REQUIRED when `next` changes `current` (the schema of the view's current
 * version, Delta `version`) in a way no entry of `migrations` declares; details: dataset, uri,
 * deltaVersion, changes (the undeclared ones), migrations (the entries that would declare them).
 */
export function checkSchemaMigration(target: GuardTarget & { deltaVersion: number }, current: readonly DeltaColumn[], next: readonly DeltaColumn[], migrations: readonly SchemaMigration[]): void {
  if (current.length === 0) return;
  const missing = undeclaredChanges(schemaChanges(current, next), migrations);
  if (missing.length === 0) return;
  const entries = missing.map(migrationEntry);
  throw new DagctlError(
    'SCHEMA_MIGRATION_REQUIRED',
    `view ${target.dataset} (${target.uri}): the new version changes the schema of the current version (Delta version ${target.deltaVersion}): ${missing.map(describe).join('; ')}. ` +
      `Not published, the current version is unchanged. If the change is intended, declare it on the dataset — migrations: [${entries.join(', ')}] — ` +
      `else make the task write the current schema again (or give the view a new URI)`,
    { dataset: target.dataset, uri: target.uri, deltaVersion: target.deltaVersion, changes: missing, migrations: entries },
  );
}

/** A change files written with the current schema cannot be read as: a type change (other than becoming nullable), an added column that is not nullable. */
export function needsRewrite(c: SchemaChange): boolean {
  return c.change !== 'removed' && needsMigration(c);
}

/**
 * Throws SCHEMA_MIGRATION_REQUIRED when the new version keeps files of the current version
 * (`carried`: their paths) across a change they cannot be read as; details: dataset, uri,
 * deltaVersion, changes, carried (the first 10 paths).
 */
export function checkCarriedFiles(target: GuardTarget & { deltaVersion: number }, current: readonly DeltaColumn[], next: readonly DeltaColumn[], carried: readonly string[]): void {
  if (current.length === 0 || carried.length === 0) return;
  const bad = schemaChanges(current, next).filter(needsRewrite);
  if (bad.length === 0) return;
  throw new DagctlError(
    'SCHEMA_MIGRATION_REQUIRED',
    `view ${target.dataset} (${target.uri}): the new version changes the schema of the current version (Delta version ${target.deltaVersion}): ${bad.map(describe).join('; ')}, ` +
      `but keeps ${carried.length} file(s) of the current version written with the old schema (first: ${carried[0] ?? ''}), so readers would see both. ` +
      `Not published, the current version is unchanged. Rewrite every file of the view: re-run with --force (the migration declared)`,
    { dataset: target.dataset, uri: target.uri, deltaVersion: target.deltaVersion, changes: bad, carried: carried.slice(0, 10) },
  );
}
