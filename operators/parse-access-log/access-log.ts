/**
 * Parser for Apache/NCSA access-log lines: combined format
 *   host ident authuser [dd/Mon/yyyy:HH:MM:SS ±hhmm] "request" status bytes "referer" "user-agent"
 * and the common format (without the two quoted trailers). Quoted fields may contain \" escapes.
 * Timestamps are converted to epoch seconds UTC with the line's offset applied. Returns the fields
 * or a reject reason (malformed | bad_timestamp | bad_request).
 */

export interface AccessLogEntry {
  client: string;
  ts: number;
  method: string;
  target: string;
  protocol: string;
  status: number;
  bytes: number | null;
  referer: string | null;
  userAgent: string | null;
}
export const ACCESS_LOG_REJECT_REASONS = ['malformed', 'bad_timestamp', 'bad_request'] as const;
export type AccessLogReject = (typeof ACCESS_LOG_REJECT_REASONS)[number];
export type AccessLogResult = { ok: true; entry: AccessLogEntry } | { ok: false; reason: AccessLogReject };

const LINE_RE = /^(\S+) (\S+) (.+?) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?\s*$/;
const TS_RE = /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;
const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/** "10/Oct/2000:13:55:36 -0700" → 971211336 (epoch seconds UTC); null when invalid. */
export function parseClfTime(s: string): number | null {
  const m = TS_RE.exec(s);
  if (m === null) return null;
  const [, dd, mon, yyyy, hh, mi, ss, sign, oh, om] = m;
  const month = MONTHS[mon!.toLowerCase()];
  if (month === undefined) return null;
  const d = Number(dd), y = Number(yyyy), h = Number(hh), min = Number(mi), sec = Number(ss);
  if (h > 23 || min > 59 || sec > 60 || Number(oh) > 23 || Number(om) > 59) return null;
  const ms = Date.UTC(y, month, d, h, min, Math.min(sec, 59));
  const check = new Date(ms);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== month) return null;
  const offset = (Number(oh) * 3600 + Number(om) * 60) * (sign === '-' ? -1 : 1);
  return ms / 1000 - offset;
}

const unescape = (s: string | undefined): string | null => (s === undefined ? null : s.replace(/\\(.)/g, '$1'));

export function parseAccessLogLine(line: string): AccessLogResult {
  const m = LINE_RE.exec(line);
  if (m === null) return { ok: false, reason: 'malformed' };
  const ts = parseClfTime(m[4]!);
  if (ts === null) return { ok: false, reason: 'bad_timestamp' };
  const req = unescape(m[5])!.split(' ');
  if (req.length !== 3 || !/^[A-Z]+$/.test(req[0]!) || !/^HTTP\/\d(\.\d)?$/.test(req[2]!)) return { ok: false, reason: 'bad_request' };
  const target = req[1]!;
  if (!target.startsWith('/') && !/^https?:\/\//i.test(target)) return { ok: false, reason: 'bad_request' };
  return {
    ok: true,
    entry: {
      client: m[1]!, ts, method: req[0]!, target, protocol: req[2]!,
      status: Number(m[6]), bytes: m[7] === '-' ? null : Number(m[7]),
      referer: unescape(m[8]), userAgent: unescape(m[9]),
    },
  };
}
