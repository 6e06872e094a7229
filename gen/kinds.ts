/**
 * Row generators for one day of one kind, as chunked iterators (bounded memory: one chunk of rows
 * at a time), in the schemas of domain/superwebanalytics.ts (the contract the operators rely on).
 * Each day's stream is seeded by (seed, kind, date) only, so days are independent and appending a
 * day later yields exactly the rows a longer run would have produced for it.
 */
import type { Row, Schema } from '../storage/types.js';
import { AGES_SCHEMA, EQUIVS_SCHEMA, PAGEVIEWS_SCHEMA } from '../domain/superwebanalytics.js';
import { batchRows, PageviewTables, pageviewBatches } from './columns.js';
import { ageAt, PersonTable, type Person } from './persons.js';
import { int, pick, rngFor, skewed, type Rng } from './prng.js';

export const GEN_KINDS = ['pageviews', 'equivs', 'ages'] as const;
export type GenKind = (typeof GEN_KINDS)[number];

export const SCHEMAS: Record<GenKind, Schema> = { pageviews: PAGEVIEWS_SCHEMA, equivs: EQUIVS_SCHEMA, ages: AGES_SCHEMA };

export interface DaySpec {
  kind: GenKind;
  seed: number;
  date: string;
  rows: number;
  persons: number;
}

/**
 * Yields the day's rows in chunks of at most `chunk` rows. `people` (for spec.seed and
 * spec.persons) may be shared by the days of one generation: persons are pure in (seed, k).
 */
export function* dayRows(spec: DaySpec, chunk = 10_000, people: PersonTable = new PersonTable(spec.seed, spec.persons)): Generator<Row[]> {
  if (spec.kind === 'pageviews') {
    // Generated column-at-a-time (gen/columns.ts); rows decoded from the batches.
    for (const b of pageviewBatches(spec, chunk, new PageviewTables(spec.seed, spec.persons))) yield batchRows(b);
    return;
  }
  const r = rngFor(spec.seed, spec.kind, spec.date);
  const personOf = (k: number): Person => people.get(k);
  const dayStart = Date.parse(`${spec.date}T00:00:00Z`) / 1000;
  const ts = (): number => dayStart + int(r, 86_400);
  const next = spec.kind === 'equivs' ? equivs(spec, r, ts, personOf) : ages(spec, r, ts, personOf);
  let buf: Row[] = [];
  for (let i = 0; i < spec.rows; i++) {
    buf.push(next());
    if (buf.length >= chunk) {
      yield buf;
      buf = [];
    }
  }
  if (buf.length > 0) yield buf;
}

/** A person's equivalence edges: cookie chains, user/email links, stars, and 2% self-loops. */
export function personEdges(p: Person): [string, string][] {
  const edges: [string, string][] = [];
  const ids = [...p.cookies, ...(p.user === null ? [] : [p.user]), ...(p.email === null ? [] : [p.email])];
  const first = p.cookies[0] as string;
  if (p.selfLoop) edges.push([first, first]);
  if (p.shape === 'star' && p.user !== null) {
    for (const id of ids) if (id !== p.user) edges.push([p.user, id]);
    return edges;
  }
  for (let i = 1; i < p.cookies.length; i++) edges.push([p.cookies[i - 1] as string, p.cookies[i] as string]);
  if (p.user !== null) edges.push([first, p.user]);
  if (p.email !== null) edges.push([p.user ?? first, p.email]);
  return edges;
}

function equivs(spec: DaySpec, r: Rng, ts: () => number, personOf: (k: number) => Person): () => Row {
  let k = int(r, spec.persons);
  let pending: [string, string][] = [];
  let barren = 0;
  return () => {
    while (pending.length === 0) {
      const p = personOf(k);
      k = (k + 1) % spec.persons;
      pending = personEdges(p);
      if (pending.length === 0 && ++barren > spec.persons) pending.push([p.cookies[0] as string, p.cookies[0] as string]);
    }
    barren = 0;
    const [a, b] = pending.splice(int(r, pending.length), 1)[0] as [string, string];
    return r() < 0.5 ? { id1: a, id2: b, ts: ts() } : { id1: b, id2: a, ts: ts() };
  };
}

function ages(spec: DaySpec, r: Rng, ts: () => number, personOf: (k: number) => Person): () => Row {
  return () => {
    const p = personOf(skewed(r, spec.persons));
    const t = ts();
    const noise = r() < 0.1 ? pick(r, [-1, 1]) : 0; // people misreport by one sometimes
    return { person: p.user ?? (p.cookies[0] as string), age: Math.max(0, ageAt(p.born, t) + noise), ts: t };
  };
}
