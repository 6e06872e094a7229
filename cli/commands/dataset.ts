/**
 * `dagctl dataset ls|current|history|rollback|vacuum URI` — Inspect datasets, roll views back and
 * vacuum old view versions.
 *   ls URI [--from D] [--to D] [--text]      data files of a source dataset (date-pruned when a range is given)
 *   current URI                              the published version (_CURRENT) and its manifest summary
 *   history URI                              every publication: version (seq), time, producer, operation, rows, files
 *   rollback URI --to VERSION                a new publication restoring an earlier version (seq or version name)
 *   vacuum URI [--keep N] [--older-than D] [--log-retention D] [--dry-run]
 *   verify URI                               the view's Delta Lake log against _CURRENT and storage (DELTA_LOG_INVALID)
 *   check URI [--text]                       a source's data files no commit marker names (what readers skip); exit 1 if any
 * All take --json.
 */
import { parseDuration } from '../../core/duration.js';
import { DagctlError } from '../../core/errors.js';
import { verifyDeltaLog } from '../../storage/dataset/delta-log.js';
import { history, rollback } from '../../storage/dataset/history.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { listSource, listSourceReport, type ListSourceOptions } from '../../storage/dataset/source.js';
import { vacuum } from '../../storage/dataset/vacuum.js';
import { openObjectStore, openSource } from '../../storage/open.js';
import { flag, str, writeJson, type CommandDef } from '../command.js';

const USAGE = `dagctl dataset ls URI [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--text] [--json]
dagctl dataset current URI [--json]
dagctl dataset history URI [--json]
dagctl dataset rollback URI --to VERSION [--json]
dagctl dataset vacuum URI [--keep N] [--older-than D] [--log-retention D (default 30d)] [--dry-run] [--json]
dagctl dataset verify URI [--json]
dagctl dataset check URI [--text] [--json]`;

export const datasetCommand: CommandDef = {
  name: 'dataset',
  summary: 'Inspect datasets, show view history, roll back and vacuum old view versions',
  usage: USAGE,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    text: { type: 'boolean' },
    keep: { type: 'string' },
    'older-than': { type: 'string' },
    'log-retention': { type: 'string' },
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
          const pub = cur.pointer.publication;
          const by = pub === undefined ? '' : `; publication ${pub.seq}${pub.operation === 'rollback' ? ` (rollback to ${pub.restoredFrom ?? '?'})` : ''}${pub.producer === undefined ? '' : ` by DAG ${pub.producer.dag}`} at ${pub.publishedAt}`;
          io.stdout.write(`${cur.manifest.dataset} version ${cur.pointer.version} (${cur.manifest.createdAt}): ${cur.manifest.files.length} files, ${cur.manifest.rows.toLocaleString('en-US')} rows${mor}, ${cur.manifest.bytes.toLocaleString('en-US')} bytes${by}\n`);
        }
        return 0;
      }
      case 'history': {
        const store = await openObjectStore(uri, { baseDir: io.cwd });
        const entries = await history(store);
        if (json) writeJson(io, { uri: store.rootUri, publications: entries });
        else {
          io.stdout.write('VERSION  PUBLISHED                 OPERATION      PRODUCER                     ROWS      FILES  ID\n');
          for (const e of entries) {
            const op = e.operation === 'rollback' ? `rollback(${e.restoredFrom ?? '?'})` : e.operation;
            const who = e.producer === undefined ? '-' : `${e.producer.dag}@${e.producer.dagHash.slice(0, 8)}`;
            io.stdout.write(`${`${e.current ? '*' : ' '}${e.seq}`.padEnd(8)} ${e.publishedAt.padEnd(25)} ${op.padEnd(14)} ${who.padEnd(28)} ${String(e.rows).padStart(9)} ${String(e.files).padStart(6)}  ${e.version}${e.restorable ? '' : ' (vacuumed)'}\n`);
          }
        }
        return 0;
      }
      case 'rollback': {
        const to = str(args, 'to');
        if (to === undefined) throw new DagctlError('USAGE', `rollback needs --to VERSION\n${USAGE}`);
        const store = await openObjectStore(uri, { baseDir: io.cwd });
        const r = await rollback(store, to);
        if (json) writeJson(io, { uri: store.rootUri, restored: r.restored, alreadyCurrent: r.alreadyCurrent, publication: r.pointer.publication ?? null });
        else if (r.alreadyCurrent) io.stdout.write(`version ${r.restored.version} (publication ${r.restored.seq}) is already current; nothing changed\n`);
        else io.stdout.write(`restored version ${r.restored.version} (publication ${r.restored.seq}) as publication ${r.pointer.publication?.seq ?? '?'}: ${r.manifest.rows.toLocaleString('en-US')} rows, ${r.manifest.files.length} files\n`);
        return 0;
      }
      case 'vacuum': {
        const store = await openObjectStore(uri, { baseDir: io.cwd });
        const keep = Number(str(args, 'keep') ?? '2');
        const olderThanMs = parseDuration(str(args, 'older-than') ?? '24h');
        if (!Number.isInteger(keep) || keep < 1) throw new DagctlError('USAGE', '--keep must be a positive integer');
        if (olderThanMs === null || olderThanMs < 0) throw new DagctlError('USAGE', '--older-than expects a duration such as 12h or 7d');
        const logRetentionMs = parseDuration(str(args, 'log-retention') ?? '30d');
        if (logRetentionMs === null || logRetentionMs < 0) throw new DagctlError('USAGE', '--log-retention expects a duration such as 30d');
        const report = await vacuum(store, { keepVersions: keep, olderThanMs, logRetentionMs, dryRun: flag(args, 'dry-run'), log: json ? undefined : (l) => io.stderr.write(`${l}\n`) });
        if (json) writeJson(io, report);
        else io.stdout.write(`${report.dryRun ? 'would delete' : 'deleted'} ${report.deletedVersions.length} versions, ${report.deletedMarkers.length} markers, ${report.deletedFiles.length} files, ${report.deletedLogEntries.length} Delta log entries; kept ${report.keptVersions.join(', ')}\n`);
        return 0;
      }
      case 'verify': {
        const store = await openObjectStore(uri, { baseDir: io.cwd });
        const c = await verifyDeltaLog(store);
        if (json) writeJson(io, c);
        else if (!c.log) io.stdout.write(`${c.uri} has no Delta Lake log (a view with delta: false, or not published since)\n`);
        else io.stdout.write(`Delta log version ${String(c.version)} records publication ${String(c.seq)} (current: ${c.currentSeq}${c.behind ? '; behind: the next publication logs the rest' : ''}); ${c.files} files, all stored\n`);
        return 0;
      }
      case 'check': {
        // The listing rule of storage/dataset/source.ts, with what it leaves out.
        const src = await openSource(uri, { baseDir: io.cwd });
        const opts: ListSourceOptions = { format: flag(args, 'text') ? 'text' : 'parquet', committed: 'auto' };
        if (src.only !== undefined) opts.only = src.only;
        const r = await listSourceReport(src.store, opts);
        const uncommitted = r.uncommitted.map((f) => ({ path: f.path, bytes: f.bytes }));
        if (json) writeJson(io, { uri: src.store.rootUri, marked: r.marked, read: r.files.length, uncommitted });
        else if (!r.marked) io.stdout.write(`${src.store.rootUri} has no commit markers: readers read every data file (${r.files.length})\n`);
        else {
          for (const f of uncommitted) io.stdout.write(`${f.path}\t${f.bytes}\tno commit marker names it: not read\n`);
          io.stdout.write(`${r.files.length} files named by commit markers (read), ${uncommitted.length} without a marker (not read)\n`);
        }
        return uncommitted.length > 0 ? 1 : 0;
      }
      default:
        throw new DagctlError('USAGE', USAGE);
    }
  },
};
