/**
 * lib/shuffle-samples.ts against its oracle, the row path (decodeShuffle rows → SampleTable.add,
 * or has() then add() with knownOnly): the same persons in the same id order, the same samples in
 * the same order (observed through infer(), which reads them newest first), the same counts —
 * for dictionary-encoded and plain person columns, several blocks, a pre-seeded table. Files it
 * must not take (null person, missing column, not DGSH) return null and leave the table as it was.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addShuffleSamples } from '../../operators/partial-recompute/shuffle-samples.js';
import { SampleTable } from '../../operators/partial-recompute/sample-table.js';
import { decodeShuffle, encodeShuffle } from '../../storage/shuffle/format.js';
import type { Row, Schema } from '../../storage/types.js';

const SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'age', type: 'int64' },
  { name: 'ts', type: 'int64' },
];
const NULLABLE: Schema = [{ name: 'person', type: 'string', nullable: true }, SCHEMA[1]!, SCHEMA[2]!];
const T = 1_600_000_000;

/** What a table holds, in order: persons (id order) and each one's inferred row. */
function dump(t: SampleTable): string[] {
  const out: string[] = [`size ${t.size}`, ...t.persons];
  t.infer((p, from, to, n, support) => out.push(`${p} ${from} ${to} ${n} ${support}`));
  return out;
}

function seeded(seed: Row[]): SampleTable {
  const t = new SampleTable();
  for (const r of seed) t.add(r.person as string, r.age as number, r.ts as number);
  return t;
}

describe('lib/shuffle-samples', () => {
  it('== the row path: ids, samples and their order, counts (fast-check)', () => {
    // A small pool repeats (the file stores a dictionary), a large one mostly does not (plain).
    const row = (pool: number): fc.Arbitrary<Row> => fc.record({ person: fc.integer({ min: 0, max: pool }).map((i) => `p:${i}`), age: fc.integer({ min: 0, max: 90 }), ts: fc.integer({ min: 0, max: 40 }).map((k) => T + k * 9_000_000) }, { noNullPrototype: true });
    const rows = fc.oneof(fc.array(row(8), { maxLength: 300 }), fc.array(row(100_000), { maxLength: 300 }), fc.array(row(8), { minLength: 9000, maxLength: 9000 }));
    fc.assert(fc.property(rows, fc.array(row(40), { maxLength: 20 }), fc.boolean(), (file, seed, knownOnly) => {
      const bytes = encodeShuffle(SCHEMA, file);
      const a = seeded(seed), b = seeded(seed);
      const got = addShuffleSamples(bytes, a, knownOnly);
      let matched = 0, dropped = 0;
      for (const batch of decodeShuffle(bytes)) {
        for (const r of batch) {
          const p = r.person as string;
          if (knownOnly && !b.has(p)) { dropped++; continue; }
          matched++;
          b.add(p, r.age as number, r.ts as number);
        }
      }
      assert.deepEqual(got, { matched, dropped });
      assert.deepEqual(dump(a), dump(b));
    }), { numRuns: 120 });
  });

  it('returns null and adds nothing for a null person, a missing column, or bytes that are not DGSH', () => {
    const seed = [{ person: 'p:1', age: 30, ts: T }];
    const cases = [
      encodeShuffle(NULLABLE, [{ person: 'p:1', age: 31, ts: T }, { person: null, age: 1, ts: T }]),
      encodeShuffle(NULLABLE, Array.from({ length: 50 }, (_, i) => ({ person: i === 49 ? null : `p:${i % 3}`, age: 1, ts: T }))),
      encodeShuffle([SCHEMA[0]!, SCHEMA[1]!], [{ person: 'p:1', age: 31 }]),
      new Uint8Array([1, 2, 3, 4]),
    ];
    for (const bytes of cases) {
      const t = seeded(seed);
      assert.equal(addShuffleSamples(bytes, t, false), null);
      assert.deepEqual(dump(t), dump(seeded(seed)));
    }
  });
});
