/**
 * Durations as written in DAG files and on the command line: `500ms`, `30s`, `10m`, `2h`, `1d`,
 * and compounds such as `1h30m`. Parsed to milliseconds; anything else is rejected (null).
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s.length === 0) return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (m === null || m.index !== at) return null;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)}m${Math.round(s % 60)}s`;
  const h = m / 60;
  return `${Math.floor(h)}h${Math.round(m % 60)}m`;
}
