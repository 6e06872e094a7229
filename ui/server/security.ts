/**
 * The UI server's access rules (pure, no I/O):
 *   - binding: loopback addresses need nothing; any other address needs a token (UI_FORBIDDEN);
 *   - Host check: without a token, only loopback host names are served (defeats DNS rebinding,
 *     where a hostile page's name resolves to 127.0.0.1);
 *   - token: compared in constant time; given as `Authorization: Bearer T`, the `dagctl_ui_token`
 *     cookie, or once as `?token=T` on a page (which sets the cookie and redirects without it);
 *   - CSRF (POST actions): the `x-dagctl-csrf` header must equal the page's CSRF token and the
 *     SameSite=Strict `dagctl_csrf` cookie, the body must be JSON, and an Origin header, when
 *     present, must be this server's own origin.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { DagctlError } from '../../core/errors.js';

export const TOKEN_COOKIE = 'dagctl_ui_token';
export const CSRF_COOKIE = 'dagctl_csrf';
export const CSRF_HEADER = 'x-dagctl-csrf';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Refuses to bind a non-loopback address without a token. */
export function checkBind(host: string, token: string | undefined): void {
  if (!isLoopback(host) && (token === undefined || token === '')) {
    throw new DagctlError('UI_FORBIDDEN', `dagctl ui: binding ${host} (not loopback) needs --token T (or DAGCTL_UI_TOKEN): anyone who can reach the address could otherwise read runs and act on them`, { host });
  }
  if (token !== undefined && token !== '' && token.length < 16) {
    throw new DagctlError('USAGE', '--token must be at least 16 characters', {});
  }
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The host name of a Host header (`name:port`, `[v6]:port`). */
export function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const i = hostHeader.lastIndexOf(':');
  return i < 0 ? hostHeader : hostHeader.slice(0, i);
}

export interface RequestFacts {
  method: string;
  path: string;
  host: string | undefined;
  origin: string | undefined;
  authorization: string | undefined;
  tokenCookie: string | undefined;
  csrfHeader: string | undefined;
  csrfCookie: string | undefined;
  contentType: string | undefined;
}

export type Verdict = { ok: true } | { ok: false; status: number; code: 'UI_UNAUTHORIZED' | 'UI_FORBIDDEN'; message: string };

/** Paths anyone who can reach the server may read (probes): no data in them. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export function checkRequest(f: RequestFacts, opts: { token: string | undefined; csrf: string }): Verdict {
  const token = opts.token === '' ? undefined : opts.token;
  if (token === undefined && (f.host === undefined || !isLoopback(hostName(f.host)))) {
    return { ok: false, status: 403, code: 'UI_FORBIDDEN', message: 'this server answers loopback host names only (start it with --token to serve other names)' };
  }
  if (token !== undefined && !OPEN_PATHS.has(f.path)) {
    const bearer = f.authorization?.startsWith('Bearer ') === true ? f.authorization.slice(7) : undefined;
    const given = bearer ?? f.tokenCookie;
    if (given === undefined || !safeEqual(given, token)) return { ok: false, status: 401, code: 'UI_UNAUTHORIZED', message: 'a token is required: open the page once with ?token=T, or send Authorization: Bearer T' };
  }
  if (f.method !== 'GET' && f.method !== 'HEAD') {
    if (f.origin !== undefined && f.origin !== 'null' && (f.host === undefined || !sameOrigin(f.origin, f.host))) {
      return { ok: false, status: 403, code: 'UI_FORBIDDEN', message: `cross-origin request refused (Origin ${f.origin})` };
    }
    if (f.origin === 'null') return { ok: false, status: 403, code: 'UI_FORBIDDEN', message: 'cross-origin request refused (Origin null)' };
    if (f.csrfHeader === undefined || f.csrfCookie === undefined || !safeEqual(f.csrfHeader, opts.csrf) || !safeEqual(f.csrfCookie, opts.csrf)) {
      return { ok: false, status: 403, code: 'UI_FORBIDDEN', message: `missing or wrong ${CSRF_HEADER} header or ${CSRF_COOKIE} cookie: actions must come from the UI's own pages` };
    }
    if (f.contentType?.split(';')[0]?.trim().toLowerCase() !== 'application/json') {
      return { ok: false, status: 403, code: 'UI_FORBIDDEN', message: 'actions take a JSON body (content-type: application/json)' };
    }
  }
  return { ok: true };
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
