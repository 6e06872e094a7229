/**
 * read-records: a CSV or JSON-lines source dataset (`format: csv | jsonl`, read with `lines()`) →
 * rows, one instance per partition. Columns are declared (`columns: { name: type }`) or inferred
 * from the first `inferRows` records of the instance (int64 when every value is an integer, double
 * when a number, boolean, else string; a column with an empty/absent value is nullable). CSV: the
 * first line is the header and every file of the dataset starts with the same header (a line
 * equal to it is skipped as a header); RFC 4180 quoting, `""` escapes, quoted line breaks joined.
 * JSON lines: one object per line. Line numbers count the instance's lines (its files in order).
 *
 * Malformed lines never vanish: each goes to the rejects output (`file_line, line, reason`) and is
 * counted (`rejected`, `rejected.<reason>`: malformed, column_count, bad_value, unknown_column);
 * without a rejects output, a malformed line fails the instance (OPERATOR_INPUT_INVALID, naming
 * the dataset, line and reason). Blank lines are skipped.
 */
import { DagctlError } from '../core/errors.js';
import type { ColumnType, Field, Row, Schema, Value } from '../storage/types.js';
import type { OperatorDef, StageResult } from './types.js';
import { ChunkedWriter } from './lib/rows.js';
import { readRecordsDescriptor, type ReadParams } from './read-records-descriptor.js';

type Reason = 'malformed' | 'column_count' | 'bad_value' | 'unknown_column';
type Parsed = { ok: true; values: Record<string, unknown> } | { ok: false; reason: Reason };

/** One CSV record's fields, or null when its quotes are unbalanced (more lines needed). */
export function csvFields(text: string, delimiter: string): string[] | null {
  const out: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let wasQuoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false;
      } else field += c;
    } else if (c === '"' && field === '' && !wasQuoted) { quoted = true; wasQuoted = true; }
    else if (c === delimiter) { out.push(field); field = ''; wasQuoted = false; }
    else if (c === '"') return [];
    else field += c;
    i++;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

function typeOf(v: unknown): ColumnType | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'int64' : 'double';
  if (typeof v === 'string') {
    if (/^-?\d{1,15}$/.test(v)) return 'int64';
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return 'double';
    if (v === 'true' || v === 'false') return 'boolean';
  }
  return 'string';
}

function widen(a: ColumnType | undefined, b: ColumnType): ColumnType {
  if (a === undefined || a === b) return b;
  if ((a === 'int64' && b === 'double') || (a === 'double' && b === 'int64')) return 'double';
  return 'string';
}

/**
 * The value (from CSV text or JSON) as the column's type, or undefined when it is not one (exec
 * reuses it). An empty CSV field is null (`emptyIsNull`); a JSON "" stays an empty string.
 */
export function coerce(v: unknown, f: Field, emptyIsNull = true): Value | undefined {
  if (v === '' && (!emptyIsNull || f.nullable !== true) && f.type === 'string') return '';
  if (v === null || v === undefined || v === '') return f.nullable === true ? null : undefined;
  switch (f.type) {
    case 'string': return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'int64': { const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN; return Number.isSafeInteger(n) ? n : undefined; }
    case 'double': { const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN; return Number.isFinite(n) ? n : undefined; }
    case 'boolean': return typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined;
    default: return undefined;
  }
}

export const readRecords: OperatorDef<ReadParams> = {
  ...readRecordsDescriptor,
  async run(ctx): Promise<StageResult> {
    const input = ctx.inputs[0]!;
    const format = ctx.params.format ?? (input.format === 'csv' || input.format === 'jsonl' ? input.format : undefined);
    if (format === undefined) throw new DagctlError('OPERATOR_INPUT_INVALID', `read-records: dataset ${input.name} has format ${input.format ?? 'parquet'}; declare format: csv or jsonl (or set params.format)`, { dataset: input.name });
    const metrics: Record<string, number> = { lines: 0, rowsOut: 0, rejected: 0 };
    const rh = ctx.outputs[1];
    const rejects = rh === undefined ? null : new ChunkedWriter(rh.open([{ name: 'file_line', type: 'int64' }, { name: 'line', type: 'string' }, { name: 'reason', type: 'string' }]));
    const reject = async (lineNo: number, line: string, reason: Reason): Promise<void> => {
      metrics.rejected!++;
      metrics[`rejected.${reason}`] = (metrics[`rejected.${reason}`] ?? 0) + 1;
      if (rejects === null) throw new DagctlError('OPERATOR_INPUT_INVALID', `read-records: ${input.name} line ${lineNo} is ${reason} (add a rejects output to keep such lines aside): ${line.slice(0, 200)}`, { dataset: input.name, line: lineNo, reason });
      await rejects.add({ file_line: lineNo, line, reason });
    };

    // Records with their 1-based line numbers (within the instance's files, headers counted).
    let header: string[] | null = null;
    let lineNo = 0;
    let pending = '';
    let pendingAt = 0;
    const parse = (text: string): Parsed => {
      if (format === 'jsonl') {
        let v: unknown;
        try { v = JSON.parse(text); } catch { return { ok: false, reason: 'malformed' }; }
        return v !== null && typeof v === 'object' && !Array.isArray(v) ? { ok: true, values: v as Record<string, unknown> } : { ok: false, reason: 'malformed' };
      }
      const f = csvFields(text, ctx.params.delimiter)!;
      if (f.length === 0) return { ok: false, reason: 'malformed' };
      if (header === null) return { ok: false, reason: 'malformed' };
      if (f.length !== header.length) return { ok: false, reason: 'column_count' };
      return { ok: true, values: Object.fromEntries(header.map((h, k) => [h, f[k]])) };
    };

    const sample: Array<{ at: number; text: string; values: Record<string, unknown> }> = [];
    let schema: Schema | null = null;
    let writer: ChunkedWriter | null = null;
    const declared = ctx.params.columns;
    const openWith = (s: Schema): void => {
      schema = s;
      writer = new ChunkedWriter(ctx.outputs[0]!.open(s));
    };
    if (declared !== undefined) openWith(Object.entries(declared).map(([name, type]) => ({ name, type, nullable: true })));
    const emit = async (at: number, text: string, values: Record<string, unknown>): Promise<void> => {
      const s = schema!;
      if (Object.keys(values).some((k) => !s.some((f) => f.name === k))) return reject(at, text, 'unknown_column');
      const row: Row = {};
      for (const f of s) {
        const v = coerce(values[f.name], f, format === 'csv');
        if (v === undefined) return reject(at, text, 'bad_value');
        row[f.name] = v;
      }
      await writer!.add(row);
    };
    const infer = (): void => {
      const types = new Map<string, ColumnType>();
      const nullable = new Set<string>();
      for (const r of sample) for (const [k, v] of Object.entries(r.values)) {
        const t = typeOf(v);
        if (t === null) nullable.add(k);
        else types.set(k, widen(types.get(k), t));
        if (!types.has(k) && t === null) types.set(k, types.get(k) ?? 'string');
      }
      const names = header ?? [...types.keys()];
      openWith(names.map((name) => ({ name, type: types.get(name) ?? 'string', nullable: true })));
    };
    const record = async (at: number, text: string): Promise<void> => {
      const p = parse(text);
      if (!p.ok) return reject(at, text, p.reason);
      if (schema === null) {
        sample.push({ at, text, values: p.values });
        if (sample.length >= ctx.params.inferRows) {
          infer();
          for (const r of sample.splice(0)) await emit(r.at, r.text, r.values);
        }
        return;
      }
      await emit(at, text, p.values);
    };

    for await (const lines of input.lines()) {
      for (const line of lines) {
        lineNo++;
        if (pending !== '') {
          pending += '\n' + line;
          if (csvFields(pending, ctx.params.delimiter) === null) continue;
          const text = pending;
          pending = '';
          await record(pendingAt, text);
          continue;
        }
        if (line.trim() === '') continue;
        metrics.lines!++;
        if (format === 'csv') {
          const f = csvFields(line, ctx.params.delimiter);
          if (f === null) { pending = line; pendingAt = lineNo; continue; }
          if (header !== null && f.length === header.length && f.every((h, k) => h === header![k])) {
            metrics.lines!--;
            continue;
          }
          if (header === null) {
            if (f.length === 0 || f.some((h) => h === '')) throw new DagctlError('OPERATOR_INPUT_INVALID', `read-records: ${input.name} line ${lineNo}: the CSV header is malformed or has an empty column name`, { dataset: input.name, line: lineNo });
            header = f;
            metrics.lines!--;
            continue;
          }
        }
        await record(lineNo, line);
      }
    }
    if (pending !== '') await reject(pendingAt, pending, 'malformed');
    if (schema === null) {
      if (sample.length === 0 && header === null) return { metrics };
      infer();
      for (const r of sample.splice(0)) await emit(r.at, r.text, r.values);
    }
    await (writer as ChunkedWriter | null)?.flush();
    await rejects?.flush();
    metrics.rowsOut = (writer as ChunkedWriter | null)?.rows ?? 0;
    return { metrics };
  },
};
