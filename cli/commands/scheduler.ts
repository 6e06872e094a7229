/**
 * `dagctl scheduler FILE...|DIR` — the long-running scheduling service: runs each DAG with a
 * `schedule:` at its ticks (catchup, overlap, ${run.interval*}; docs/scheduling.md) and each DAG
 * with `triggers:` when new committed data lands in its source datasets, reloads edited
 * files (an invalid edit keeps the last good version), serves /healthz /readyz /metrics on --port,
 * and stops gracefully on SIGTERM/SIGINT. Embedded by default (local state under DAGCTL_HOME,
 * tasks in-process); --redis URL: replicas share a leader lease and submit runs to workers.
 * Prints one JSON line {"scheduler": {...}} on stdout once started; logs on stderr.
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { dagctlHome } from '../../scheduler/plan/context.js';
import { startScheduler } from '../../scheduler/schedule/process.js';
import { redisUrlOf, str, type CommandDef } from '../command.js';

export const schedulerCommand: CommandDef = {
  name: 'scheduler',
  summary: 'Run DAGs on their schedules (long-running service; --redis for replicas and workers)',
  usage: `dagctl scheduler FILE...|DIR [--redis URL] [--port P] [--host H] [--concurrency N]

  --redis URL        distributed: leader lease in Redis, runs submitted to \`dagctl worker\`s
                     (also DAGCTL_REDIS_URL)
  --port P           serve /healthz, /readyz, /metrics on P (0 = any free port)
  --host H           bind address of that server (default 127.0.0.1)
  --concurrency N    embedded: worker threads per run (default one per core)
  --reload EVERY     how often DAG files are re-read (default 1s)
  --trigger-poll P   how often DAGs with data triggers look for new commits (default 200ms)
  --trigger-settle S markers stamped this long ago and given runs fold into the trigger state's
                     floors (default 5m; lower only where a write is listed as soon as stamped)
  --lease TTL        distributed: leader lease time-to-live (default 10s)
  --drain TIMEOUT    on SIGTERM, wait this long for in-process runs (default 30s)`,
  options: {
    redis: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    concurrency: { type: 'string' },
    reload: { type: 'string' },
    lease: { type: 'string' },
    'trigger-poll': { type: 'string' },
    'trigger-settle': { type: 'string' },
    drain: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length === 0) throw new DagctlError('USAGE', `expected DAG files or a directory\n${schedulerCommand.usage}`);
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    const portText = str(args, 'port');
    const log = (line: string): void => {
      io.stderr.write(`${new Date().toISOString()} ${line}\n`);
    };
    const handle = await startScheduler({
      paths: args.positionals,
      home: dagctlHome(io.env, io.cwd),
      env: io.env,
      log,
      ...(redisUrl !== undefined ? { redisUrl } : {}),
      ...(portText !== undefined ? { port: intIn(portText, '--port', 0, 65535) } : {}),
      ...(str(args, 'host') !== undefined ? { host: str(args, 'host') } : {}),
      ...(str(args, 'concurrency') !== undefined ? { concurrency: intIn(str(args, 'concurrency') as string, '--concurrency', 1, 1024) } : {}),
      ...(str(args, 'reload') !== undefined ? { reloadMs: dur(str(args, 'reload') as string, '--reload') } : {}),
      ...(str(args, 'trigger-poll') !== undefined ? { triggerPollMs: dur(str(args, 'trigger-poll') as string, '--trigger-poll') } : {}),
      ...(str(args, 'trigger-settle') !== undefined ? { triggerSettleMs: dur(str(args, 'trigger-settle') as string, '--trigger-settle') } : {}),
      ...(str(args, 'lease') !== undefined ? { leaseMs: dur(str(args, 'lease') as string, '--lease') } : {}),
      ...(str(args, 'drain') !== undefined ? { drainMs: dur(str(args, 'drain') as string, '--drain') } : {}),
    });
    io.stdout.write(JSON.stringify({ scheduler: { pid: process.pid, port: handle.port ?? null, mode: redisUrl === undefined ? 'embedded' : 'redis' } }) + '\n');
    await new Promise<void>((resolve) => {
      if (io.interrupted.aborted) resolve();
      else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
    log('scheduler: stopping (signal)');
    await handle.stop();
    log('scheduler: stopped');
    return 0;
  },
};

function intIn(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new DagctlError('USAGE', `${name} expects an integer ${min}..${max}, got "${v}"`);
  return n;
}

function dur(v: string, name: string): number {
  const ms = parseDuration(v);
  if (ms === null || ms <= 0) throw new DagctlError('USAGE', `${name} expects a duration such as 500ms, 10s, got "${v}"`);
  return ms;
}
