/**
 * `dagctl dataset ls|current|vacuum URI` — Inspect datasets and vacuum old view versions.
 *   ls URI [--from D] [--to D] [--text]      data files of a source dataset (date-pruned when a range is given)
 *   current URI                              the published version (_CURRENT) and its manifest summary
 *   vacuum URI [--keep N] [--older-than D] [--dry-run]
 * All take --json.
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { listSource, type ListSourceOptions } from '../../storage/dataset/source.js';
import { vacuum } from '../../storage/dataset/vacuum.js';
import { openObjectStore, openSource } from '../../storage/open.js';
import { flag, str, writeJson, type CommandDef } from '../command.js';

const USAGE = `dagctl dataset ls URI [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--text] [--json]
dagctl dataset current URI [--json]
dagctl dataset vacuum URI [--keep N] [--older-than D] [--dry-run] [--json]`;

export const datasetCommand: CommandDef = {
  name: 'dataset',
  summary: 'Inspect datasets and vacuum old view versions',
  usage: USAGE,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    text: { type: 'boolean' },
    keep: { type: 'string' },
    'older-than': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    const [sub, uri, ...extra] = args.positionals;
    if (sub === undefined || uri === undefined || extra.length > 0) throw new DagctlError('USAGE', USAGE);
    const json = flag(args, 'json');
    switch (sub) {
      case 'ls': {
        const src = await openSource(uri, { baseDir: io.cwd });
        const from = str(args, 'from');
        const to = str(args, 'to');
        const opts: ListSourceOptions = { format: flag(args, 'text') ? 'text' : 'parquet' };
        if (src.only !== undefined) opts.only = src.only;
        if (from !== undefined || to !== undefined) {
          opts.partitionBy = 'date';
          opts.range = {};
          if (from !== undefined) opts.range.from = from;
          if (to !== undefined) opts.range.to = to;
        }
        const files = await listSource(src.store, opts);
        const bytes = files.reduce((n, f) => n + f.bytes, 0);
        if (json) writeJson(io, { uri: src.store.rootUri, files, bytes });
        else {
          for (const f of files) io.stdout.write(`${f.path}\t${f.bytes}\n`);
          io.stdout.write(`${files.length} files, ${bytes.toLocaleString('en-US')} bytes\n`);
        }
        return 0;
      }
      case 'current': {
        const store = await openObjectStore(uri, { baseDir: io.cwd });
        const cur = await readCurrent(store);
        if (cur === null) throw new DagctlError('DATASET_NOT_FOUND', `${store.rootUri} has no published version (_CURRENT)`);
        if (json) writeJson(io, cur);
        else {
          // Merge-on-read versions list shared files with deletion vectors: say how many rows they hide.
          const withDeletes = cur.manifest.files.filter((f) => (f.deletes?.count ?? 0) > 0);
          const deleted = withDeletes.reduce((n, f) => n + (f.deletes?.count ?? 0), 0);
          const mor = withDeletes.length > 0 ? ` (${deleted.toLocaleString('en-US')} deleted rows in ${withDeletes.length} files)` : '';
          io.stdout.write(`${cur.manifest.dataset} version ${cur.pointer.version} (${cur.manifest.createdAt}): ${cur.manifest.files.length} files, ${cur.manifest.rows.toLocaleString('en-US')} rows${mor}, ${cur.manifest.bytes.toLocaleString('en-US')} bytes\n`);
        }
        return 0;
      }
      case 'vacuum': {
        const store = await openObjectStore(uri, { baseDir: io.cwd });
        const keep = Number(str(args, 'keep') ?? '2');
        const olderThanMs = parseDuration(str(args, 'older-than') ?? '24h');
        if (!Number.isInteger(keep) || keep < 1) throw new DagctlError('USAGE', '--keep must be a positive integer');
        if (olderThanMs === null || olderThanMs < 0) throw new DagctlError('USAGE', '--older-than expects a duration such as 12h or 7d');
        const report = await vacuum(store, { keepVersions: keep, olderThanMs, dryRun: flag(args, 'dry-run'), log: json ? undefined : (l) => io.stderr.write(`${l}\n`) });
        if (json) writeJson(io, report);
        else io.stdout.write(`${report.dryRun ? 'would delete' : 'deleted'} ${report.deletedVersions.length} versions, ${report.deletedMarkers.length} markers, ${report.deletedFiles.length} files; kept ${report.keptVersions.join(', ')}\n`);
        return 0;
      }
      default:
        throw new DagctlError('USAGE', USAGE);
    }
  },
};
