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
 * folded, so a raw variant of a cached URL hits), one per thread and URL options (kept across
 * instances; cacheHits/cacheMisses are this instance's lookups); beside it, for the column path, the
 * results by the raw value's bytes (columnar.ts RawUrls, same lifetime; per instance when cacheSize is 0).
 * Two paths, same output rows and rejects: column-at-a-time over the raw Parquet files
 * (operators/normalize/columnar.ts: REQUIRED string/int64 schemas whose strings are all URL or id
 * columns, an output writer taking column batches, no columnTypes), file by file, a file it
 * refuses read as rows; and the row path for everything else.
 */
import { invalidUtf8Columns } from '../../storage/parquet/utf8.js';
import { decodeWithFallback, defaultCodec } from '../../storage/parquet/registry.js';
import { DEFAULT_MAX_ROWS } from '../../storage/dataset/writer.js';
import { withUtf8File } from '../../storage/parquet/utf8.js';
import type { Row } from '../../storage/types.js';
import type { OperatorDef, OutputWriter, StageResult } from '../types.js';
import { urlCacheKey, urlNormalizer, type UrlResult } from '../lib/text/url.js';
import { normalizeIdentifier } from '../lib/text/identifiers.js';
import { LruCache } from './lru.js';
import { ChunkedWriter, schemaOf } from '../lib/rows.js';
import { columnarPlan, ColumnarNormalizer, fileColumns, POOL_MAX_BYTES, RawUrls } from './columnar.js';
import { normalizeDescriptor, type NormalizeParams } from './descriptor.js';
export type { NormalizeParams };

/**
 * URL normalizers with their memo, per thread, by options: a pure function's cache, so instances
 * of a task (and of tasks with the same URL options) running on one thread share it — each
 * partition no longer normalizes the URLs the previous one did. A few option sets at most.
 */
interface UrlMemo { normUrl: (raw: string) => UrlResult; cache: LruCache<string, UrlResult>; raw: RawUrls }
const urlMemos = new Map<string, UrlMemo>();
function urlMemo(p: NormalizeParams): UrlMemo {
  const key = JSON.stringify([p.stripParams, p.foldWww, p.trailingSlash, p.dropQuery, p.defaultScheme, p.cacheSize]);
  let m = urlMemos.get(key);
  if (m === undefined) {
    if (urlMemos.size >= 8) urlMemos.clear();
    m = { normUrl: urlNormalizer(p), cache: new LruCache<string, UrlResult>(p.cacheSize), raw: new RawUrls() };
    urlMemos.set(key, m);
  }
  return m;
}

export const normalize: OperatorDef<NormalizeParams> = {
  ...normalizeDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const { normUrl, cache, raw } = urlMemo(p);
    const hits0 = cache.hits, misses0 = cache.misses;
    const metrics: Record<string, number> = { rowsIn: 0, rowsOut: 0, rejected: 0 };
    let mainWriter: OutputWriter | null = null;
    let main: ChunkedWriter | null = null;
    let rejects: ChunkedWriter | null = null;
    const rejectsHandle = ctx.outputs[1];
    const input = ctx.inputs[0]!;
    // Output schema: the input's Parquet schema, normalized columns as strings; the rejects
    // output keeps every column nullable (a reject may be a null URL) plus `reason`.
    const schema = await schemaOf(input, p.columnTypes);
    if (schema !== null) {
      for (const f of schema) if (p.urlColumns.includes(f.name) || p.idColumns.includes(f.name)) f.type = 'string';
      mainWriter = ctx.outputs[0]!.open(schema);
      main = new ChunkedWriter(mainWriter);
      if (rejectsHandle !== undefined) {
        const rs = [...schema.filter((f) => f.name !== 'reason').map((f) => ({ ...f, nullable: true })), { name: 'reason', type: 'string' as const }];
        rejects = new ChunkedWriter(rejectsHandle.open(rs));
      }
    }
    const notNull = input.notNull ?? [];
    const reject = async (row: Row, reason: string): Promise<void> => {
      metrics.rejected!++;
      metrics[`rejected.${reason}`] = (metrics[`rejected.${reason}`] ?? 0) + 1;
      if (rejects !== null) await rejects.add({ ...row, reason });
    };
    /** The row path: one row normalized in place, then kept or rejected (a promise only when it writes). */
    const row1 = (row: Row): Promise<void> | null => {
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
      if (reason === null) return main!.push(out) ? main!.flush() : null;
      if (was !== null) for (const [c, v] of was) row[c] = v;
      return reject(row, reason);
    };
    const writeColumns = mainWriter?.writeColumns;
    const roles = schema !== null && mainWriter !== null && writeColumns !== undefined && Object.keys(p.columnTypes).length === 0 ? columnarPlan(schema, p.urlColumns, p.idColumns) : null;
    const files = roles !== null ? input.rawFiles?.() : undefined;
    if (schema !== null && roles !== null && files !== undefined && writeColumns !== undefined) {
      // Column at a time, file by file; a file the column path refuses is read as rows.
      const col = new ColumnarNormalizer(schema, roles, p.urlColumns, p.idColumns, normUrl, cache, p, DEFAULT_MAX_ROWS, {
        write: (batch) => writeColumns.call(mainWriter, batch),
        reject: (row, reason) => rejects === null ? Promise.resolve() : rejects.add({ ...row, reason }),
      }, metrics, POOL_MAX_BYTES, p.cacheSize > 0 ? raw : new RawUrls());
      const codec = defaultCodec();
      let current = '';
      try {
        for (const rf of files) {
          current = rf.path;
          const bytes = await rf.read();
          const groups = await fileColumns(bytes, schema);
          if (groups !== null) {
            await col.file(groups);
            metrics.columnarFiles = (metrics.columnarFiles ?? 0) + 1;
            continue;
          }
          await col.flush();
          for await (const batch of decodeWithFallback(codec, bytes, { invalidUtf8: 'mark' })) for (const row of batch) {
            const w = row1(row);
            if (w !== null) await w;
          }
          await main!.flush();
        }
      } catch (e) {
        throw withUtf8File(e, current);
      }
      await col.flush();
      metrics.cacheHits = col.hits + cache.hits - hits0;
      metrics.cacheMisses = cache.misses - misses0;
      await main!.flush();
      await rejects?.flush();
      metrics.rowsOut = main!.rows + col.rowsOut;
      return { metrics };
    }
    // Text that is not UTF-8 is kept by the reader only marked (storage/parquet/utf8.ts): such a
    // row goes to rejects, naming the column when it is neither a URL nor an id column.
    for await (const batch of input.batches({ invalidUtf8: 'mark' })) {
      if (main === null) continue;
      for (const row of batch) {
        const w = row1(row);
        if (w !== null) await w;
      }
    }
    await main?.flush();
    await rejects?.flush();
    metrics.rowsOut = main?.rows ?? 0;
    metrics.cacheHits = cache.hits - hits0;
    metrics.cacheMisses = cache.misses - misses0;
    return { metrics };
  },
};
