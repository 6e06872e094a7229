/**
 * Age samples from a DGSH shuffle file (storage/shuffle/format.ts) into a SampleTable, column at a
 * time — partial-recompute's recompute stage reading the fetched master rows:
 *
 *   const c = addShuffleSamples(bytes, table, knownOnly)  // { matched, dropped } | null
 *
 * Decodes the file into columns (decodeShuffleBlocks: no row object per sample) and adds row i as
 * table.add(person[i], age[i], ts[i]), rows in file order — exactly what reading the file as rows
 * and calling add() per row does, samples in the same order, persons given ids in the same
 * (first-seen) order. A dictionary-encoded person column is looked up once per entry, not per row.
 * knownOnly: only rows whose person already has samples are added (the others are counted as
 * dropped: partial mode's Bloom false positives), as `if (!table.has(p)) dropped++; else add`.
 * Returns null, having added nothing, when the file is not DGSH, lacks one of the columns, holds a
 * non-string person column or a null person: the caller then reads it as rows.
 */
import { decodeShuffleBlocks, isShuffleFile, PLAIN_NULL, type ShuffleColumn } from '../../storage/shuffle/format.js';
import type { SampleTable } from './sample-table.js';

export interface SampleCounts {
  matched: number;
  dropped: number;
}

export function addShuffleSamples(bytes: Uint8Array, table: SampleTable, knownOnly: boolean, names: { person: string; age: string; ts: string } = { person: 'person', age: 'age', ts: 'ts' }): SampleCounts | null {
  if (!isShuffleFile(bytes)) return null;
  const { schema, blocks } = decodeShuffleBlocks(bytes);
  const at = [names.person, names.age, names.ts].map((nm) => schema.findIndex((f) => f.name === nm));
  if (at.includes(-1)) return null;
  const [pc, ac, tc] = at as [number, number, number];
  // Everything checked before the first add: a fallback must see an untouched table.
  for (const b of blocks) {
    const p = b.columns[pc]!;
    if (p.kind === 'values' || b.columns[ac]!.kind !== 'values' || b.columns[tc]!.kind !== 'values') return null;
    if (hasNull(p, b.rows)) return null;
  }
  let matched = 0, dropped = 0;
  for (const b of blocks) {
    const n = b.rows;
    const p = b.columns[pc]!;
    const age = (b.columns[ac] as { values: ArrayLike<number> }).values;
    const ts = (b.columns[tc] as { values: ArrayLike<number> }).values;
    if (p.kind === 'dict') {
      // Entry → id, resolved at the entry's first row (ids stay in first-seen order): -2 unresolved.
      const ids = new Int32Array(p.dict.length).fill(-2);
      for (let i = 0; i < n; i++) {
        const e = p.idx[i]!;
        let id = ids[e]!;
        if (id === -2) {
          const person = p.dict[e]!;
          id = knownOnly ? table.idOf(person) : table.idOrAdd(person);
          ids[e] = id;
        }
        if (id < 0) { dropped++; continue; }
        matched++;
        table.addAt(id, age[i]!, ts[i]!);
      }
    } else if (p.kind === 'plain') {
      const { joined, lens } = p;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const e = s + lens[i]!;
        const person = joined.slice(s, e);
        s = e;
        const id = knownOnly ? table.idOf(person) : table.idOrAdd(person);
        if (id < 0) { dropped++; continue; }
        matched++;
        table.addAt(id, age[i]!, ts[i]!);
      }
    }
  }
  return { matched, dropped };
}

function hasNull(c: ShuffleColumn, n: number): boolean {
  if (c.kind === 'dict') {
    const nullEntry = c.dict.length - 1;
    if (c.dict[nullEntry] !== null) return false;
    for (let i = 0; i < n; i++) if (c.idx[i] === nullEntry) return true;
    return false;
  }
  if (c.kind === 'plain') {
    for (let i = 0; i < n; i++) if (c.lens[i] === PLAIN_NULL) return true;
  }
  return false;
}
