/**
 * `dagctl speed --brokers H:P[,H:P] --topic T --redis URL [--port P] [--group G] [--poll 2s]
 * [--ttl 7d] VIEW_URI` — the speed layer (serving/speed/service.ts): consumes the pageview topic
 * and keeps realtime views (pageviews and HLL sketches per URL and hour) of the batch view at
 * VIEW_URI in Redis, exactly once per micro-batch; hours the batch view has absorbed are expired
 * when a version covering them is published. Serves /healthz, /readyz (consumer joined and the
 * batch view's mark read), /metrics (events, batches, replays, rejects, expiry, per-partition
 * lag). `dagctl query --speed URL` and `dagctl serve --speed URL` merge these hours with the batch
 * view. Runs until SIGINT/SIGTERM; progress lines on stderr every ~2 s.
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { openObjectStore } from '../../storage/open.js';
import { str, type CommandDef } from '../command.js';

const USAGE = `dagctl speed --brokers H:P[,H:P] --topic T --redis URL [--port P] [--host H] [--group G] [--poll 2s] [--ttl 7d] [NAME=]VIEW_URI

  VIEW_URI      the batch view (a rollup view keyed by url with hour buckets) whose unabsorbed
                hours the speed layer covers; NAME defaults to its dataset name (as dagctl serve)
  --redis URL   where the realtime views live (redis:// or rediss://)
  --port P      health and metrics (/healthz, /readyz, /metrics); 0 = any free port (printed)
  --poll D      how often the batch view is checked for a new version (expiry; default 2s)
  --ttl D       realtime hours expire this long after their end even if no batch absorbs them
                (default 7d; queries refuse hours that old instead of answering them as empty)`;

function need(v: string | undefined, name: string): string {
  if (v === undefined || v === '') throw new DagctlError('USAGE', `--${name} is required\n${USAGE}`);
  return v;
}

export const speedCommand: CommandDef = {
  name: 'speed',
  summary: 'Speed layer: realtime pageviews and uniques per URL-hour in Redis from Kafka, exactly once',
  usage: USAGE,
  options: {
    brokers: { type: 'string' },
    topic: { type: 'string' },
    redis: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    group: { type: 'string' },
    poll: { type: 'string' },
    ttl: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1) throw new DagctlError('USAGE', USAGE);
    const brokers = need(str(args, 'brokers'), 'brokers').split(',').map((b) => b.trim()).filter((b) => b !== '');
    for (const b of brokers) if (!/^[^:\s]+:\d{1,5}$/.test(b)) throw new DagctlError('USAGE', `--brokers entries must be host:port, got "${b}"`);
    const topic = need(str(args, 'topic'), 'topic');
    const redisUrl = need(str(args, 'redis'), 'redis');
    const pollMs = parseDuration(str(args, 'poll') ?? '2s');
    if (pollMs === null || pollMs <= 0) throw new DagctlError('USAGE', '--poll expects a duration such as 500ms or 2s');
    const ttlMs = parseDuration(str(args, 'ttl') ?? '7d');
    if (ttlMs === null || ttlMs < 3_600_000) throw new DagctlError('USAGE', '--ttl expects a duration of at least 1h, such as 48h or 7d');
    const portText = str(args, 'port');
    const port = portText === undefined ? null : Number(portText);
    if (port !== null && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new DagctlError('USAGE', `--port expects 0..65535, got "${portText}"`);
    const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(args.positionals[0]!);
    const uri = m === null ? args.positionals[0]! : m[2]!;
    const viewStore = await openObjectStore(uri, { baseDir: io.cwd });
    const { currentVersion } = await import('../../serving/view.js');
    const cur = await currentVersion(viewStore);
    const view = m?.[1] ?? cur?.dataset;
    if (view === undefined) throw new DagctlError('QUERY_VIEW_UNKNOWN', `${viewStore.rootUri} has no published version to take its name from: name it NAME=${uri}`, { uri: viewStore.rootUri });
    const log = (e: Record<string, unknown>): void => void io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    const { connectRedis } = await import('../../scheduler/redis/connection.js');
    const { startSpeed } = await import('../../serving/speed/service.js');
    const { startSpeedHttp } = await import('../../serving/speed/http.js');
    const redis = await connectRedis(redisUrl, 'worker');
    try {
      const h = await startSpeed({
        brokers, topic, redis, view, viewStore, pollMs, ttlSeconds: Math.floor(ttlMs / 1000), log,
        groupId: str(args, 'group') ?? `dagctl-speed-${view}-${sha256Hex(viewStore.rootUri).slice(0, 8)}`,
      });
      const http = port === null ? null : await startSpeedHttp(h, { port, ...(str(args, 'host') !== undefined ? { host: str(args, 'host')! } : {}) });
      io.stdout.write(`${JSON.stringify({ speed: 'running', view, topic, ...(http !== null ? { port: http.port } : {}) })}\n`);
      const progress = setInterval(() => {
        const s = h.status();
        const lag = Object.values(s.partitions).reduce((n, p) => n + (p.lag ?? 0), 0);
        log({ event: 'speed-progress', batches: s.batches, replayed: s.replayedBatches, events: s.events, dropped: s.dropped, expiredHours: s.expiredHours, lag, batchVersion: s.batchVersion });
      }, 2000);
      progress.unref();
      await Promise.race([
        h.done,
        new Promise<void>((resolve) => {
          if (io.interrupted.aborted) resolve();
          else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
        }),
      ]);
      clearInterval(progress);
      await http?.close();
      await h.stop();
      await h.done;
    } finally {
      redis.disconnect();
    }
    return 0;
  },
};
