/**
 * The synthetic population: person k's identifiers and birthday are a pure function of
 * (seed, k), so pageviews, equivs and ages generated separately with the same --seed and
 * --persons agree on who is who.
 *
 * Each person has 1–3 cookies (3% "heavy" persons have 20–60: long equiv chains), a `user:<digits>`
 * id with probability 0.7, an email with probability 0.4 (mixed case), and a birthday.
 * PersonIds writes the same identifiers as UTF-8 bytes straight from the person's draws (for
 * pageviews' columns: no strings, no Person), equal to person()'s (tested).
 */
import { bitsAt, drawAt, hex, int, KeyPrefix, pick, rngFor } from './prng.js';

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

const UTF8 = new TextEncoder();
const bytesOf = (xs: string[]): Uint8Array[] => xs.map((x) => UTF8.encode(x));
const FIRST_B = bytesOf(FIRST), LAST_B = bytesOf(LAST), DOMAINS_B = bytesOf(DOMAINS);
const HEX_B = UTF8.encode('0123456789abcdef');
const COOKIE_B = UTF8.encode('cookie:'), USER_B = UTF8.encode('user:'), EMAIL_B = UTF8.encode('email:');

/** The most bytes one identifier written by PersonIds takes (an email with a 16-digit k). */
export const MAX_ID_BYTES = 6 + 8 + 1 + 8 + 16 + 1 + 16;

/**
 * person(seed, k)'s identifiers from its stream's draws by index (gen/prng.ts drawAt), as
 * person() draws them: 0 heavy, 1 the cookie count nc, 2 + 4c … 5 + 4c cookie c's 16 hex digits,
 * 2 + 4nc user?, 3 + 4nc email?, then the email's first name, last name and domain. Writers put
 * an identifier's bytes at buf[at…] (room for MAX_ID_BYTES is the caller's) and return the end.
 */
export class PersonIds {
  private readonly prefix: KeyPrefix;
  constructor(readonly seed: number) {
    this.prefix = new KeyPrefix(seed, 'person');
  }
  /** Person k's stream key (rngFor(seed, 'person', k)'s). */
  key(k: number): number {
    return this.prefix.keyOf(k);
  }
  cookies(key: number): number {
    return drawAt(key, 0) < 0.03 ? 20 + Math.floor(drawAt(key, 1) * 41) : 1 + Math.floor(drawAt(key, 1) * 3);
  }
  hasUser(key: number, nc: number): boolean {
    return drawAt(key, 2 + 4 * nc) < 0.7;
  }
  hasEmail(key: number, nc: number): boolean {
    return drawAt(key, 3 + 4 * nc) < 0.4;
  }
  writeCookie(key: number, c: number, buf: Uint8Array, at: number): number {
    at = put(buf, at, COOKIE_B);
    for (let d = 2 + 4 * c, end = d + 4; d < end; d++) {
      const x = bitsAt(key, d) >>> 16; // Math.floor(draw · 0x10000), as hex() takes it
      buf[at] = HEX_B[x >>> 12]!;
      buf[at + 1] = HEX_B[(x >>> 8) & 15]!;
      buf[at + 2] = HEX_B[(x >>> 4) & 15]!;
      buf[at + 3] = HEX_B[x & 15]!;
      at += 4;
    }
    return at;
  }
  writeUser(k: number, buf: Uint8Array, at: number): number {
    return putDigits(buf, put(buf, at, USER_B), 1_000_000 + k);
  }
  /** The email (hasEmail's person only). */
  writeEmail(key: number, k: number, nc: number, buf: Uint8Array, at: number): number {
    const d = 4 + 4 * nc;
    at = put(buf, put(buf, at, EMAIL_B), FIRST_B[Math.floor(drawAt(key, d) * FIRST_B.length)]!);
    buf[at++] = 0x2e; // .
    at = putDigits(buf, put(buf, at, LAST_B[Math.floor(drawAt(key, d + 1) * LAST_B.length)]!), k);
    buf[at++] = 0x40; // @
    return put(buf, at, DOMAINS_B[Math.floor(drawAt(key, d + 2) * DOMAINS_B.length)]!);
  }
}

function put(buf: Uint8Array, at: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[at + i] = b[i]!;
  return at + b.length;
}

/** The decimal digits of the non-negative integer n. */
function putDigits(buf: Uint8Array, at: number, n: number): number {
  let end = at, x = n;
  do {
    end++;
    x = Math.floor(x / 10);
  } while (x > 0);
  x = n;
  for (let i = end - 1; i >= at; i--) {
    buf[i] = 48 + (x % 10);
    x = Math.floor(x / 10);
  }
  return end;
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
