/**
 * `dagctl query VIEW_URI --where url=U --from ISO --to ISO [--json]` — pageviews and uniques of
 * one key of a rollup view over [from, to) (serving/query.ts): the fewest buckets covering the
 * range, their pageviews summed and sketches merged. Reads the view's current published version,
 * only the queried key's rows: located by the version's key index, or (no usable index: a note on
 * stderr) by scanning the key columns. Bad input (no published view, unknown key column, from ≥
 * to, a range outside the view's data) is a coded error, exit 2.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import type { QueryAnswer } from '../../serving/query.js';
import type { ViewSnapshot } from '../../serving/view.js';
import { flag, str, strs, writeJson, type CommandDef } from '../command.js';

const USAGE = `dagctl query VIEW_URI --where COL=VALUE... --from TIME --to TIME [--json [--sketches]]

  VIEW_URI        a rollup view (file path, file:// or s3:// URI), e.g. data/views/pageviews-over-time
  --where COL=V   one per key column of the view (url for the SuperWebAnalytics views)
  --from, --to    [from, to): ISO 8601 (2024-03-01T03:00:00Z; no zone = UTC) or epoch seconds;
                  rounded outwards to whole hours (the finest granularity of the view), reported
  --sketches      with --json: each bucket's HLL sketch and the merged one, base64 (docs/serving.md)
  --speed URL     the speed layer's Redis (dagctl speed): hours past the view's high-water mark
                  are answered from its realtime views (buckets marked "layer": "speed")`;

export const queryCommand: CommandDef = {
  name: 'query',
  summary: 'Pageviews and uniques of a key over a time range, from a rollup view',
  usage: USAGE,
  options: {
    where: { type: 'string', multiple: true },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    sketches: { type: 'boolean' },
    speed: { type: 'string' },
  },
  allowPositionals: true,
  async run(args, io) {
    const [uri, ...extra] = args.positionals;
    const fromText = str(args, 'from'), toText = str(args, 'to');
    if (uri === undefined || extra.length > 0 || fromText === undefined || toText === undefined) throw new DagctlError('USAGE', USAGE);
    // Loaded here, not at the top: the CLI's command list imports every command module, and no
    // other command needs the serving layer (hyparquet, the view loader).
    const [{ answer, parseTime, parseWhere }, { BlockCache, loadView }, { openObjectStore }] = await Promise.all([
      import('../../serving/query.js'), import('../../serving/view.js'), import('../../storage/open.js'),
    ]);
    const where = parseWhere(strs(args, 'where'));
    const from = parseTime(fromText, 'from'), to = parseTime(toText, 'to');
    if (from >= to) throw new DagctlError('QUERY_RANGE_INVALID', `--from (${fromText}) must be before --to (${toText})`, { from: fromText, to: toText });
    const store = await openObjectStore(uri, { baseDir: io.cwd });
    // Only the queried key's block is kept while the view is scanned.
    // Through the version's key index (serving/key-index.ts) when it has a usable one; else scanned, and said so.
    const load = (): Promise<ViewSnapshot> =>
      loadView(store, { cache: new BlockCache(Number.MAX_SAFE_INTEGER), only: where, onIndexFallback: (e) => io.stderr.write(`dagctl query: note: ${e.code}: ${e.message}\n`) });
    const speedUrl = str(args, 'speed');
    let a: QueryAnswer;
    if (speedUrl === undefined) a = await answer(await load(), where, from, to, { sketches: flag(args, 'sketches') });
    else {
      const { connectRedis } = await import('../../scheduler/redis/connection.js');
      const { redisSpeedSource } = await import('../../serving/speed/state.js');
      const redis = await connectRedis(speedUrl, 'client');
      try {
        const snap = await load();
        const opts = { sketches: flag(args, 'sketches'), speed: redisSpeedSource(redis, snap.name) };
        try {
          a = await answer(snap, where, from, to, opts);
        } catch (e) {
          // A batch version was published (and realtime hours expired) since the view was read.
          if (!isDagctlError(e, 'QUERY_VIEW_STALE')) throw e;
          a = await answer(await load(), where, from, to, opts);
        }
      } finally {
        redis.disconnect();
      }
    }
    if (flag(args, 'json')) writeJson(io, a);
    else {
      const keyText = Object.entries(a.key).map(([k, v]) => `${k}=${v}`).join(' ');
      io.stdout.write(`${a.view} (version ${a.version}) ${keyText} [${a.from}, ${a.to}): ${a.pageviews} pageviews, ${a.uniques ?? 'no'} uniques from ${a.buckets.length} buckets (${summary(a.buckets.map((b) => b.granularity))})\n`);
      if (a.realtime !== undefined) io.stdout.write(`realtime: [${a.realtime.from}, ${a.realtime.to}) from the speed layer\n`);
      if (a.rounded) io.stdout.write(`note: [${a.requested.from}, ${a.requested.to}) was rounded outwards to whole hours: [${a.from}, ${a.to})\n`);
    }
    return 0;
  },
};

function summary(gs: string[]): string {
  const n = new Map<string, number>();
  for (const g of gs) n.set(g, (n.get(g) ?? 0) + 1);
  return [...n].map(([g, k]) => `${k}×${g}`).join(' + ');
}
