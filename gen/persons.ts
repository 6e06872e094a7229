/**
 * The synthetic population: person k's identifiers and birthday are a pure function of
 * (seed, k), so pageviews, equivs and ages generated separately with the same --seed and
 * --persons agree on who is who.
 *
 * Each person has 1–3 cookies (3% "heavy" persons have 20–60: long equiv chains), a `user:<digits>`
 * id with probability 0.7, an email with probability 0.4 (mixed case), and a birthday.
 */
import { hex, int, pick, rngFor } from './prng.js';

export interface Person {
  k: number;
  cookies: string[];
  user: string | null;
  email: string | null;
  /** Birthday as UTC epoch seconds of midnight. */
  born: number;
  /** Equiv shape: 'chain' links cookies in a line, 'star' links the user to every id. */
  shape: 'chain' | 'star' | 'pair';
  /** 2% of persons also report a self-loop edge (id, id). */
  selfLoop: boolean;
}

const FIRST = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve', 'Mallory', 'Trent', 'Peggy', 'Victor', 'Walter', 'Zoë'];
const LAST = ['Smith', 'Jones', 'Nakamura', 'Garcia', 'Müller', 'Okafor', 'Rossi', 'Novak'];
const DOMAINS = ['Example.com', 'MAIL.example.org', 'Inbox.Test'];

export function person(seed: number, k: number): Person {
  const r = rngFor(seed, 'person', k);
  const heavy = r() < 0.03;
  const nCookies = heavy ? 20 + int(r, 41) : 1 + int(r, 3);
  const cookies = Array.from({ length: nCookies }, () => `cookie:${hex(r, 16)}`);
  const user = r() < 0.7 ? `user:${1_000_000 + k}` : null;
  const email = r() < 0.4 ? `email:${pick(r, FIRST)}.${pick(r, LAST)}${k}@${pick(r, DOMAINS)}` : null;
  const born = Date.UTC(1950 + int(r, 60), 0, 1) / 1000 + int(r, 365) * 86_400;
  const shapeDraw = r();
  const shape = heavy ? 'chain' : shapeDraw < 0.05 ? 'star' : 'pair';
  const selfLoop = r() < 0.02;
  return { k, cookies, user, email, born, shape, selfLoop };
}

/** Age in whole years at epoch second ts. */
export function ageAt(born: number, ts: number): number {
  const b = new Date(born * 1000);
  const t = new Date(ts * 1000);
  let age = t.getUTCFullYear() - b.getUTCFullYear();
  if (t.getUTCMonth() < b.getUTCMonth() || (t.getUTCMonth() === b.getUTCMonth() && t.getUTCDate() < b.getUTCDate())) age--;
  return age;
}

/**
 * person(seed, k) memoized for one generation (the same persons recur on every day): persons
 * k < cap (the popular ones: skewed() favours small k) are kept in an array, the rest computed on
 * each use, so memory stays bounded whatever --persons is.
 */
export class PersonTable {
  private readonly cached: (Person | undefined)[];
  constructor(readonly seed: number, persons: number, cap = 200_000) {
    this.cached = new Array<Person | undefined>(Math.min(persons, cap));
  }
  get(k: number): Person {
    if (k >= this.cached.length) return person(this.seed, k);
    let p = this.cached[k];
    if (p === undefined) {
      p = person(this.seed, k);
      this.cached[k] = p;
    }
    return p;
  }
}
