/**
 * bloom-join: inner join of a large dataset (inputs[0]) with a small one (inputs[1]) that ships
 * only the large rows that may match (the book's Bloom join).
 *   'build'  ('single'): Bloom filter (lib/bloom.ts, m and k optimal for the small side's row count
 *            and `falsePositiveRate`) of the small side's keys → blob 'bloom'; in the same pass
 *            the small rows are shuffled by bucket(key) for 'reduce' (one read of the small side).
 *   'map'    ('partition' over the large side): probe the filter (deserialized once per instance);
 *            survivors are shuffled by bucket(key). Blob 'counts' = [rows in, survivors].
 *   'reduce' ('bucket'): loads the small rows of its bucket (ctx.stageOutput('build').bucket(b)),
 *            exact hash join.
 * Keys: one or more columns per side, compared by canonical value (lib/rows.ts keyOf); a null key
 * part never matches (SQL semantics). Output: the large row's columns, then the small row's
 * non-key columns (prefixed with `smallPrefix` when the name is taken); types from both inputs'
 * Parquet schemas (`columnTypes` overrides).
 * Metrics: rowsIn, survivors (map); falsePositives (survivors without a match), rowsOut (reduce);
 * selectivity (survivors / rowsIn, reported once by bucket 0).
 */
import { DagctlError } from '../core/errors.js';
import { bucketOf } from '../core/hash.js';
import type { Row, Schema } from '../storage/types.js';
import type { OperatorDef, StageResult } from './types.js';
import { BloomFilter } from './lib/sketches/bloom.js';
import { BucketedWriter, ChunkedWriter, keyOf, schemaOf } from './lib/rows.js';
import { bloomJoinDescriptor, type BloomJoinParams } from './bloom-join-descriptor.js';
export type { BloomJoinParams };

function hasNull(row: Row, cols: string[]): boolean {
  for (const c of cols) if (row[c] === null || row[c] === undefined) return true;
  return false;
}

export const bloomJoin: OperatorDef<BloomJoinParams> = {
  ...bloomJoinDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const B = ctx.buckets;
    const small = ctx.inputs[1]!;
    if (ctx.stage.name === 'build') {
      const f = BloomFilter.forCapacity(small.rows, p.falsePositiveRate);
      const schema = await schemaOf(small, p.columnTypes);
      const w = schema === null ? null : new BucketedWriter(ctx.shuffle.open(schema));
      let keys = 0;
      for await (const batch of small.batches()) {
        for (const row of batch) {
          if (hasNull(row, p.smallKey)) continue;
          const k = keyOf(row, p.smallKey);
          f.add(k);
          keys++;
          if (w!.push(bucketOf(k, B), row)) await w!.drain();
        }
      }
      await w?.flush();
      ctx.putBlob('bloom', f.serialize());
      return { metrics: { smallRows: keys, filterBits: f.m, filterHashes: f.k } };
    }
    if (ctx.stage.name === 'map') {
      const blob = ctx.prior!.blobs('bloom')[0];
      if (blob === undefined) throw new DagctlError('OPERATOR_INPUT_INVALID', 'bloom-join: no bloom filter from the build stage');
      const f = BloomFilter.deserialize(blob);
      const large = ctx.inputs[0]!;
      const schema = await schemaOf(large, p.columnTypes);
      const w = schema === null ? null : new BucketedWriter(ctx.shuffle.open(schema));
      let rowsIn = 0;
      for await (const batch of large.batches()) {
        for (const row of batch) {
          rowsIn++;
          if (hasNull(row, p.largeKey)) continue;
          const k = keyOf(row, p.largeKey);
          if (!f.has(k)) continue;
          if (w!.push(bucketOf(k, B), row)) await w!.drain();
        }
      }
      await w?.flush();
      const survivors = w?.rows ?? 0;
      const counts = new Uint8Array(16);
      const dv = new DataView(counts.buffer);
      dv.setFloat64(0, rowsIn, true);
      dv.setFloat64(8, survivors, true);
      ctx.putBlob('counts', counts);
      return { metrics: { rowsIn, survivors } };
    }
    // reduce: the small rows of this bucket (bucketed once by 'build'), then stream the survivors.
    const smallRows = new Map<string, Row[]>();
    const built = ctx.stageOutput('build');
    if (built !== null) {
      for await (const batch of built.bucket(ctx.bucket).batches()) {
        for (const row of batch) {
          const k = keyOf(row, p.smallKey);
          const list = smallRows.get(k);
          if (list === undefined) smallRows.set(k, [row]);
          else list.push(row);
        }
      }
    }
    let w = null as ChunkedWriter | null;
    let rename: Array<[string, string]> = [];
    let falsePositives = 0;
    for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
      for (const row of batch) {
        const matches = smallRows.get(keyOf(row, p.largeKey));
        if (matches === undefined) {
          falsePositives++;
          continue;
        }
        if (w === null) {
          const ls = (await schemaOf(ctx.inputs[0]!, p.columnTypes)) ?? [];
          const taken = new Set(ls.map((f) => f.name));
          const ss = ((await schemaOf(small, p.columnTypes)) ?? []).filter((f) => !p.smallKey.includes(f.name));
          rename = ss.map((f) => [f.name, taken.has(f.name) ? p.smallPrefix + f.name : f.name]);
          const schema: Schema = [...ls, ...ss.map((f, i) => ({ ...f, name: rename[i]![1] }))];
          w = new ChunkedWriter(ctx.outputs[0]!.open(schema));
        }
        for (const m of matches) {
          const out: Row = { ...row };
          for (const [from, to] of rename) out[to] = m[from] ?? null;
          if (w.push(out)) await w.flush();
        }
      }
    }
    await w?.flush();
    const metrics: Record<string, number> = { falsePositives, rowsOut: w?.rows ?? 0 };
    if (ctx.bucket === 0) {
      let rowsIn = 0, survivors = 0;
      for (const c of ctx.prior!.blobs('counts')) {
        const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
        rowsIn += dv.getFloat64(0, true);
        survivors += dv.getFloat64(8, true);
      }
      metrics.selectivity = rowsIn === 0 ? 0 : survivors / rowsIn;
    }
    return { metrics };
  },
};
