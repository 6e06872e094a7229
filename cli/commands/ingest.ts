/**
 * `dagctl ingest kafka --brokers H:P[,H:P] --topic T --out URI [--kind pageviews|ages] [--group G] [--max-batch-records N]
 * [--max-batch-ms MS] [--max-batches N | --until-idle MS] [--json]` — append a Kafka topic's
 * pageview (default) or age records to a date-partitioned master dataset, exactly once (ingest/kafka/consumer.ts,
 * docs/ingest.md).
 * Progress: one line per batch and a lag line every ~2 s on stderr (not with --json); --json
 * prints the summary object on stdout. Without --max-batches/--until-idle it runs until SIGINT/
 * SIGTERM, then commits what it buffered and exits 0.
 * Default group: dagctl-ingest-<topic>-<8 hex of the dataset URI>, so two datasets fed from one
 * topic never share advisory offsets.
 */
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { ingestKafka, type IngestEvent, type IngestOptions } from '../../ingest/kafka/consumer.js';
import { isRecordKind, RECORD_KINDS } from '../../ingest/records.js';
import { openObjectStore } from '../../storage/open.js';
import { flag, str, writeJson, type CommandDef } from '../command.js';

const USAGE = `dagctl ingest kafka --brokers H:P[,H:P] --topic T --out URI [--kind pageviews|ages] [--group G] [--max-batch-records N] [--max-batch-ms MS] [--max-batches N | --until-idle MS] [--json]`;

function posInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new DagctlError('USAGE', `--${name} must be a positive integer, got "${v}"`);
  return n;
}

function need(v: string | undefined, name: string): string {
  if (v === undefined || v === '') throw new DagctlError('USAGE', `--${name} is required\n${USAGE}`);
  return v;
}

export const ingestCommand: CommandDef = {
  name: 'ingest',
  summary: 'Append Kafka records to a date-partitioned master dataset, exactly once',
  usage: USAGE,
  options: {
    brokers: { type: 'string' },
    topic: { type: 'string' },
    out: { type: 'string' },
    kind: { type: 'string' },
    group: { type: 'string' },
    'max-batch-records': { type: 'string' },
    'max-batch-ms': { type: 'string' },
    'max-batches': { type: 'string' },
    'until-idle': { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1 || args.positionals[0] !== 'kafka') throw new DagctlError('USAGE', `expected the source "kafka"\n${USAGE}`);
    const brokers = need(str(args, 'brokers'), 'brokers')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== '');
    for (const b of brokers) if (!/^[^:\s]+:\d{1,5}$/.test(b)) throw new DagctlError('USAGE', `--brokers entries must be host:port, got "${b}"`);
    const topic = need(str(args, 'topic'), 'topic');
    const out = need(str(args, 'out'), 'out');
    const kind = str(args, 'kind') ?? 'pageviews';
    if (!isRecordKind(kind)) throw new DagctlError('USAGE', `--kind must be one of ${RECORD_KINDS.join(', ')}, got "${kind}"\n${USAGE}`);
    const maxBatches = posInt(str(args, 'max-batches'), 'max-batches');
    const untilIdle = posInt(str(args, 'until-idle'), 'until-idle');
    if (maxBatches !== undefined && untilIdle !== undefined) throw new DagctlError('USAGE', `--max-batches and --until-idle are exclusive\n${USAGE}`);
    const store = await openObjectStore(out, { baseDir: io.cwd });
    const json = flag(args, 'json');
    const fmt = (n: number): string => n.toLocaleString('en-US');
    const onEvent = (e: IngestEvent): void => {
      if (json) return;
      const t = e.totals;
      if (e.type === 'batch') {
        io.stderr.write(`ingest ${topic}: batch ${e.batchId} ${e.outcome} (${fmt(e.records)} records, ${fmt(e.rows)} rows, ${fmt(e.rejects)} rejects); total ${fmt(t.batches)} batches, ${fmt(t.records)} records, ${fmt(t.rejects)} rejects\n`);
      } else {
        io.stderr.write(`ingest ${topic}: ${fmt(t.batches)} batches (${fmt(t.skippedBatches)} skipped), ${fmt(t.records)} records, ${fmt(t.rows)} rows, ${fmt(t.rejects)} rejects, lag ${e.lag === null ? '?' : fmt(e.lag)}\n`);
      }
    };
    const opts: IngestOptions = {
      brokers,
      topic,
      store,
      kind,
      groupId: str(args, 'group') ?? `dagctl-ingest-${topic}-${sha256Hex(store.rootUri).slice(0, 8)}`,
      signal: io.interrupted,
      onEvent,
      log: (line) => io.stderr.write(`${line}\n`),
    };
    const mbr = posInt(str(args, 'max-batch-records'), 'max-batch-records');
    if (mbr !== undefined) opts.maxBatchRecords = mbr;
    const mbm = posInt(str(args, 'max-batch-ms'), 'max-batch-ms');
    if (mbm !== undefined) opts.maxBatchMs = mbm;
    if (maxBatches !== undefined) opts.maxBatches = maxBatches;
    if (untilIdle !== undefined) opts.untilIdleMs = untilIdle;
    const s = await ingestKafka(opts);
    if (json) writeJson(io, { uri: store.rootUri, ...s });
    else {
      const lag = Object.values(s.partitions).reduce((n, p) => n + (p.lag ?? 0), 0);
      io.stdout.write(`ingested ${fmt(s.records)} records of ${topic} into ${store.rootUri}: ${fmt(s.rows)} rows in ${fmt(s.files)} files, ${fmt(s.rejects)} rejects, ${fmt(s.batches)} batches (${fmt(s.skippedBatches)} already committed); stopped by ${s.stoppedBy}, lag ${fmt(lag)}\n`);
    }
    return 0;
  },
};
