/**
 * URL normalizer (RFC 3986 §6 syntax-based normalization plus web conventions), hand-written so
 * every rule is explicit and idempotent: normalizeUrl(normalizeUrl(x)) = normalizeUrl(x).
 *
 * Rules, in order: trim; text holding U+FFFD (bytes that were not UTF-8) is `invalid_utf8`; a
 * mangled scheme ("http//x", "http:/x") is `bad_scheme`; a missing scheme gets `defaultScheme` (the book's data has "foo.com/about");
 * only http/https are accepted; scheme and host lowercased; userinfo, fragment, empty and default
 * ports (80/443) dropped; non-ASCII hosts to punycode (node:url domainToASCII); a trailing dot on
 * the host dropped; `foldWww` drops a leading "www."; percent-encoding normalized everywhere
 * (escapes of unreserved characters decoded, other escapes' hex uppercased, a stray '%' becomes
 * %25, characters not allowed in URLs — spaces, quotes, non-ASCII… — UTF-8 percent-encoded);
 * dot-segments removed (RFC 3986 §5.2.4, after decoding, as §6.2.2 orders it); empty path → "/";
 * `trailingSlash` strip|add|keep; query parameters split on '&', empty ones dropped, tracking
 * params removed (glob patterns such as utm_*, case-insensitive), sorted by (key, value); `dropQuery`
 * removes the query (the book's protocol://host/path form). '+' is kept verbatim (form-encoding of
 * a space is a server convention, not URL syntax).
 * Why not WHATWG `URL` alone: it neither sorts queries, strips params, decodes %7E, nor rejects
 * garbage (it accepts "http://a b" by encoding), so we'd still have to post-process everything.
 */
import { domainToASCII } from 'node:url';

export interface UrlOptions {
  /** Glob patterns ('*' wildcard) of query params to remove, matched case-insensitively. */
  stripParams: string[];
  foldWww: boolean;
  trailingSlash: 'keep' | 'strip' | 'add';
  dropQuery: boolean;
  /** Scheme assumed when the input has none; null rejects scheme-less input. */
  defaultScheme: 'http' | 'https' | null;
}

export const URL_REJECT_REASONS = ['empty', 'too_long', 'no_scheme', 'bad_scheme', 'no_host', 'bad_host', 'bad_port', 'invalid_utf8'] as const;
export type UrlRejectReason = (typeof URL_REJECT_REASONS)[number];
export type UrlResult = { ok: true; url: string } | { ok: false; reason: UrlRejectReason };

export const DEFAULT_TRACKING_PARAMS = [
  'utm_*', 'gclid', 'gclsrc', 'dclid', 'fbclid', 'msclkid', 'mc_cid', 'mc_eid', '_ga', '_gl', 'igshid', 'yclid', 'twclid', 'ttclid', 'li_fat_id', 'wbraid', 'gbraid',
];

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };
const MAX_LEN = 16_384;
const HEX = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}
/** sub-delims ! $ & ' ( ) * + , ; =  plus ':' '@' (pchar) and '/' '?' (allowed in path/query). */
const LITERAL_OK = new Set("!$&'()*+,;=:@/?".split('').map((ch) => ch.charCodeAt(0)));
function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
const encoder = new TextEncoder();

/** Normalizes percent-encoding of a path or query component (see banner). */
export function normalizePercent(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const a = i + 2 < s.length ? hexVal(s.charCodeAt(i + 1)) : -1;
      const b = i + 2 < s.length ? hexVal(s.charCodeAt(i + 2)) : -1;
      if (a < 0 || b < 0) {
        out += '%25';
        continue;
      }
      const v = a * 16 + b;
      out += isUnreserved(v) ? String.fromCharCode(v) : '%' + HEX[a]! + HEX[b]!;
      i += 2;
    } else if (isUnreserved(c) || LITERAL_OK.has(c)) {
      out += s[i]!;
    } else {
      // Encode one code point (surrogate pairs together) as UTF-8.
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      if (cp > 0xffff) i++;
      for (const byte of encoder.encode(ch)) out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
    }
  }
  return out;
}

/** RFC 3986 §5.2.4 remove_dot_segments. */
export function removeDotSegments(path: string): string {
  let input = path;
  const out: string[] = [];
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      out.pop();
    } else if (input === '/..') {
      input = '/';
      out.pop();
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const seg = next < 0 ? input : input.slice(0, next);
      out.push(seg);
      input = next < 0 ? '' : input.slice(next);
    }
  }
  return out.join('');
}

export function globToRegExp(globs: string[]): RegExp | null {
  if (globs.length === 0) return null;
  const alts = globs.map((g) => g.toLowerCase().split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*'));
  return new RegExp(`^(?:${alts.join('|')})$`, 'i');
}

const HOST_RE = /^[a-z0-9_~-]+(?:\.[a-z0-9_~-]+)*$/;
const IPV6_RE = /^\[[0-9a-f:.]+\]$/;

function normalizeHost(raw: string, foldWww: boolean): string | null {
  let h = raw;
  if (h.startsWith('[')) {
    h = h.toLowerCase();
    return IPV6_RE.test(h) ? h : null;
  }
  if (h.includes('%')) {
    try {
      h = decodeURIComponent(h);
    } catch {
      return null;
    }
  }
  h = h.toLowerCase();
  if (/[^\x00-\x7f]/.test(h)) {
    h = domainToASCII(h);
    if (h === '') return null;
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  // Repeated so that folding is idempotent ("www.www.a.com"), but never down to a bare TLD ("www.com").
  while (foldWww && h.startsWith('www.') && h.indexOf('.', 4) > 0) h = h.slice(4);
  return HOST_RE.test(h) ? h : null;
}

type Param = [key: string, value: string | null];
function compareParams(a: Param, b: Param): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] === b[1]) return 0;
  if (a[1] === null) return -1;
  if (b[1] === null) return 1;
  return a[1] < b[1] ? -1 : 1;
}

/**
 * A memo key for a raw URL with the same normalization as the URL itself, so a cache keyed by it
 * hits across the variants real logs hold: when the text starts with `scheme://authority` made of
 * ASCII letters, digits, '.', ':' and '-' only (no userinfo, no IPv6, no escapes), that prefix is
 * lower-cased (the normalizer lower-cases scheme and host; a port is digits or rejected either
 * way), and a fragment is dropped unless it holds U+FFFD or follows whitespace (the normalizer
 * drops the fragment after trimming, and rejects U+FFFD anywhere). Anything else (leading space, over MAX_LEN, no "://") is its own key.
 * Property (test/operators/url.test.ts): normalize(urlCacheKey(x)) = normalize(x) for every x.
 * Returns `raw` itself, without allocating, when nothing changes.
 */
export function urlCacheKey(raw: string): string {
  const n = raw.length;
  if (n > MAX_LEN) return raw;
  let i = 0, upper = false;
  for (; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) continue;
    if (c >= 0x41 && c <= 0x5a) { upper = true; continue; }
    break;
  }
  if (i === 0 || i + 3 > n || raw.charCodeAt(i) !== 0x3a || raw.charCodeAt(i + 1) !== 0x2f || raw.charCodeAt(i + 2) !== 0x2f) return raw;
  let end = i + 3;
  for (; end < n; end++) {
    const c = raw.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c) break; // / ? # \
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x3a || c === 0x2d)) return raw;
  }
  let hash = raw.indexOf('#', end);
  // trim() runs before the fragment is cut: keep it when whitespace precedes it (it would be kept).
  if (hash >= 0 && (raw.includes('\uFFFD', hash) || /\s/.test(raw[hash - 1] ?? ''))) hash = -1;
  if (!upper && hash < 0) return raw;
  const tail = hash < 0 ? raw.slice(end) : raw.slice(end, hash);
  return (upper ? raw.slice(0, end).toLowerCase() : raw.slice(0, end)) + tail;
}

/** Compiles the options once (the glob regexp) and returns the normalizer. */
export function urlNormalizer(opts: UrlOptions): (raw: string) => UrlResult {
  const strip = globToRegExp(opts.stripParams);
  return (raw) => normalizeUrlWith(raw, opts, strip);
}

function normalizeUrlWith(raw: string, opts: UrlOptions, strip: RegExp | null): UrlResult {
  let s = raw.trim();
  if (s === '') return { ok: false, reason: 'empty' };
  if (s.length > MAX_LEN) return { ok: false, reason: 'too_long' };
  // U+FFFD is what bytes that were not UTF-8 became when read: the text is no longer faithful.
  if (s.includes('\uFFFD')) return { ok: false, reason: 'invalid_utf8' };
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(s);
  let scheme: string;
  if (m !== null) {
    scheme = m[1]!.toLowerCase();
    s = s.slice(m[0].length);
  } else {
    if (opts.defaultScheme === null || (s.startsWith('/') && !s.startsWith('//'))) return { ok: false, reason: 'no_scheme' };
    // "mailto:x", "javascript:…": a scheme without '//' (a host:port would have a digit after ':').
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:(?![0-9]|$|\/)/.test(s)) return { ok: false, reason: 'bad_scheme' };
    // A mangled "http://": "http//x", "https//x", "http:/x" — not a page on host "http".
    if (/^https?(\/\/|:\/(?!\/))/i.test(s)) return { ok: false, reason: 'bad_scheme' };
    scheme = opts.defaultScheme;
    if (s.startsWith('//')) s = s.slice(2);
  }
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, reason: 'bad_scheme' };
  const hashAt = s.indexOf('#');
  if (hashAt >= 0) s = s.slice(0, hashAt);
  let authEnd = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '/' || c === '?' || c === '\\') {
      authEnd = i;
      break;
    }
  }
  let authority = s.slice(0, authEnd);
  const rest = s.slice(authEnd);
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  let hostPart = authority;
  let port = '';
  const portMatch = /:([^:\]]*)$/.exec(authority);
  if (portMatch !== null) {
    hostPart = authority.slice(0, portMatch.index);
    const p = portMatch[1]!;
    if (p !== '') {
      if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) return { ok: false, reason: 'bad_port' };
      port = String(Number(p));
      if (DEFAULT_PORTS[scheme] === port) port = '';
    }
  }
  if (hostPart === '') return { ok: false, reason: 'no_host' };
  const host = normalizeHost(hostPart, opts.foldWww);
  if (host === null) return { ok: false, reason: 'bad_host' };

  const q = rest.indexOf('?');
  let path = q >= 0 ? rest.slice(0, q) : rest;
  const query = q >= 0 ? rest.slice(q + 1) : '';
  path = removeDotSegments(normalizePercent(path.replace(/\\/g, '/')));
  if (path === '') path = '/';
  if (opts.trailingSlash === 'strip') {
    while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  } else if (opts.trailingSlash === 'add' && !path.endsWith('/')) path += '/';

  let qs = '';
  if (!opts.dropQuery && query !== '') {
    const params: Param[] = [];
    for (const part of query.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = normalizePercent(eq >= 0 ? part.slice(0, eq) : part);
      if (key === '' && eq < 0) continue;
      if (strip !== null && strip.test(key)) continue;
      params.push([key, eq >= 0 ? normalizePercent(part.slice(eq + 1)) : null]);
    }
    params.sort(compareParams);
    // Joined by a loop (not map + join: an empty and a non-empty mapped array have different
    // maps, and the join site deoptimized on them again and again).
    for (let i = 0; i < params.length; i++) {
      const [k, v] = params[i]!;
      if (i > 0) qs += '&';
      qs += v === null ? k : k + '=' + v;
    }
  }
  return { ok: true, url: `${scheme}://${host}${port === '' ? '' : ':' + port}${path}${qs === '' ? '' : '?' + qs}` };
}
