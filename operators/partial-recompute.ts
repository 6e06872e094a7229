/**
 * partial-recompute: the birthday view (lib/birthday.ts) over master ages (inputs[0]) plus a new
 * batch of age samples (inputs[1]), recomputing only the persons with new samples (the book's
 * partial recomputation) — or everything (`mode: full`, or `auto` when lib/partial-plan.ts says
 * full is cheaper). Samples are a set: a sample present in both inputs counts once, so the result
 * is the same whether or not the batch was already appended to the master.
 *   'plan'      ('single'): distinct persons of the new batch → Bloom filter (blob 'bloom'),
 *               the chosen mode (blob 'plan').
 *   'fetch'     ('partition' over the master): partial: the rows whose person passes the filter
 *               (the Bloom join of step 2); full: every row. Shuffled by bucket(person).
 *   'recompute' ('bucket', writes the view): the bucket's new samples (streamed from inputs[1],
 *               bucket(person) = b — contract gap, see docs), then partial: old view rows of the
 *               bucket (outputs[0].previous()) with the affected persons' rows replaced and new
 *               persons added; full: every person of the bucket. Partial without a previous view
 *               falls back to full for the bucket by streaming the master (metric fallbackFull).
 * Invariant (property-tested): partial result == full recompute, row for row.
 */
import { z } from 'zod';
import { bucketOf } from '../core/hash.js';
import type { Row, Schema } from '../storage/types.js';
import type { InputHandle, OperatorDef, StageResult, StageSpec } from './types.js';
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

type Mode = 'partial' | 'full';
const enc = new TextEncoder();
const dec = new TextDecoder();

function readPlan(blobs: Uint8Array[]): Mode {
  const b = blobs[0];
  return b !== undefined && dec.decode(b) === 'partial' ? 'partial' : 'full';
}

export const partialRecompute: OperatorDef<PartialParams> = {
  name: 'partial-recompute',
  version: '1',
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
      let newRows = 0;
      for await (const batch of ctx.inputs[1]!.batches({ columns: [p.personColumn] })) {
        for (const row of batch) {
          persons.add(str(row, p.personColumn));
          newRows++;
        }
      }
      const masterRows = ctx.inputs[0]!.rows;
      let mode: Mode;
      if (p.mode === 'auto') {
        // The old view's size is not visible to this stage (contract gap): estimate it as
        // master rows / samples per person, the latter measured on the new batch.
        const perPerson = persons.size === 0 ? 1 : newRows / persons.size;
        mode = choosePartialOrFull(newRows, masterRows, Math.ceil(masterRows / perPerson), { ...p.cost, falsePositiveRate: p.falsePositiveRate }, persons.size).mode;
      } else mode = p.mode;
      const f = BloomFilter.forCapacity(persons.size, p.falsePositiveRate);
      for (const s of persons) f.add(s);
      ctx.putBlob('plan', enc.encode(mode));
      ctx.putBlob('bloom', f.serialize());
      return { metrics: { newRows, newPersons: persons.size, partial: mode === 'partial' ? 1 : 0 } };
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
          await w.add(bucketOf(person, B), { person, ...sample(row) });
        }
      }
      await w.flush();
      ctx.putBlob('plan', enc.encode(mode));
      return { metrics: { masterRows: rowsIn, fetched: w.rows } };
    }
    // recompute
    let mode = readPlan(ctx.prior!.blobs('plan'));
    const samples = new Map<string, AgeSample[]>();
    const addSample = (person: string, s: AgeSample): void => {
      const l = samples.get(person);
      if (l === undefined) samples.set(person, [s]);
      else l.push(s);
    };
    const affected = new Set<string>();
    for await (const batch of ctx.inputs[1]!.batches({ columns: cols })) {
      for (const row of batch) {
        const person = str(row, p.personColumn);
        if (bucketOf(person, B) !== ctx.bucket) continue;
        affected.add(person);
        addSample(person, sample(row));
      }
    }
    const previous = mode === 'partial' ? await ctx.outputs[0]!.previous() : null;
    let fallbackFull = 0;
    let master: InputHandle = ctx.prior!.bucket(ctx.bucket);
    if (mode === 'partial' && previous === null) {
      mode = 'full';
      fallbackFull = 1;
      master = ctx.inputs[0]!;
    }
    let matched = 0, falsePositives = 0;
    for await (const batch of master.batches({ columns: cols })) {
      for (const row of batch) {
        const person = str(row, p.personColumn);
        if (master === ctx.inputs[0] && bucketOf(person, B) !== ctx.bucket) continue;
        if (mode === 'partial' && !affected.has(person)) {
          falsePositives++;
          continue;
        }
        matched++;
        addSample(person, sample(row));
      }
    }
    const out = new Map<string, Row>();
    let kept = 0;
    if (mode === 'partial' && previous !== null) {
      for await (const batch of previous.batches()) {
        for (const row of batch) {
          const person = str(row, 'person');
          if (bucketOf(person, B) !== ctx.bucket || affected.has(person)) continue;
          out.set(person, row);
          kept++;
        }
      }
    }
    for (const [person, list] of samples) {
      const b = inferBirthday(list);
      if (b !== null) out.set(person, { person, ...b });
    }
    if (out.size > 0) {
      const w = new ChunkedWriter(ctx.outputs[0]!.open(BIRTHDAY_SCHEMA));
      for (const person of [...out.keys()].sort()) await w.add(out.get(person)!);
      await w.flush();
    }
    return { metrics: { recomputed: samples.size, kept, matched, falsePositives, fallbackFull, viewRows: out.size } };
  },
};

