/**
 * `dagctl gen pageviews|equivs|ages --rows N --out URI --seed S [--start 2024-01-01] [--days D]
 * [--persons P] [--threads T] [--json]` — Generate SuperWebAnalytics-like sample data (gen/generate.ts;
 * pageviews on T worker threads, default 1).
 * Progress: one updating line on a TTY, a plain line every ~2 s otherwise (stderr); --json prints
 * the result object on stdout.
 */
import { DagctlError } from '../../core/errors.js';
import { generate, type GenProgress } from '../../gen/generate.js';
import { GEN_KINDS, type GenKind } from '../../gen/kinds.js';
import { openObjectStore } from '../../storage/open.js';
import { flag, str, writeJson, type CommandDef } from '../command.js';

const USAGE = `dagctl gen pageviews|equivs|ages --rows N --out URI --seed S [--start 2024-01-01] [--days D] [--persons P] [--threads T] [--json]`;

function intOpt(v: string | undefined, name: string, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new DagctlError('USAGE', `--${name} is required\n${USAGE}`);
    return dflt;
  }
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new DagctlError('USAGE', `--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export const genCommand: CommandDef = {
  name: 'gen',
  summary: 'Generate SuperWebAnalytics-like sample data (pageviews, equivs, ages)',
  usage: USAGE,
  options: {
    rows: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    start: { type: 'string' },
    days: { type: 'string' },
    persons: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    const kind = args.positionals[0];
    if (kind === undefined || !(GEN_KINDS as readonly string[]).includes(kind) || args.positionals.length > 1) throw new DagctlError('USAGE', `expected one kind of ${GEN_KINDS.join('|')}\n${USAGE}`);
    const out = str(args, 'out');
    if (out === undefined) throw new DagctlError('USAGE', `--out is required\n${USAGE}`);
    const store = await openObjectStore(out, { baseDir: io.cwd });
    const tty = io.stdout.isTTY === true && !flag(args, 'json');
    let lastPrint = 0;
    const t0 = Date.now();
    const progress = (p: GenProgress): void => {
      const now = Date.now();
      const done = p.rowsDone === p.rowsTotal && p.daysDone === p.days;
      if (!done && now - lastPrint < (tty ? 200 : 2000)) return;
      lastPrint = now;
      const rate = Math.round(p.rowsDone / Math.max(0.001, (now - t0) / 1000));
      const line = `gen ${p.kind}: ${p.rowsDone.toLocaleString('en-US')}/${p.rowsTotal.toLocaleString('en-US')} rows, day ${p.daysDone}/${p.days} (${p.date}), ${rate.toLocaleString('en-US')} rows/s`;
      if (tty) io.stdout.write(`\r${line}\x1b[K`);
      else if (!flag(args, 'json')) io.stderr.write(`${line}\n`);
    };
    const opts: Parameters<typeof generate>[1] = {
      store,
      rows: intOpt(str(args, 'rows'), 'rows'),
      seed: intOpt(str(args, 'seed'), 'seed'),
      days: intOpt(str(args, 'days'), 'days', 1),
      persons: intOpt(str(args, 'persons'), 'persons', 10_000),
      signal: io.interrupted,
    };
    const start = str(args, 'start');
    if (start !== undefined) opts.start = start;
    if (str(args, 'threads') !== undefined) {
      opts.threads = intOpt(str(args, 'threads'), 'threads');
      if (opts.threads < 1) throw new DagctlError('USAGE', `--threads must be at least 1\n${USAGE}`);
    }
    const result = await generate(kind as GenKind, opts, progress);
    if (tty) io.stdout.write('\n');
    if (flag(args, 'json')) writeJson(io, { uri: store.rootUri, ...result });
    else {
      const skipped = result.days.filter((d) => d.skipped).length;
      io.stdout.write(`wrote ${result.rows.toLocaleString('en-US')} ${kind} rows in ${result.files} files (${result.bytes.toLocaleString('en-US')} bytes) to ${store.rootUri}${skipped > 0 ? `; ${skipped} day(s) already present, skipped` : ''}\n`);
    }
    return 0;
  },
};
