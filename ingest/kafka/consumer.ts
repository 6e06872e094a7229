/**
 * `ingestKafka(opts)`: consume one Kafka topic with kafkajs and append its records — pageviews, or
 * ages with `kind: 'ages'` (ingest/records.ts) — to a date-partitioned master dataset in exactly-once micro-batches (ingest/micro-batch.ts).
 *
 * The dataset, not Kafka, says where we are. On every partition assignment the ingester reads the
 * partition's markers and claims (ingest/offsets.ts) and seeks to the first offset not committed
 * (or to the pending claim to redo); the assignment, seek and stale-batch mechanism is the shared
 * PartitionConsumer (ingest/kafka/partition-consumer.ts). Consumer-group offsets are committed
 * only after a batch's marker and are advisory (lag tools, a hint for other consumers); a crash
 * between marker and offset commit re-reads nothing, and if anything ever replays a batch, its
 * marker is found and the batch is skipped.
 *
 * Batches are per partition, cut when N records are buffered (maxBatchRecords), when the oldest
 * buffered record is maxBatchMs old, or on a graceful stop; a pending claim is cut exactly at its
 * range. Stops: maxBatches batches done, untilIdleMs without records once caught up to the
 * high watermark (buffers are flushed first), the abort signal (flushed first), or an error.
 * Preconditions: the topic exists; the dataset's writer is only this code (other writers of
 * `_commits/ingest-*` would confuse the resume).
 */
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type LogEntry } from 'kafkajs';
import { DagctlError, errorMessage, isDagctlError } from '../../core/errors.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { ObjectStore, ParquetCodec } from '../../storage/types.js';
import { commitBatch, type BatchStep, type IngestRecord } from '../micro-batch.js';
import type { RecordKind } from '../records.js';
import { checkTopic, readResume, type Claim, type PartitionResume } from '../offsets.js';
import { connectKafka, disconnectKafka, PartitionConsumer, requireTopic, type LogBounds, type PartitionSlot } from './partition-consumer.js';

export interface IngestOptions {
  brokers: string[];
  topic: string;
  store: ObjectStore;
  groupId: string;
  /** What the records are (ingest/records.ts; default 'pageviews'). */
  kind?: RecordKind;
  codec?: ParquetCodec;
  clientId?: string;
  /** Records per batch at most (default 10,000). */
  maxBatchRecords?: number;
  /** A partial batch is committed once its oldest record waited this long (default 5,000). */
  maxBatchMs?: number;
  /** Stop after this many batches (committed or skipped). */
  maxBatches?: number;
  /** Stop after this long without new records, once caught up with every partition. */
  untilIdleMs?: number;
  signal?: AbortSignal;
  maxRowsPerFile?: number;
  onEvent?: (e: IngestEvent) => void;
  /** Diagnostic lines (kafkajs warnings, advisory offset-commit failures). */
  log?: (line: string) => void;
  /** Test hook: called after each step of a batch's commit protocol. */
  onStep?: (step: BatchStep | 'offsets-committed', id: string) => void | Promise<void>;
}

export interface IngestTotals {
  batches: number;
  skippedBatches: number;
  records: number;
  rows: number;
  rejects: number;
  rejectReasons: Record<string, number>;
  files: number;
  bytes: number;
}

export type IngestEvent =
  | { type: 'batch'; outcome: 'committed' | 'skipped'; batchId: string; partition: number; records: number; rows: number; rejects: number; totals: IngestTotals }
  | { type: 'progress'; totals: IngestTotals; lag: number | null };

export interface IngestSummary extends IngestTotals {
  topic: string;
  group: string;
  stoppedBy: 'max-batches' | 'idle' | 'interrupted';
  /** Per partition: last offset in the dataset and the remaining lag at the end. */
  partitions: Record<string, { committedThrough: number; highWatermark: number | null; lag: number | null }>;
  elapsedMs: number;
}

interface PState extends PartitionSlot {
  committedThrough: number;
  /** First offset not yet committed (where we seek). */
  next: number;
  pending: Claim[];
  buffer: IngestRecord[];
  bufferSince: number;
  /** Last offset fetched (buffered or passed over): control records count. */
  fetchedThrough: number;
  highWatermark: number | null;
}

const TICK_MS = 100;
// kafkajs' logLevel is a plain object (no reverse mapping) — name its levels for log lines.
const LEVELS: Record<number, string> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };

export async function ingestKafka(opts: IngestOptions): Promise<IngestSummary> {
  return new Ingester(opts).run();
}

class Ingester {
  private readonly codec: ParquetCodec;
  private readonly maxRecords: number;
  private readonly maxMs: number;
  private readonly runId = `ingest-${Date.now()}-${process.pid}`;
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly parts: PartitionConsumer<PState, PartitionResume>;
  private chain: Promise<unknown> = Promise.resolve();
  private stopReason: IngestSummary['stoppedBy'] | null = null;
  private fatal: unknown = null;
  private wake: () => void = () => undefined;
  private lastActivity = Date.now();
  private joined = false;
  private readonly totals: IngestTotals = { batches: 0, skippedBatches: 0, records: 0, rows: 0, rejects: 0, rejectReasons: {}, files: 0, bytes: 0 };

  constructor(private readonly opts: IngestOptions) {
    checkTopic(opts.topic);
    this.codec = opts.codec ?? defaultCodec();
    this.maxRecords = opts.maxBatchRecords ?? 10_000;
    this.maxMs = opts.maxBatchMs ?? 5_000;
    if (!Number.isSafeInteger(this.maxRecords) || this.maxRecords < 1) throw new DagctlError('PARAM_INVALID', 'maxBatchRecords must be a positive integer');
    if (!Number.isFinite(this.maxMs) || this.maxMs < 1) throw new DagctlError('PARAM_INVALID', 'maxBatchMs must be positive');
    const log = opts.log ?? (() => undefined);
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'dagctl-ingest',
      brokers: opts.brokers,
      connectionTimeout: 3_000,
      retry: { retries: 5, initialRetryTime: 300 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ namespace, level, log: entry }: LogEntry) =>
          log(`kafkajs ${LEVELS[level] ?? String(level)} ${namespace}: ${entry.message}`),
    });
    // The session timeout bounds how long a SIGKILLed member blocks its partitions (min 6 s on brokers).
    this.consumer = this.kafka.consumer({ groupId: opts.groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: Math.min(500, this.maxMs), retry: { retries: 5 } });
    this.admin = this.kafka.admin();
    this.parts = new PartitionConsumer<PState, PartitionResume>({
      consumer: this.consumer,
      admin: this.admin,
      topic: opts.topic,
      init: (partition, generation) => ({ partition, generation, ready: Promise.resolve(), committedThrough: -1, next: 0, pending: [], buffer: [], bufferSince: 0, fetchedThrough: -1, highWatermark: null }),
      stored: (partition) => readResume(opts.store, opts.topic, partition, opts.kind),
      position: (st, resume, log) => this.position(st, resume, log),
      process: (st, payload) => this.onBatch(st, payload),
      fail: (e) => this.fail(e),
      stopping: () => this.stopping,
    });
  }

  private get states(): ReadonlyMap<number, PState> {
    return this.parts.states;
  }

  async run(): Promise<IngestSummary> {
    const t0 = Date.now();
    const { topic } = this.opts;
    await connectKafka(this.opts.brokers, this.admin, this.consumer);
    try {
      await requireTopic(this.opts.brokers, this.admin, topic);
      await this.parts.run({ partitionsConsumedConcurrently: 1, onAssign: () => this.onAssign() });
      await this.loop();
    } catch (e) {
      this.fail(e);
    }
    const partitions = await this.finalPartitions().catch(() => ({}));
    await this.disconnect();
    if (this.fatal !== null) throw this.fatal;
    return { topic, group: this.opts.groupId, stoppedBy: this.stopReason ?? 'interrupted', ...this.totals, partitions, elapsedMs: Date.now() - t0 };
  }

  /** Ticks until a stop is requested: time-bounded cuts, idle detection, progress, abort. */
  private async loop(): Promise<void> {
    let lastProgress = Date.now();
    let lastIdleCheck = 0;
    while (this.stopReason === null && this.fatal === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, TICK_MS);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (this.stopReason !== null || this.fatal !== null) break;
      if (this.opts.signal?.aborted === true) {
        await this.finish('interrupted');
        break;
      }
      for (const st of this.states.values()) await this.locked(() => this.cut(st, false));
      const now = Date.now();
      if (this.opts.untilIdleMs !== undefined && this.joined && now - this.lastActivity >= this.opts.untilIdleMs && now - lastIdleCheck >= 500) {
        lastIdleCheck = now;
        if (await this.caughtUp()) await this.finish('idle');
      }
      if (now - lastProgress >= 2_000) {
        lastProgress = now;
        this.opts.onEvent?.({ type: 'progress', totals: { ...this.totals }, lag: await this.lag().catch(() => null) });
      }
    }
  }

  /** Graceful stop: commit what is buffered (cuts may be partial), then stop the loop. */
  private async finish(reason: IngestSummary['stoppedBy']): Promise<void> {
    for (const st of this.states.values()) await this.locked(() => this.cut(st, true));
    this.stop(reason);
  }

  private stop(reason: IngestSummary['stoppedBy']): void {
    if (this.stopReason === null) this.stopReason = reason;
    this.wake();
  }

  private fail(e: unknown): void {
    if (this.fatal === null) this.fatal = isDagctlError(e) ? e : new DagctlError('INTERNAL', errorMessage(e), {}, { cause: e });
    this.wake();
  }

  private get stopping(): boolean {
    return this.stopReason !== null || this.fatal !== null;
  }

  private async disconnect(): Promise<void> {
    await disconnectKafka(this.admin, this.consumer);
  }

  /** Serializes batch commits (eachBatch and the ticker both cut). */
  private locked(f: () => Promise<void>): Promise<void> {
    const r = this.chain.then(f);
    this.chain = r.catch(() => undefined);
    return r;
  }

  /** After a new assignment (PartitionConsumer forgot every state, re-reads the dataset, seeks). */
  private onAssign(): void {
    this.joined = true;
    this.lastActivity = Date.now();
  }

  /** Where a partition resumes: the pending claim to redo, else past the last commit, else the log start. */
  private position(st: PState, resume: PartitionResume, { low, high }: LogBounds): number {
    const { topic } = this.opts;
    const { partition } = st;
    st.highWatermark = high;
    st.committedThrough = resume.committedThrough;
    st.pending = resume.pending;
    st.next = resume.pending[0]?.firstOffset ?? (resume.committedThrough >= 0 ? resume.committedThrough + 1 : low);
    st.fetchedThrough = st.next - 1;
    // Records we still owe the dataset were deleted by retention: refuse rather than skip them.
    if ((resume.committedThrough >= 0 || resume.pending.length > 0) && st.next < low) {
      throw new DagctlError('INGEST_OFFSET_GAP', `${topic}/${partition}: next offset ${st.next} is below the log start ${low} (records lost to retention)`, { topic, partition, next: st.next, low });
    }
    return st.next;
  }

  /** A batch of a current, ready partition: buffer its new records, cut what is due. */
  private async onBatch(st: PState, { batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    st.highWatermark = Number(batch.highWatermark);
    const now = Date.now();
    for (const m of batch.messages) {
      const off = Number(m.offset);
      if (off <= st.fetchedThrough) continue;
      if (st.buffer.length === 0) st.bufferSince = now;
      st.buffer.push({ offset: off, key: m.key ?? null, value: m.value ?? null });
      st.fetchedThrough = off;
    }
    const last = batch.messages.at(-1);
    if (last !== undefined) {
      this.lastActivity = now;
      // Lets kafkajs fetch on (also past trailing control records); nothing is committed by this.
      resolveOffset(last.offset);
      st.fetchedThrough = Math.max(st.fetchedThrough, Number(batch.lastOffset()));
    }
    // A failure here goes to fail() (PartitionConsumer).
    await this.locked(() => this.cut(st, false));
    await heartbeat();
  }

  /** Commits every batch that is due in this partition's buffer. Runs under `locked`. */
  private async cut(st: PState, force: boolean): Promise<void> {
    const { topic } = this.opts;
    while (this.fatal === null && st.buffer.length > 0 && st.generation === this.parts.generation) {
      if (this.opts.maxBatches !== undefined && this.totals.batches + this.totals.skippedBatches >= this.opts.maxBatches) return;
      let take: number;
      const claim = st.pending[0];
      const head = st.buffer[0] as IngestRecord;
      if (claim !== undefined) {
        // A claimed range is redone exactly, whatever the bounds say now.
        if (head.offset !== claim.firstOffset) throw new DagctlError('INGEST_OFFSET_GAP', `${topic}/${st.partition}: claimed batch ${claim.batchId} starts at ${claim.firstOffset} but the log has ${head.offset}`, { claim });
        if (st.fetchedThrough < claim.lastOffset) return;
        take = st.buffer.findIndex((r) => r.offset > claim.lastOffset);
        if (take < 0) take = st.buffer.length;
      } else if (st.buffer.length >= this.maxRecords) take = this.maxRecords;
      else if (force || Date.now() - st.bufferSince >= this.maxMs) take = st.buffer.length;
      else return;
      const records = st.buffer.slice(0, take);
      const first = head.offset;
      const lastOffset = (records.at(-1) as IngestRecord).offset;
      const res = await commitBatch(this.opts.store, this.codec, { topic, partition: st.partition, firstOffset: first, lastOffset, records, ...(this.opts.kind !== undefined ? { kind: this.opts.kind } : {}) }, { runId: this.runId, maxRowsPerFile: this.opts.maxRowsPerFile, onStep: this.opts.onStep });
      if (res.outcome === 'reclaimed') {
        // Another attempt fixed this range first: adopt its boundaries and cut again.
        st.pending = [res.claim];
        continue;
      }
      st.buffer.splice(0, take);
      if (claim !== undefined) st.pending.shift();
      st.committedThrough = lastOffset;
      st.next = lastOffset + 1;
      st.bufferSince = Date.now();
      const info = res.marker.ingest;
      const rejects = Object.values(info.rejects).reduce((a, b) => a + b, 0);
      if (res.outcome === 'skipped') this.totals.skippedBatches++;
      else {
        this.totals.batches++;
        this.totals.records += info.records;
        this.totals.rows += info.rows;
        this.totals.rejects += rejects;
        for (const [k, v] of Object.entries(info.rejects)) this.totals.rejectReasons[k] = (this.totals.rejectReasons[k] ?? 0) + v;
        this.totals.files += res.marker.files.length;
        this.totals.bytes += res.marker.files.reduce((n, f) => n + f.bytes, 0);
      }
      // Advisory only (the marker is the commit): failures (a rebalance) are logged, not fatal.
      try {
        await this.consumer.commitOffsets([{ topic, partition: st.partition, offset: String(lastOffset + 1) }]);
        await this.opts.onStep?.('offsets-committed', res.marker.instanceId);
      } catch (e) {
        this.opts.log?.(`advisory offset commit of ${topic}/${st.partition}@${lastOffset + 1} failed: ${errorMessage(e)}`);
      }
      this.opts.onEvent?.({ type: 'batch', outcome: res.outcome, batchId: res.marker.instanceId, partition: st.partition, records: info.records, rows: info.rows, rejects, totals: { ...this.totals } });
      if (this.opts.maxBatches !== undefined && this.totals.batches + this.totals.skippedBatches >= this.opts.maxBatches) this.stop('max-batches');
    }
  }

  /** True when every assigned partition has been fetched up to its current high watermark. */
  private async caughtUp(): Promise<boolean> {
    const offsets = await this.admin.fetchTopicOffsets(this.opts.topic);
    for (const st of this.states.values()) {
      const o = offsets.find((x) => x.partition === st.partition);
      if (o === undefined) continue;
      st.highWatermark = Number(o.high);
      if (st.pending.length > 0 || Math.max(st.fetchedThrough, st.next - 1) < st.highWatermark - 1) return false;
    }
    return true;
  }

  private async lag(): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(this.opts.topic);
    let lag = 0;
    for (const st of this.states.values()) {
      const o = offsets.find((x) => x.partition === st.partition);
      if (o !== undefined) lag += Math.max(0, Number(o.high) - (st.committedThrough + 1));
    }
    return lag;
  }

  private async finalPartitions(): Promise<IngestSummary['partitions']> {
    const offsets = await this.admin.fetchTopicOffsets(this.opts.topic);
    const out: IngestSummary['partitions'] = {};
    for (const o of offsets) {
      const through = this.states.get(o.partition)?.committedThrough ?? (await readResume(this.opts.store, this.opts.topic, o.partition, this.opts.kind)).committedThrough;
      const high = Number(o.high);
      out[String(o.partition)] = { committedThrough: through, highWatermark: high, lag: Math.max(0, high - (through + 1)) };
    }
    return out;
  }
}
