/**
 * Un-normalized URL variants of a modest set of pages, as real pageview logs contain them:
 * mixed-case scheme/host, default ports, www. or not, fragments, tracking params (utm_*, gclid),
 * shuffled query params, percent-encoded unreserved characters (%7E, %41…), dot segments,
 * trailing slash or not — and ~0.5% unparseable garbage. A URL normalizer maps every non-garbage
 * variant of a page back to one canonical URL.
 */
import { int, pick, type Rng } from './prng.js';

interface Page {
  host: string;
  path: string;
  query: [string, string][];
  /** query as 'k=v' strings (never mutated). */
  queryParts: string[];
}

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
for (const host of HOSTS) for (const [path, query] of PATHS) PAGES.push({ host, path, query, queryParts: query.map(([k, v]) => `${k}=${v}`) });
const UTM_SOURCES = ['newsletter', 'twitter', 'Google'];
const FRAGMENTS = ['top', 'reviews', 'section-2'];

export const PAGE_COUNT = PAGES.length;

const GARBAGE = ['ht!tp://example.com/', '', 'not a url', '://missing-scheme', 'http//example.com', 'http://exa mple.com/x'];

function mixCase(r: Rng, s: string): string {
  let out = '';
  for (const c of s) out += r() < 0.3 ? c.toUpperCase() : c;
  return out;
}

/** A variant of page number `page` (skew the page choice in the caller). */
export function urlVariant(r: Rng, page: number): string {
  if (r() < 0.005) return pick(r, GARBAGE);
  const p = PAGES[page % PAGES.length] as Page;
  const https = r() < 0.6;
  let scheme = https ? 'https' : 'http';
  if (r() < 0.15) scheme = mixCase(r, scheme);
  let host = r() < 0.4 ? `www.${p.host}` : p.host;
  if (r() < 0.15) host = mixCase(r, host);
  const port = r() < 0.1 ? (https ? ':443' : ':80') : '';
  let path = p.path;
  if (path.includes('~') && r() < 0.5) path = path.replace('~', '%7E');
  if (r() < 0.05) path = path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (r() < 0.1 && path.length > 1) path = path.replace(/\/([^/]+)$/, '/./x/../$1');
  if (r() < 0.2) path = path.endsWith('/') ? (path.length > 1 ? path.slice(0, -1) : path) : `${path}/`;
  // Query parameters as 'k=v' strings; the same draws in the same order as shuffling pairs.
  let q: string[] = p.queryParts;
  if (r() < 0.1) q = [...q, `utm_source=${pick(r, UTM_SOURCES)}`];
  if (r() < 0.05) q = [...q, `gclid=Cj0K${int(r, 1e6)}`];
  if (r() < 0.05) q = [...q, 'utm_campaign=spring'];
  if (q.length > 1) {
    if (q === p.queryParts) q = [...q];
    for (let i = q.length - 1; i > 0; i--) {
      const j = int(r, i + 1);
      const x = q[i] as string;
      q[i] = q[j] as string;
      q[j] = x;
    }
  }
  const query = q.length === 0 ? '' : q.length === 1 ? `?${q[0] as string}` : `?${q.join('&')}`;
  const frag = r() < 0.1 ? `#${pick(r, FRAGMENTS)}` : '';
  return `${scheme}://${host}${port}${path}${query}${frag}`;
}
