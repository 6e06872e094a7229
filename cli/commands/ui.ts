/**
 * `dagctl ui` — the web UI, served by this process until SIGINT/SIGTERM: the DAGs and recent runs
 * of the embedded store (DAGCTL_HOME) and, with --redis, of Redis (shown separately); a run page
 * with every instance's predicted T = O + P×H vs actual, updated live; a DAG page with its graph,
 * file and plan numbers; cancel and retry-from-task for Redis runs. Binds 127.0.0.1 by default;
 * any other address needs --token. Prints one JSON line `{"url": …, "port": …}` once listening.
 */
import { DagctlError } from '../../core/errors.js';
import { dagctlHome } from '../../scheduler/plan/context.js';
import { createUiServer } from '../../ui/server/app.js';
import { checkBind } from '../../ui/server/security.js';
import { localSource, redisSource, type RunSource } from '../../ui/server/sources.js';
import { maskUrl } from '../../ui/server/views.js';
import { flag, redisUrlOf, str, type CommandDef } from '../command.js';

export const uiCommand: CommandDef = {
  name: 'ui',
  summary: 'Serve the web UI: DAGs, runs (live), the cost model; cancel and retry',
  usage: `dagctl ui [--port P] [--host H] [--redis URL] [--read-only] [--token T]

  --port P      port to listen on (default 8080; 0 = any free port)
  --host H      address to bind (default 127.0.0.1); any non-loopback address needs --token
  --redis URL   also show distributed runs from Redis (also DAGCTL_REDIS_URL)
  --read-only   no actions (cancel, retry)
  --token T     require this token (16+ characters; also DAGCTL_UI_TOKEN): open the UI once with
                ?token=T (kept in an HttpOnly cookie) or send Authorization: Bearer T`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    redis: { type: 'string' },
    'read-only': { type: 'boolean' },
    token: { type: 'string' },
  },
  allowPositionals: false,
  async run(args, io) {
    const portText = str(args, 'port') ?? '8080';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DagctlError('USAGE', `--port expects an integer 0..65535, got "${portText}"`);
    const host = str(args, 'host') ?? '127.0.0.1';
    const token = str(args, 'token') ?? (io.env.DAGCTL_UI_TOKEN || undefined);
    checkBind(host, token);
    const sources: RunSource[] = [localSource(dagctlHome(io.env, io.cwd))];
    const redisUrl = redisUrlOf(io, str(args, 'redis'));
    try {
      if (redisUrl !== undefined) sources.push(await redisSource(redisUrl, io.env));
      const server = await createUiServer({ sources, readOnly: flag(args, 'read-only'), ...(token !== undefined ? { token } : {}) });
      const { url, port: bound } = await server.listen(port, host);
      io.stdout.write(`${JSON.stringify({ url, port: bound, stores: sources.map((s) => s.id), redis: redisUrl === undefined ? null : maskUrl(redisUrl) })}\n`);
      await new Promise<void>((resolve) => {
        if (io.interrupted.aborted) resolve();
        else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
      return 0;
    } finally {
      for (const s of sources) await s.close();
    }
  },
};
