/**
 * parse-access-log: Apache/NCSA combined (or common) log lines (a text dataset, read with
 * `lines()`) → pageview rows `url, person, ts, status, bytes, referrer, agent`: person =
 * `ip:<client>`, url = `<scheme>://<host>` + the request path (absolute-form request targets are
 * kept as they are), ts = the line's time in epoch seconds UTC with its offset applied, status the
 * HTTP status, bytes the response size (null for `-`), referrer and agent the quoted trailers of
 * the combined format (null when absent, as in the common format, or `-`). Lines outside `statusFilter` / `methods` are dropped
 * and counted (`filtered.status`, `filtered.method`); malformed lines go to the optional rejects
 * output (`line, reason`) and are counted as `rejected.<reason>`. Blank lines are skipped.
 * URLs are not normalized here: chain `normalize` after it.
 */
import type { OperatorDef, StageResult } from '../types.js';
import { parseAccessLogLine } from './access-log.js';
import { ChunkedWriter } from '../lib/rows.js';
import { parseAccessLogDescriptor, type ParseParams } from './descriptor.js';
export type { ParseParams };

const dash = (s: string | null): string | null => (s === null || s === '-' ? null : s);

export const parseAccessLog: OperatorDef<ParseParams> = {
  ...parseAccessLogDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const statusOk = (s: number): boolean =>
      p.statusFilter.length === 0 || p.statusFilter.some((f) => (f.endsWith('xx') ? f[0] === String(s)[0] : Number(f) === s));
    const methods = new Set(p.methods.map((m) => m.toUpperCase()));
    const main = new ChunkedWriter(ctx.outputs[0]!.open([
      { name: 'url', type: 'string' },
      { name: 'person', type: 'string' },
      { name: 'ts', type: 'int64' },
      { name: 'status', type: 'int64' },
      { name: 'bytes', type: 'int64', nullable: true },
      { name: 'referrer', type: 'string', nullable: true },
      { name: 'agent', type: 'string', nullable: true },
    ]));
    const rh = ctx.outputs[1];
    const rejects = rh === undefined ? null : new ChunkedWriter(rh.open([{ name: 'line', type: 'string' }, { name: 'reason', type: 'string' }]));
    const metrics: Record<string, number> = { lines: 0, rowsOut: 0, rejected: 0, 'filtered.status': 0, 'filtered.method': 0 };
    const prefix = `${p.scheme}://${p.host}`;
    for await (const lines of ctx.inputs[0]!.lines()) {
      for (const line of lines) {
        if (line.trim() === '') continue;
        metrics.lines!++;
        const r = parseAccessLogLine(line);
        if (!r.ok) {
          metrics.rejected!++;
          metrics[`rejected.${r.reason}`] = (metrics[`rejected.${r.reason}`] ?? 0) + 1;
          await rejects?.add({ line, reason: r.reason });
          continue;
        }
        const e = r.entry;
        if (methods.size > 0 && !methods.has(e.method)) { metrics['filtered.method']!++; continue; }
        if (!statusOk(e.status)) { metrics['filtered.status']!++; continue; }
        const url = e.target.startsWith('/') ? prefix + e.target : e.target;
        await main.add({ url, person: `ip:${e.client}`, ts: e.ts, status: e.status, bytes: e.bytes, referrer: dash(e.referer), agent: dash(e.userAgent) });
      }
    }
    await main.flush();
    await rejects?.flush();
    metrics.rowsOut = main.rows;
    return { metrics };
  },
};
