/**
 * Un-normalized URL variants of a modest set of pages, as real pageview logs contain them:
 * mixed-case scheme/host, default ports, www. or not, fragments, tracking params (utm_*, gclid),
 * shuffled query params, percent-encoded unreserved characters (%7E, %41…), dot segments,
 * trailing slash or not — and ~0.5% unparseable garbage. A URL normalizer maps every non-garbage
 * variant of a page back to one canonical URL.
 * Written as ASCII bytes (writeUrlVariant, for gen/columns.ts: no strings, no regular expressions);
 * urlVariant is the same as a string.
 */
import { int, type Rng } from './prng.js';

interface Page {
  /** Host and path as ASCII bytes; query as 'k=v' parts. */
  host: Uint8Array;
  path: Uint8Array;
  queryParts: Uint8Array[];
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const PAGES: Page[] = [];
const HOSTS = ['example.com', 'shop.example.com', 'blog.example.org', 'news.example.net'];
const PATHS: [string, [string, string][]][] = [
  ['/', []],
  ['/about', []],
  ['/products/widget', []],
  ['/products/gadget', [['color', 'red'], ['size', 'm']]],
  ['/blog/2024/hello-world', []],
  ['/search', [['q', 'parquet']]],
  ['/~team/page', []],
  ['/docs/guide/intro', []],
  ['/cart', [['item', '42']]],
  ['/a/b/c', []],
];
for (const host of HOSTS) for (const [path, query] of PATHS) PAGES.push({ host: ascii(host), path: ascii(path), queryParts: query.map(([k, v]) => ascii(`${k}=${v}`)) });
const UTM_SOURCES = ['newsletter', 'twitter', 'Google'].map((x) => ascii(`utm_source=${x}`));
const FRAGMENTS = ['top', 'reviews', 'section-2'].map((x) => ascii(`#${x}`));
const GARBAGE = ['ht!tp://example.com/', '', 'not a url', '://missing-scheme', 'http//example.com', 'http://exa mple.com/x'].map(ascii);
const HTTPS = ascii('https'), HTTP = ascii('http'), WWW = ascii('www.'), SEP = ascii('://'), P443 = ascii(':443'), P80 = ascii(':80');
const DOTS = ascii('./x/../'), GCLID = ascii('gclid=Cj0K'), CAMPAIGN = ascii('utm_campaign=spring');
const HEXU = ascii('0123456789ABCDEF');

export const PAGE_COUNT = PAGES.length;

/** The most bytes writeUrlVariant writes. */
export const MAX_URL_BYTES = 256;

/** Writes b at buf[at…], each letter upper-cased with probability 0.3 (one draw per byte) when mix. */
function putMixed(buf: Uint8Array, at: number, b: Uint8Array, r: Rng | null): number {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    buf[at + i] = r !== null && r() < 0.3 && c >= 0x61 && c <= 0x7a ? c - 32 : c;
  }
  return at + b.length;
}

// Scratch of writeUrlVariant: the path as it is transformed, and the query parts' order.
const path = new Uint8Array(128);
const parts: Uint8Array[] = [];

/**
 * A variant of page number `page` (skew the page choice in the caller), as ASCII bytes at
 * buf[at…] (room for MAX_URL_BYTES is the caller's); returns the end.
 */
export function writeUrlVariant(r: Rng, page: number, buf: Uint8Array, at: number): number {
  if (r() < 0.005) return putMixed(buf, at, GARBAGE[int(r, GARBAGE.length)]!, null);
  const p = PAGES[page % PAGES.length]!;
  const https = r() < 0.6;
  at = putMixed(buf, at, https ? HTTPS : HTTP, r() < 0.15 ? r : null);
  at = putMixed(buf, at, SEP, null);
  const www = r() < 0.4;
  const mixHost = r() < 0.15 ? r : null;
  if (www) at = putMixed(buf, at, WWW, mixHost);
  at = putMixed(buf, at, p.host, mixHost);
  if (r() < 0.1) at = putMixed(buf, at, https ? P443 : P80, null);
  // The path: '~' percent-encoded (sometimes), its first lowercase letter percent-encoded (5%), a
  // dot segment before the last segment (10%), the trailing slash toggled (20%).
  path.set(p.path);
  let n = p.path.length;
  const tilde = path.subarray(0, n).indexOf(0x7e);
  if (tilde >= 0 && r() < 0.5) n = percent(tilde, n);
  if (r() < 0.05) {
    let i = 0;
    while (i < n && !(path[i]! >= 0x61 && path[i]! <= 0x7a)) i++;
    if (i < n) n = percent(i, n);
  }
  if (r() < 0.1 && n > 1 && path[n - 1] !== 0x2f) {
    const last = path.subarray(0, n).lastIndexOf(0x2f) + 1;
    path.copyWithin(last + DOTS.length, last, n);
    path.set(DOTS, last);
    n += DOTS.length;
  }
  if (r() < 0.2) {
    if (path[n - 1] !== 0x2f) path[n++] = 0x2f;
    else if (n > 1) n--;
  }
  for (let i = 0; i < n; i++) buf[at + i] = path[i]!;
  at += n;
  // Query parameters: tracking ones appended, then the whole list shuffled (Fisher–Yates).
  parts.length = 0;
  for (const q of p.queryParts) parts.push(q);
  if (r() < 0.1) parts.push(UTM_SOURCES[int(r, UTM_SOURCES.length)]!);
  let gclid = -1;
  if (r() < 0.05) {
    gclid = int(r, 1e6);
    parts.push(GCLID);
  }
  if (r() < 0.05) parts.push(CAMPAIGN);
  for (let i = parts.length - 1; i > 0; i--) {
    const j = int(r, i + 1);
    const x = parts[i]!;
    parts[i] = parts[j]!;
    parts[j] = x;
  }
  for (let i = 0; i < parts.length; i++) {
    buf[at++] = i === 0 ? 0x3f : 0x26; // ? or &
    at = putMixed(buf, at, parts[i]!, null);
    if (parts[i] === GCLID) at = putDigits(buf, at, gclid);
  }
  if (r() < 0.1) at = putMixed(buf, at, FRAGMENTS[int(r, FRAGMENTS.length)]!, null);
  return at;
}

/** path[i] (a byte < 0x80) as %XX, upper-case hex; returns the new length. */
function percent(i: number, n: number): number {
  const c = path[i]!;
  path.copyWithin(i + 3, i + 1, n);
  path[i] = 0x25;
  path[i + 1] = HEXU[c >>> 4]!;
  path[i + 2] = HEXU[c & 15]!;
  return n + 2;
}

function putDigits(buf: Uint8Array, at: number, x: number): number {
  const s = String(x);
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  return at + s.length;
}

const scratch = new Uint8Array(MAX_URL_BYTES);

/** writeUrlVariant as a string. */
export function urlVariant(r: Rng, page: number): string {
  return Buffer.from(scratch.buffer, 0, writeUrlVariant(r, page, scratch, 0)).toString('latin1');
}
