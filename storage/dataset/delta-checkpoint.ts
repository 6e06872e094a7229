/**
 * Delta Lake checkpoints of a view's log (storage/dataset/delta-log.ts): a classic single-file
 * checkpoint `_delta_log/<version, 20 digits>.checkpoint.parquet` holding the snapshot's actions
 * (one row each: protocol, metaData, one add per current file), and `_last_checkpoint`
 * ({"version","size"}) pointing readers at the newest one, so a foreign reader's cost follows the
 * files and the commits since the checkpoint, not every version.
 *
 *   checkpointParquet(actions) → Parquet bytes (the struct columns protocol, metaData, add, remove)
 *   readCheckpoint(bytes)      → its rows ({ add? , metaData?, protocol? }; int64s as numbers)
 *
 * Pure: the caller writes the bytes create-only and moves `_last_checkpoint` forward (never back).
 */
import type { ColumnSource } from 'hyparquet-writer';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { parquetReadObjects } from 'hyparquet';
import { exactArrayBuffer } from '../parquet/values.js';

export interface CheckpointActions {
  protocol: { minReaderVersion: number; minWriterVersion: number; readerFeatures?: string[]; writerFeatures?: string[] };
  metaData: Record<string, unknown>;
  adds: Record<string, unknown>[];
}

const str = (name: string, repetition: 'OPTIONAL' | 'REQUIRED' = 'OPTIONAL'): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: repetition });
const i64 = (name: string): SchemaElement => ({ name, type: 'INT64', repetition_type: 'OPTIONAL' });
const i32 = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'OPTIONAL' });
const bool = (name: string): SchemaElement => ({ name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' });
const group = (name: string, children: number): SchemaElement => ({ name, num_children: children, repetition_type: 'OPTIONAL' });
const stringMap = (name: string): SchemaElement[] => [
  { name, num_children: 1, repetition_type: 'OPTIONAL', converted_type: 'MAP' },
  { name: 'key_value', num_children: 2, repetition_type: 'REPEATED' },
  str('key', 'REQUIRED'),
  str('value'),
];
const stringList = (name: string): SchemaElement[] => [
  { name, num_children: 1, repetition_type: 'OPTIONAL', converted_type: 'LIST' },
  { name: 'list', num_children: 1, repetition_type: 'REPEATED' },
  str('element'),
];

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 4 },
  group('protocol', 4), i32('minReaderVersion'), i32('minWriterVersion'), ...stringList('readerFeatures'), ...stringList('writerFeatures'),
  group('metaData', 6), str('id'), group('format', 2), str('provider'), ...stringMap('options'), str('schemaString'), ...stringList('partitionColumns'), ...stringMap('configuration'), i64('createdTime'),
  group('add', 8), str('path'), ...stringMap('partitionValues'), i64('size'), i64('modificationTime'), bool('dataChange'), str('stats'), ...stringMap('tags'),
  group('deletionVector', 5), str('storageType'), str('pathOrInlineDv'), i32('offset'), i32('sizeInBytes'), i64('cardinality'),
  group('remove', 3), str('path'), i64('deletionTimestamp'), bool('dataChange'),
];

export function checkpointParquet(a: CheckpointActions): Uint8Array {
  const n = 2 + a.adds.length;
  const col = (f: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => f(i));
  const big = (v: unknown): bigint | null => (typeof v === 'number' ? BigInt(v) : null);
  const m = a.metaData;
  const columnData: ColumnSource[] = [
    { name: 'protocol', data: col((i) => (i === 0 ? { readerFeatures: null, writerFeatures: null, ...a.protocol } : null)) },
    { name: 'metaData', data: col((i) => (i === 1 ? { ...m, createdTime: big(m.createdTime) } : null)) },
    { name: 'add', data: col((i) => { const x = i >= 2 ? a.adds[i - 2]! : null; return x === null ? null : { ...x, size: big(x.size), modificationTime: big(x.modificationTime), tags: x.tags ?? null, deletionVector: dvOf(x.deletionVector) }; }) },
    { name: 'remove', data: col(() => null) },
  ] as ColumnSource[];
  return new Uint8Array(parquetWriteBuffer({ columnData, schema: SCHEMA, codec: 'UNCOMPRESSED' }));
}

function dvOf(v: unknown): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  const d = v as Record<string, unknown>;
  return { storageType: d.storageType, pathOrInlineDv: d.pathOrInlineDv, offset: d.offset ?? null, sizeInBytes: d.sizeInBytes, cardinality: typeof d.cardinality === 'number' ? BigInt(d.cardinality) : null };
}

export async function readCheckpoint(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const rows = await parquetReadObjects({ file: exactArrayBuffer(bytes), columns: ['add', 'metaData', 'protocol'] });
  return rows.map((r) => numbers(r) as Record<string, unknown>);
}

function numbers(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(numbers);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, numbers(x)]));
  return v;
}
