/**
 * Typed person identifiers: `cookie:<hex>`, `user:<digits>`, `email:<addr>`, `ip:<address>`.
 * Normal form: the whole value and the part after the colon trimmed, the type lowercased;
 * cookie hex lowercased (dashes allowed, for UUID cookies); user digits without leading zeros
 * (when `stripUserZeros`; "user:000" → "user:0"); email lowercased with exactly one '@' and no
 * spaces; ip lowercased (IPv4, IPv6 or a resolved host name, as web servers may log). Idempotent.
 * An id holding U+FFFD (bytes that were not UTF-8, replaced when read) is `id_invalid_utf8`.
 */

export const ID_REJECT_REASONS = ['id_invalid_utf8', 'id_empty', 'id_untyped', 'id_unknown_type', 'id_bad_cookie', 'id_bad_user', 'id_bad_email', 'id_bad_ip'] as const;
export type IdRejectReason = (typeof ID_REJECT_REASONS)[number];
export type IdResult = { ok: true; id: string } | { ok: false; reason: IdRejectReason };

export interface IdOptions {
  stripUserZeros: boolean;
}

/**
 * The normal form of `raw`. Fast path: a `cookie:` or `user:` value already in normal form (the
 * common case: what a normalizer or a well-behaved logger wrote) is returned as it is, without
 * building any string; the result always equals normalizeIdentifierFull's (property-tested).
 */
export function normalizeIdentifier(raw: string, opts: IdOptions): IdResult {
  return alreadyNormal(raw, opts.stripUserZeros) ? { ok: true, id: raw } : normalizeIdentifierFull(raw, opts);
}

/*
 * Already in normal form: `cookie:` + [0-9a-f][0-9a-f-]*, or `user:` + digits (no leading zero
 * before another digit when stripping). One rule, on a string (alreadyNormal) and on UTF-8 bytes
 * (idBytesAlreadyNormal, the column path's): both read the code units through the predicates below
 * (the bytes through a table of their classes built from them).
 */
const COOKIE = 'cookie:', USER = 'user:';
const COOKIE_BYTES = Uint8Array.from(COOKIE, (c) => c.charCodeAt(0)), USER_BYTES = Uint8Array.from(USER, (c) => c.charCodeAt(0));
/** Unit `c` at index `i` (from the value's start) of a normal cookie id's hex part. */
const cookieUnit = (c: number, i: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c === 0x2d && i > COOKIE.length);
const digit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** A leading zero that stripping would remove: `user:0` followed by more. */
const zeroToStrip = (first: number, n: number, stripZeros: boolean): boolean => stripZeros && n > USER.length + 1 && first === 0x30;

function alreadyNormal(s: string, stripZeros: boolean): boolean {
  const n = s.length;
  if (n > COOKIE.length && s.startsWith(COOKIE)) {
    for (let i = COOKIE.length; i < n; i++) if (!cookieUnit(s.charCodeAt(i), i)) return false;
    return true;
  }
  if (n > USER.length && s.startsWith(USER)) {
    if (zeroToStrip(s.charCodeAt(USER.length), n, stripZeros)) return false;
    for (let i = USER.length; i < n; i++) if (!digit(s.charCodeAt(i))) return false;
    return true;
  }
  return false;
}

function bytesStartWith(b: Uint8Array, s: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[s + i] !== prefix[i]) return false;
  return true;
}

/** Byte classes of the byte rule: what cookieUnit and digit accept, as bits (one load per byte). */
const HEX = 1, DASH = 2, DIGIT = 4;
const UNITS = Uint8Array.from({ length: 256 }, (_, c) => (cookieUnit(c, COOKIE.length) ? HEX : 0) | (c === 0x2d ? DASH : 0) | (digit(c) ? DIGIT : 0));

/** Whether every byte of b[from, to) has a class in `mask`. */
function allUnits(b: Uint8Array, from: number, to: number, mask: number): boolean {
  for (let k = from; k < to; k++) if ((UNITS[b[k]!]! & mask) === 0) return false;
  return true;
}

/** Whether the UTF-8 bytes b[s, s + n) are an identifier already in normal form (the rule above, on bytes). */
export function idBytesAlreadyNormal(b: Uint8Array, s: number, n: number, stripZeros: boolean): boolean {
  if (n > COOKIE.length && bytesStartWith(b, s, COOKIE_BYTES)) {
    // The first hex unit may not be a dash (cookieUnit at index COOKIE.length); the rest may.
    return (UNITS[b[s + COOKIE.length]!]! & HEX) !== 0 && allUnits(b, s + COOKIE.length + 1, s + n, HEX | DASH);
  }
  if (n > USER.length && bytesStartWith(b, s, USER_BYTES)) return !zeroToStrip(b[s + USER.length]!, n, stripZeros) && allUnits(b, s + USER.length, s + n, DIGIT);
  return false;
}

/** normalizeIdentifier without its fast path (the reference it is tested against). */
export function normalizeIdentifierFull(raw: string, opts: IdOptions): IdResult {
  const s = raw.trim();
  // U+FFFD is what bytes that were not UTF-8 became when read: the id is no longer faithful.
  if (s.includes('\uFFFD')) return { ok: false, reason: 'id_invalid_utf8' };
  if (s === '') return { ok: false, reason: 'id_empty' };
  const colon = s.indexOf(':');
  if (colon <= 0) return { ok: false, reason: 'id_untyped' };
  const type = s.slice(0, colon).trim().toLowerCase();
  const v = s.slice(colon + 1).trim();
  switch (type) {
    case 'cookie': {
      const h = v.toLowerCase();
      return /^[0-9a-f][0-9a-f-]*$/.test(h) ? { ok: true, id: `cookie:${h}` } : { ok: false, reason: 'id_bad_cookie' };
    }
    case 'user': {
      if (!/^\d+$/.test(v)) return { ok: false, reason: 'id_bad_user' };
      const d = opts.stripUserZeros ? v.replace(/^0+(?=\d)/, '') : v;
      return { ok: true, id: `user:${d}` };
    }
    case 'email': {
      const e = v.toLowerCase();
      return /^[^\s@]+@[^\s@]+$/.test(e) ? { ok: true, id: `email:${e}` } : { ok: false, reason: 'id_bad_email' };
    }
    case 'ip': {
      const a = v.toLowerCase();
      return /^[0-9a-z][0-9a-z.:_-]*$/.test(a) ? { ok: true, id: `ip:${a}` } : { ok: false, reason: 'id_bad_ip' };
    }
    default:
      return { ok: false, reason: 'id_unknown_type' };
  }
}
