/**
 * partial-recompute: the birthday view (lib/birthday.ts) over master ages (inputs[0]) plus a new
 * batch of age samples (inputs[1]), recomputing only the persons with new samples (the book's
 * partial recomputation) — or everything (`mode: full`, or `auto` when lib/partial-plan.ts says
 * full is cheaper). Samples are a set: a sample present in both inputs counts once, so the result
 * is the same whether or not the batch was already appended to the master.
 *   'plan'      ('single'): one pass over the new batch: distinct persons → Bloom filter (blob
 *               'bloom'), and the samples shuffled by bucket(person). The mode (blob 'plan'):
 *               `auto` weighs partial vs full with the old view's exact row count (ctx.previous(0));
 *               partial without a previous view is full (metric fallbackFull). Partial (v3): the
 *               old view is read here once and its rows of unaffected persons are shuffled by
 *               bucket(person) into the same shuffle (kind column, PLAN_SCHEMA), so each recompute
 *               instance reads only its bucket — v2 had every bucket re-read the whole view (B×).
 *   'fetch'     ('partition' over the master): partial: the rows whose person passes the filter
 *               (the Bloom join of step 2); full: every row. Shuffled by bucket(person).
 *   'recompute' ('bucket', writes the view): the bucket of 'plan' (new samples, and in partial
 *               mode the kept old view rows), the bucket of 'fetch' (false positives dropped),
 *               then the recomputed persons replace/extend the kept rows.
 * Invariant (property-tested): partial result == full recompute, row for row.
 */
import { z } from 'zod';
import { bucketOf } from '../core/hash.js';
import type { Row, Schema } from '../storage/types.js';
import type { OperatorDef, StageResult, StageSpec } from './types.js';
import { BloomFilter } from './lib/bloom.js';
import { BucketedWriter, ChunkedWriter, int, str } from './lib/rows.js';
import { BucketsParam } from './lib/params.js';
import { inferBirthday, type AgeSample } from './lib/birthday.js';
import { choosePartialOrFull } from './lib/partial-plan.js';

export { choosePartialOrFull } from './lib/partial-plan.js';

const PartialParams = z
  .object({
    personColumn: z.string().default('person'),
    ageColumn: z.string().default('age'),
    tsColumn: z.string().default('ts'),
    mode: z.enum(['auto', 'partial', 'full']).default('auto'),
    falsePositiveRate: z.number().gt(0).lt(1).default(0.01),
    cost: z
      .object({
        scanUs: z.number().min(0), probeUs: z.number().min(0), shuffleUs: z.number().min(0), computeUs: z.number().min(0), rewriteUs: z.number().min(0),
      })
      .partial()
      .strict()
      .default({}),
    buckets: BucketsParam,
  })
  .strict();
export type PartialParams = z.infer<typeof PartialParams>;

export const BIRTHDAY_SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'birth_from', type: 'int64' },
  { name: 'birth_to', type: 'int64' },
  { name: 'samples', type: 'int64' },
  { name: 'support', type: 'int64' },
];
const SAMPLE_SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'age', type: 'int64' },
  { name: 'ts', type: 'int64' },
];
/**
 * The plan stage's shuffle: new samples (kind 0: age, ts) and kept old view rows (kind 1: the view
 * columns) in one schema, so a recompute instance reads both with one bucket read. The fields a
 * kind does not use are null.
 */
const KIND_SAMPLE = 0, KIND_VIEW = 1;
const PLAN_SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'kind', type: 'int32' },
  { name: 'age', type: 'int64', nullable: true },
  { name: 'ts', type: 'int64', nullable: true },
  { name: 'birth_from', type: 'int64', nullable: true },
  { name: 'birth_to', type: 'int64', nullable: true },
  { name: 'samples', type: 'int64', nullable: true },
  { name: 'support', type: 'int64', nullable: true },
];

type Mode = 'partial' | 'full';
const enc = new TextEncoder();
const dec = new TextDecoder();

function readPlan(blobs: Uint8Array[]): Mode {
  const b = blobs[0];
  return b !== undefined && dec.decode(b) === 'partial' ? 'partial' : 'full';
}

export const partialRecompute: OperatorDef<PartialParams> = {
  name: 'partial-recompute',
  version: '3',
  summary: 'Birthday view from age samples, recomputing only the persons with new samples (Bloom join).',
  params: PartialParams,
  cost: { overheadMs: 300, perUnitMs: 4, driver: 'rows' },
  inputs: { min: 2, max: 2 },
  outputs: { min: 1, max: 1 },
  stages(): StageSpec[] {
    return [
      { name: 'plan', fanout: 'single' },
      { name: 'fetch', fanout: 'partition' },
      { name: 'recompute', fanout: 'bucket', writesOutputs: true },
    ];
  },
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const B = ctx.buckets;
    const sample = (row: Row): AgeSample => ({ age: int(row, p.ageColumn), ts: int(row, p.tsColumn) });
    const cols = [p.personColumn, p.ageColumn, p.tsColumn];
    if (ctx.stage.name === 'plan') {
      const persons = new Set<string>();
      const w = new BucketedWriter(ctx.shuffle.open(PLAN_SCHEMA));
      for await (const batch of ctx.inputs[1]!.batches({ columns: cols })) {
        for (const row of batch) {
          const person = str(row, p.personColumn);
          persons.add(person);
          const row2: Row = { person, kind: KIND_SAMPLE, age: int(row, p.ageColumn), ts: int(row, p.tsColumn), birth_from: null, birth_to: null, samples: null, support: null };
          if (w.push(bucketOf(person, B), row2)) await w.drain();
        }
      }
      const newRows = w.rows;
      // Source datasets list files without row counts (rows unknown → 0): estimate the master's
      // rows from its bytes at the new batch's bytes per row (same schema).
      const master = ctx.inputs[0]!, fresh = ctx.inputs[1]!;
      const masterRows = master.rows > 0 || master.bytes === 0 ? master.rows : Math.round((master.bytes * Math.max(1, newRows)) / Math.max(1, fresh.bytes));
      const previous = p.mode === 'full' ? null : await ctx.previous(0);
      let mode: Mode = p.mode === 'auto'
        ? choosePartialOrFull(newRows, masterRows, previous?.rows ?? 0, { ...p.cost, falsePositiveRate: p.falsePositiveRate }, persons.size).mode
        : p.mode;
      // Nothing to patch without a previous view: partial is a full recompute.
      const fallbackFull = mode === 'partial' && previous === null ? 1 : 0;
      if (fallbackFull === 1) mode = 'full';
      // Partial: the old view, read once, bucketed like the samples. Rows of persons with new
      // samples are dropped here (recompute replaces them), so they are not shuffled at all.
      let viewRows = 0;
      if (mode === 'partial' && previous !== null) {
        for await (const batch of previous.batches()) {
          for (const row of batch) {
            const person = str(row, 'person');
            if (persons.has(person)) continue;
            viewRows++;
            const row2: Row = { person, kind: KIND_VIEW, age: null, ts: null, birth_from: int(row, 'birth_from'), birth_to: int(row, 'birth_to'), samples: int(row, 'samples'), support: int(row, 'support') };
            if (w.push(bucketOf(person, B), row2)) await w.drain();
          }
        }
      }
      await w.flush();
      const f = BloomFilter.forCapacity(persons.size, p.falsePositiveRate);
      for (const s of persons) f.add(s);
      ctx.putBlob('plan', enc.encode(mode));
      ctx.putBlob('bloom', f.serialize());
      return { metrics: { newRows, newPersons: persons.size, partial: mode === 'partial' ? 1 : 0, fallbackFull, viewShuffled: viewRows } };
    }
    if (ctx.stage.name === 'fetch') {
      const mode = readPlan(ctx.prior!.blobs('plan'));
      const blob = ctx.prior!.blobs('bloom')[0];
      const f = mode === 'partial' && blob !== undefined ? BloomFilter.deserialize(blob) : null;
      const w = new BucketedWriter(ctx.shuffle.open(SAMPLE_SCHEMA));
      let rowsIn = 0;
      for await (const batch of ctx.inputs[0]!.batches({ columns: cols })) {
        for (const row of batch) {
          rowsIn++;
          const person = str(row, p.personColumn);
          if (f !== null && !f.has(person)) continue;
          if (w.push(bucketOf(person, B), { person, ...sample(row) })) await w.drain();
        }
      }
      await w.flush();
      ctx.putBlob('plan', enc.encode(mode));
      return { metrics: { masterRows: rowsIn, fetched: w.rows } };
    }
    // recompute
    const mode = readPlan(ctx.prior!.blobs('plan'));
    const samples = new Map<string, AgeSample[]>();
    const addSample = (person: string, s: AgeSample): void => {
      const l = samples.get(person);
      if (l === undefined) samples.set(person, [s]);
      else l.push(s);
    };
    const affected = new Set<string>();
    const out = new Map<string, Row>();
    let kept = 0;
    const planOfBucket = ctx.stageOutput('plan');
    if (planOfBucket !== null) {
      for await (const batch of planOfBucket.bucket(ctx.bucket).batches()) {
        for (const row of batch) {
          const person = row.person as string;
          if (row.kind === KIND_VIEW) {
            // An old view row of a person without new samples (plan dropped the others).
            out.set(person, { person, birth_from: row.birth_from as number, birth_to: row.birth_to as number, samples: row.samples as number, support: row.support as number });
            kept++;
            continue;
          }
          affected.add(person);
          addSample(person, { age: row.age as number, ts: row.ts as number });
        }
      }
    }
    let matched = 0, falsePositives = 0;
    for await (const batch of ctx.prior!.bucket(ctx.bucket).batches()) {
      for (const row of batch) {
        const person = row.person as string;
        if (mode === 'partial' && !affected.has(person)) {
          falsePositives++;
          continue;
        }
        matched++;
        addSample(person, { age: row.age as number, ts: row.ts as number });
      }
    }
    for (const [person, list] of samples) {
      const b = inferBirthday(list);
      if (b !== null) out.set(person, { person, ...b });
    }
    if (out.size > 0) {
      const w = new ChunkedWriter(ctx.outputs[0]!.open(BIRTHDAY_SCHEMA));
      for (const person of [...out.keys()].sort()) if (w.push(out.get(person)!)) await w.flush();
      await w.flush();
    }
    return { metrics: { recomputed: samples.size, kept, matched, falsePositives, viewRows: out.size } };
  },
};

