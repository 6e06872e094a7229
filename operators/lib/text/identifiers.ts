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

/** `cookie:` + [0-9a-f][0-9a-f-]*, or `user:` + digits (no leading zero before another digit when stripping). */
function alreadyNormal(s: string, stripZeros: boolean): boolean {
  const n = s.length;
  if (n > 7 && s.startsWith('cookie:')) {
    for (let i = 7; i < n; i++) {
      const c = s.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c === 0x2d && i > 7))) return false;
    }
    return true;
  }
  if (n > 5 && s.startsWith('user:')) {
    if (stripZeros && n > 6 && s.charCodeAt(5) === 0x30) return false;
    for (let i = 5; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    return true;
  }
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
