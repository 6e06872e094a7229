/**
 * `dagctl serve --port P VIEW_URI...` — the serving layer's HTTP API over rollup views
 * (serving/server.ts): GET /query?view=NAME&url=U&from=TIME&to=TIME, /views, /healthz, /readyz,
 * /metrics. Each view is NAME=URI or URI (named by its dataset). New published versions are
 * picked up every --poll without a restart. Runs until SIGINT/SIGTERM.
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { openObjectStore } from '../../storage/open.js';
import type { ServedView } from '../../serving/server.js';
import { str, type CommandDef } from '../command.js';

const USAGE = `dagctl serve --port P [--host H] [--poll 2s] [--cache-mb 256] [NAME=]VIEW_URI...

  --port P        listen on P (0 = any free port; the port is printed as JSON on stdout)
  --host H        bind address (default 127.0.0.1)
  --poll D        how often to check each view for a new published version (default 2s)
  --cache-mb M    memory for key blocks (an LRU shared by all views; default 256)
  --speed URL     the speed layer's Redis (dagctl speed): ranges past a view's high-water mark
                  are answered with its realtime hours
  NAME=URI        serve the view at URI as NAME (default: its dataset name)`;

export const serveCommand: CommandDef = {
  name: 'serve',
  summary: 'HTTP API answering range queries from rollup views (pageviews, uniques)',
  usage: USAGE,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    poll: { type: 'string' },
    'cache-mb': { type: 'string' },
    speed: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const portText = str(args, 'port');
    if (portText === undefined || args.positionals.length === 0) throw new DagctlError('USAGE', USAGE);
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DagctlError('USAGE', `--port expects 0..65535, got "${portText}"`);
    const pollMs = parseDuration(str(args, 'poll') ?? '2s');
    if (pollMs === null || pollMs <= 0) throw new DagctlError('USAGE', '--poll expects a duration such as 500ms or 2s');
    const cacheMb = Number(str(args, 'cache-mb') ?? '256');
    if (!Number.isFinite(cacheMb) || cacheMb <= 0) throw new DagctlError('USAGE', '--cache-mb expects a positive number');
    const views: ServedView[] = [];
    for (const p of args.positionals) {
      const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(p);
      const uri = m === null ? p : m[2]!;
      const store = await openObjectStore(uri, { baseDir: io.cwd });
      views.push(m === null ? { store } : { store, name: m[1]! });
    }
    const log = (e: Record<string, unknown>): void => void io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    // Loaded lazily: other commands never pay for fastify.
    const { startServer } = await import('../../serving/server.js');
    const speedUrl = str(args, 'speed');
    const speedRedis = speedUrl === undefined ? undefined : await (await import('../../scheduler/redis/connection.js')).connectRedis(speedUrl, 'worker');
    const h = await startServer({ views, port, pollMs, cacheBytes: Math.floor(cacheMb * 1024 * 1024), log, ...(speedRedis !== undefined ? { speedRedis } : {}), ...(str(args, 'host') !== undefined ? { host: str(args, 'host')! } : {}) });
    io.stdout.write(`${JSON.stringify({ serve: 'listening', port: h.port })}\n`);
    await new Promise<void>((resolve) => {
      if (io.interrupted.aborted) resolve();
      else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
    await h.close();
    speedRedis?.disconnect();
    return 0;
  },
};
