/**
 * Maps a Parquet footer schema (thrift SchemaElements, as hyparquet parses them) to a dagctl
 * Schema. Only flat schemas of dagctl's column types are supported: nested groups, INT96,
 * decimals, dates and timestamps with units throw PARQUET_INVALID (dagctl never writes them).
 * plainInteger(e, converted) is the rule for a plain signed integer column (raw readers reuse it).
 */
import type { SchemaElement } from 'hyparquet';
import { DagctlError } from '../../core/errors.js';
import type { ColumnType, Field, Schema } from '../types.js';

export function schemaFromElements(elements: SchemaElement[]): Schema {
  const [root, ...cols] = elements;
  if (root === undefined) throw new DagctlError('PARQUET_INVALID', 'parquet footer has no schema');
  if ((root.num_children ?? 0) !== cols.length) throw new DagctlError('PARQUET_INVALID', 'nested parquet schemas are not supported');
  return cols.map((e): Field => ({ name: e.name, type: columnType(e), nullable: e.repetition_type !== 'REQUIRED' }));
}

function columnType(e: SchemaElement): ColumnType {
  const logical = e.logical_type?.type;
  const isString = e.converted_type === 'UTF8' || logical === 'STRING' || logical === 'ENUM' || e.converted_type === 'ENUM' || logical === 'JSON' || e.converted_type === 'JSON';
  switch (e.type) {
    case 'BYTE_ARRAY':
      return isString ? 'string' : 'bytes';
    case 'INT64':
      if (plainInteger(e, ['INT_64'])) return 'int64';
      break;
    case 'INT32':
      if (plainInteger(e, ['INT_32', 'INT_16', 'INT_8'])) return 'int32';
      break;
    case 'DOUBLE':
    case 'FLOAT':
      return 'double';
    case 'BOOLEAN':
      return 'boolean';
    default:
      break;
  }
  throw new DagctlError('PARQUET_INVALID', `column ${e.name}: unsupported parquet type ${String(e.type)}/${String(e.converted_type ?? logical ?? '')}`, { field: e.name });
}

/** A signed integer column without a date/time/decimal annotation (`converted`: the converted types allowed). */
export function plainInteger(e: SchemaElement, converted: string[]): boolean {
  const lt = e.logical_type;
  if (lt !== undefined && !(lt.type === 'INTEGER' && lt.isSigned)) return false;
  return e.converted_type === undefined || converted.includes(e.converted_type);
}
