/**
 * dedupe: removes duplicates on a key (default: all columns) across all partitions.
 * Stage 'map' ('partition'): each row goes to bucket bucketOf(key). Stage 'reduce' ('bucket'):
 * one survivor per key, chosen deterministically — the smallest (`keep: first`) or largest
 * (`keep: last`) `orderBy` value, ties (and the no-orderBy case) broken by the smallest canonical
 * row (lib/rows.ts canonicalRow) — so the result never depends on arrival order. Output rows are
 * ordered by key hash, then key values (RowIndex.sortedRows) within a bucket. Rows are routed and
 * indexed by a numeric hash of the key columns (lib/row-index.ts: no per-row key string), which the
 * map writes into the shuffle as one more column (HASH_FIELD; the reduce's output leaves it out). Memory:
 * a reduce instance holds its bucket's survivors (the columnar path: its whole input, decoded, ~40 B per
 * pageview row).
 * Schemas come from the input's Parquet schema (InputHandle.schema(); `columnTypes` overrides).
 * Fast paths (same result): the map reads raw Parquet files column at a time and writes shuffle
 * blocks from their bytes (byte-map.ts) when every field is a REQUIRED string or int64; when the
 * key covers every column, rows with equal keys are equal, so the first one is kept with no
 * comparison; canonical rows are computed only on ties; and when the reduce input is DGSH shuffle
 * files, the whole-row reduce works from their bytes to column batches (byte-distinct.ts) when the
 * output writer takes them, else columnar to rows (distinct-merge.ts).
 */
import type { OperatorDef, StageResult } from '../types.js';
import { BucketedWriter, canonicalRow, ChunkedWriter, compareValues, schemaOf } from '../lib/rows.js';
import { HASH_FIELD, KeyHasher, RowIndex, shuffleSchema } from './row-index.js';
import { ShuffleDistinct } from './distinct-merge.js';
import type { InputHandle, OutputWriter } from '../types.js';
import type { Row } from '../../storage/types.js';
import { ByteDistinct } from './byte-distinct.js';
import { isShuffleFile } from '../../storage/shuffle/format.js';
import { dedupeDescriptor, type DedupeParams } from './descriptor.js';
import { ByteMapper, byteMapApplies } from './byte-map.js';
import { fileColumns } from '../normalize/columnar.js';
import { decodeWithFallback, defaultCodec } from '../../storage/parquet/registry.js';
import { withUtf8File } from '../../storage/parquet/utf8.js';
export type { DedupeParams };

/**
 * The whole-row reduce over the input's raw DGSH files (lib/distinct-merge.ts), or null when the
 * input has no raw files or one is not a shuffle file holding every column (then rows are read).
 */
async function distinctFromShuffle<D extends { add(bytes: Uint8Array): boolean; reserve?(rows: number): void; seen: number }>(input: InputHandle, d: D): Promise<D | null> {
  const files = input.rawFiles?.();
  if (files === undefined || files.length === 0) return null;
  const total = files.reduce((n, f) => n + f.bytes, 0);
  for (const f of files) {
    const bytes = await f.read();
    if (!isShuffleFile(bytes) || !d.add(bytes)) return null;
    // After the first file: rows in all estimated by bytes (the map's files are alike), so arrays
    // are sized once instead of doubled up to it.
    if (f === files[0] && bytes.byteLength > 0 && total > 0) d.reserve?.(Math.min((d.seen * total * 1.05) / bytes.byteLength, 4 * d.seen * files.length));
  }
  return d;
}

export const dedupe: OperatorDef<DedupeParams> = {
  ...dedupeDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const input = ctx.stage.name === 'map' ? ctx.inputs[0]! : ctx.prior!.bucket(ctx.bucket);
    // The reduce's input is the shuffle: the input's fields, then the rows' hashes (HASH_FIELD).
    const read = await schemaOf(input, p.columnTypes);
    if (read === null) return { metrics: ctx.stage.name === 'map' ? { rowsIn: 0 } : { rowsOut: 0, removed: 0 } };
    const schema = ctx.stage.name === 'map' ? read : read.filter((f) => f.name !== HASH_FIELD);
    const cols = schema.map((f) => f.name);
    const keyCols = p.key ?? [...cols].sort();
    if (ctx.stage.name === 'map') {
      const sw = ctx.shuffle.open(shuffleSchema(schema));
      const w = new BucketedWriter(sw);
      const B = ctx.buckets;
      const hasher = new KeyHasher(keyCols);
      const writeBlock = sw.writeBlock;
      const files = writeBlock !== undefined && Object.keys(p.columnTypes).length === 0 && byteMapApplies(schema, keyCols) ? input.rawFiles?.() : undefined;
      if (files !== undefined && writeBlock !== undefined) {
        // Column at a time from the files' bytes; a file the byte path refuses is read as rows.
        const m = new ByteMapper(schema, keyCols, B);
        const sink = (b: number, block: Uint8Array, rows: number): Promise<void> => writeBlock.call(sw, b, block, rows);
        const codec = defaultCodec();
        for (const f of files) {
          const bytes = await f.read();
          const groups = await fileColumns(bytes, schema);
          if (groups !== null && (await m.file(groups, sink))) continue;
          try {
            for await (const batch of decodeWithFallback(codec, bytes)) {
              for (const row of batch) if (w.push(route(hasher, keyCols, row, B), row)) await w.drain();
            }
          } catch (e) {
            throw withUtf8File(e, f.path);
          }
        }
        await w.flush();
        return { metrics: { rowsIn: w.rows + m.rows } };
      }
      for await (const batch of input.batches()) {
        for (const row of batch) if (w.push(route(hasher, keyCols, row, B), row)) await w.drain();
      }
      await w.flush();
      return { metrics: { rowsIn: w.rows } };
    }
    // reduce
    const wholeRow = cols.every((c) => keyCols.includes(c));
    if (wholeRow && keyCols.length === cols.length && new Set(keyCols).size === cols.length) {
      const w = ctx.outputs[0]!.open(schema);
      const writeColumns = w.writeColumns;
      if (writeColumns !== undefined && byteMapApplies(schema, keyCols)) {
        // From the shuffle bytes to column batches (byte-distinct.ts).
        const bytes = await distinctFromShuffle(input, new ByteDistinct(cols, keyCols));
        if (bytes !== null) {
          for (const batch of bytes.batches()) await writeColumns.call(w, batch);
          return { metrics: { rowsOut: bytes.emitted, removed: bytes.seen - bytes.emitted } };
        }
      }
      const fast = await distinctFromShuffle(input, new ShuffleDistinct(cols, keyCols));
      if (fast !== null) {
        for (const rows of fast.rows()) await w.write(rows);
        return { metrics: { rowsOut: fast.emitted, removed: fast.seen - fast.emitted } };
      }
      return rowReduce(ctx.params, input, cols, keyCols, wholeRow, w);
    }
    return rowReduce(ctx.params, input, cols, keyCols, wholeRow, ctx.outputs[0]!.open(schema));
  },
};

/** String methods of ES2024 that Node 20 has (tsconfig's lib is ES2023). */
type WellFormed = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * The row's bucket; records its hash in the row (HASH_FIELD) for the shuffle. A key value with a
 * lone surrogate is replaced by its well-formed form first (U+FFFD, as the shuffle and Parquet
 * writers store it), so rows equal as stored carry one hash and one bucket.
 */
function route(hasher: KeyHasher, keyCols: readonly string[], row: Row, B: number): number {
  for (let i = 0; i < keyCols.length; i++) {
    const v = row[keyCols[i]!];
    if (typeof v === 'string' && !(v as WellFormed).isWellFormed()) row[keyCols[i]!] = (v as WellFormed).toWellFormed();
  }
  const h = hasher.hash(row);
  row[HASH_FIELD] = h | 0;
  return h % B;
}

/** The reduce over decoded rows (any key, orderBy, keep): see the banner. */
async function rowReduce(p: DedupeParams, input: InputHandle, cols: readonly string[], keyCols: readonly string[], wholeRow: boolean, out: OutputWriter): Promise<StageResult> {
  const index = new RowIndex(keyCols, input.rows);
  // Tie-break state, parallel to index.rows: canonical strings, computed only on ties.
  const canon: Array<string | null> = [];
  let seen = 0;
  // The input's fields only: not the shuffle's hash column.
  for await (const batch of input.batches({ columns: [...cols] })) {
    for (const row of batch) {
      seen++;
      const at = index.findOrAdd(row);
      if (at === -1) {
        if (!wholeRow) canon.push(null);
        continue;
      }
      if (wholeRow) continue;
      const cur = index.rows[at]!;
      let c = 0;
      if (p.orderBy !== null) {
        c = compareValues(row[p.orderBy], cur[p.orderBy]);
        if (p.keep === 'last') c = -c;
      }
      if (c < 0) {
        index.rows[at] = row;
        canon[at] = null;
      } else if (c === 0) {
        const cr = canonicalRow(row);
        const cc = canon[at] ?? canonicalRow(cur);
        canon[at] = cc;
        if (cr < cc) {
          index.rows[at] = row;
          canon[at] = cr;
        }
      }
    }
  }
  const n = index.size;
  if (n > 0) {
    const rows = index.sortedRows((x, y) => {
      for (const col of keyCols) {
        const c = compareValues(x[col], y[col]);
        if (c !== 0) return c;
      }
      return 0;
    });
    const w = new ChunkedWriter(out);
    for (const r of rows) if (w.push(r)) await w.flush();
    await w.flush();
  }
  return { metrics: { rowsOut: n, removed: seen - n } };
}
