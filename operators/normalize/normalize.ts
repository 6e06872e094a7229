/**
 * normalize: canonical URLs (operators/lib/text/url.ts) and typed person identifiers
 * (operators/lib/text/identifiers.ts) in the configured columns, partition by partition (one stage,
 * 'partition' fan-out, no shuffle). Rows whose URL or identifier cannot be normalized go to the
 * optional second output (the original row plus `reason`) and are counted as `rejected.<reason>`.
 * Other columns pass through unchanged. Idempotent: normalizing normalized rows changes nothing.
 * Contract: the configured columns must be string columns in every input file (`requires`; the
 * task runner fails the instance with DATASET_SCHEMA_MISMATCH otherwise); a null there → reason
 * `null_value`; a null in a column the input dataset declares non-null → `null_value:<column>`;
 * bytes that are not UTF-8 (rows the reader marks, storage/parquet/utf8.ts) → `invalid_utf8` (URL
 * column), `id_invalid_utf8` (id column) or `invalid_utf8:<column>`.
 * URL memo: an LruCache of `cacheSize` entries keyed by urlCacheKey (scheme/host case and fragment
 * folded, so a raw variant of a cached URL hits).
 */
import { invalidUtf8Columns } from '../../storage/parquet/utf8.js';
import type { Row } from '../../storage/types.js';
import type { OperatorDef, StageResult } from '../types.js';
import { urlCacheKey, urlNormalizer, type UrlResult } from '../lib/text/url.js';
import { normalizeIdentifier } from '../lib/text/identifiers.js';
import { LruCache } from './lru.js';
import { ChunkedWriter, schemaOf } from '../lib/rows.js';
import { normalizeDescriptor, type NormalizeParams } from './descriptor.js';
export type { NormalizeParams };

export const normalize: OperatorDef<NormalizeParams> = {
  ...normalizeDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const normUrl = urlNormalizer(p);
    const cache = new LruCache<string, UrlResult>(p.cacheSize);
    const metrics: Record<string, number> = { rowsIn: 0, rowsOut: 0, rejected: 0 };
    let main: ChunkedWriter | null = null;
    let rejects: ChunkedWriter | null = null;
    const rejectsHandle = ctx.outputs[1];
    // Output schema: the input's Parquet schema, normalized columns as strings; the rejects
    // output keeps every column nullable (a reject may be a null URL) plus `reason`.
    const schema = await schemaOf(ctx.inputs[0]!, p.columnTypes);
    if (schema !== null) {
      for (const f of schema) if (p.urlColumns.includes(f.name) || p.idColumns.includes(f.name)) f.type = 'string';
      main = new ChunkedWriter(ctx.outputs[0]!.open(schema));
      if (rejectsHandle !== undefined) {
        const rs = [...schema.filter((f) => f.name !== 'reason').map((f) => ({ ...f, nullable: true })), { name: 'reason', type: 'string' as const }];
        rejects = new ChunkedWriter(rejectsHandle.open(rs));
      }
    }
    const notNull = ctx.inputs[0]!.notNull ?? [];
    // Text that is not UTF-8 is kept by the reader only marked (storage/parquet/utf8.ts): such a
    // row goes to rejects, naming the column when it is neither a URL nor an id column.
    for await (const batch of ctx.inputs[0]!.batches({ invalidUtf8: 'mark' })) {
      if (main === null) continue;
      for (const row of batch) {
        metrics.rowsIn!++;
        // Normalized in place (the batch's rows are this stage's own); a reject gets its original
        // values back from `was` (column, value pairs of what was replaced).
        const out: Row = row;
        let was: [string, Row[string]][] | null = null;
        let reason: string | null = null;
        const invalid = invalidUtf8Columns(row);
        if (invalid !== undefined) {
          const c = invalid[0]!;
          reason = p.urlColumns.includes(c) ? 'invalid_utf8' : p.idColumns.includes(c) ? 'id_invalid_utf8' : `invalid_utf8:${c}`;
        }
        if (reason === null) for (const c of notNull) {
          if (row[c] === null || row[c] === undefined) { reason = `null_value:${c}`; break; }
        }
        if (reason === null) for (const c of p.urlColumns) {
          const v = row[c];
          if (typeof v !== 'string') { reason = 'null_value'; break; }
          const r = cache.getOrCompute(urlCacheKey(v), normUrl);
          if (!r.ok) { reason = r.reason; break; }
          if (r.url !== v) (was ??= []).push([c, v]);
          out[c] = r.url;
        }
        if (reason === null) {
          for (const c of p.idColumns) {
            const v = row[c];
            if (typeof v !== 'string') { reason = 'null_value'; break; }
            const r = normalizeIdentifier(v, p);
            if (!r.ok) { reason = r.reason; break; }
            if (r.id !== v) (was ??= []).push([c, v]);
            out[c] = r.id;
          }
        }
        if (reason === null) {
          if (main.push(out)) await main.flush();
        } else {
          metrics.rejected!++;
          metrics[`rejected.${reason}`] = (metrics[`rejected.${reason}`] ?? 0) + 1;
          if (was !== null) for (const [c, v] of was) row[c] = v;
          if (rejects !== null) await rejects.add({ ...row, reason });
        }
      }
    }
    await main?.flush();
    await rejects?.flush();
    metrics.rowsOut = main?.rows ?? 0;
    metrics.cacheHits = cache.hits;
    metrics.cacheMisses = cache.misses;
    return { metrics };
  },
};
