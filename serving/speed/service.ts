/**
 * The speed layer's consumer (`dagctl speed`): reads the pageview topic with kafkajs and keeps the
 * realtime views of one batch view in Redis (serving/speed/state.ts), exactly once per micro-batch.
 *
 *   startSpeed(opts) → SpeedHandle { ready, status(), stop() }
 *
 * Micro-batches: each batch kafkajs fetches for a partition is one micro-batch — its records past
 * the partition's marker in Redis, [first, last] — aggregated (serving/speed/aggregate.ts) and
 * applied by ONE Lua script that also moves the marker. Redis, not Kafka, says where we are: on
 * every assignment the partition's marker is read and the consumer seeks just past it (the log's
 * start when there is none) — the shared PartitionConsumer (ingest/kafka/partition-consumer.ts);
 * consumer-group offsets are committed after each batch, advisory only.
 * A kill -9 anywhere replays at most the batch in flight, which the marker recognises (replay →
 * skipped, straddling → re-cut past the marker).
 *
 * Expiry: every `pollMs` the batch view's current version is read (serving/view.ts currentVersion);
 * when it changes, its high-water mark (the end of its last hour bucket, the data extent) is
 * computed and every realtime hour before it is deleted (state.ts expireBelow) — the batch view
 * now answers those hours, and queries split at the high-water mark of the version they read
 * (serving/query.ts), so nothing is counted twice and, since expiry only follows a publication,
 * no hour is lost. A query reading an older batch version than the expiry's is refused
 * (QUERY_VIEW_STALE) or, in `dagctl serve`, answered again from the new version.
 * Preconditions: one topic of pageview records (ingest/records.ts format); a view name matching
 * speedKeys' rule.
 */
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type LogEntry } from 'kafkajs';
import type { Redis } from 'ioredis';
import { DagctlError, errorMessage, isDagctlError } from '../../core/errors.js';
import type { ObjectStore } from '../../storage/types.js';
import { checkTopic } from '../../ingest/offsets.js';
import { connectKafka, disconnectKafka, PartitionConsumer, requireTopic, type PartitionSlot } from '../../ingest/kafka/partition-consumer.js';
import { BlockCache, currentVersion, loadView } from '../view.js';
import { aggregate, speedNormalizer, type SpeedNormalizeParams } from './aggregate.js';
import { appliedOffsets, applyBatch, expireBelow } from './state.js';

export type SpeedStep = 'before-apply' | 'applied' | 'offsets-committed';

export interface SpeedOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  redis: Redis;
  /** The batch view's name (its dataset name): the Redis keys' namespace. */
  view: string;
  /** The batch view, for its high-water mark (expiry). */
  viewStore: ObjectStore;
  pollMs: number;
  ttlSeconds: number;
  normalize?: SpeedNormalizeParams;
  log?: (event: Record<string, unknown>) => void;
  /** Called at each step of a micro-batch (tests hold the process here). */
  onStep?: (step: SpeedStep, batch: { partition: number; first: number; last: number; n: number }) => void | Promise<void>;
}

export interface SpeedStatus {
  joined: boolean;
  /** The batch view's version and high-water mark last seen (null before the first read / none published). */
  batchVersion: string | null;
  batchHighWater: number | null;
  batches: number;
  replayedBatches: number;
  events: number;
  rejects: Record<string, number>;
  /** Events for hours the batch view had absorbed already (not kept). */
  dropped: number;
  expiredHours: number;
  /** partition → { applied offset, high watermark, lag } */
  partitions: Record<string, { applied: number; high: number | null; lag: number | null }>;
  lastApplyAt: number | null;
  applySecondsSum: number;
  fatal: string | null;
}

export interface SpeedHandle {
  /** Resolves once the consumer has joined its group and the batch view's mark was read once. */
  ready: Promise<void>;
  status(): SpeedStatus;
  /** Resolves when the service stops (stop() or a fatal error: rejects with it). */
  done: Promise<void>;
  stop(): Promise<void>;
}

interface PState extends PartitionSlot {
  applied: number;
  high: number | null;
}

const LEVELS: Record<number, string> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };

export async function startSpeed(opts: SpeedOptions): Promise<SpeedHandle> {
  const s = new Speed(opts);
  await s.start();
  return s;
}

class Speed implements SpeedHandle {
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly normalize;
  private readonly parts: PartitionConsumer<PState, number | undefined>;
  private batchCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private resolveDone: () => void = () => undefined;
  private rejectDone: (e: unknown) => void = () => undefined;
  private joinedResolve: () => void = () => undefined;
  private readonly st: SpeedStatus = {
    joined: false, batchVersion: null, batchHighWater: null, batches: 0, replayedBatches: 0, events: 0, rejects: {}, dropped: 0, expiredHours: 0, partitions: {}, lastApplyAt: null, applySecondsSum: 0, fatal: null,
  };
  readonly ready: Promise<void>;
  readonly done: Promise<void>;

  constructor(private readonly opts: SpeedOptions) {
    checkTopic(opts.topic);
    this.normalize = speedNormalizer(opts.normalize);
    const log = opts.log ?? (() => undefined);
    this.kafka = new Kafka({
      clientId: 'dagctl-speed',
      brokers: opts.brokers,
      connectionTimeout: 3_000,
      retry: { retries: 5, initialRetryTime: 300 },
      logLevel: logLevel.WARN,
      logCreator: () => ({ namespace, level, log: entry }: LogEntry) => log({ event: 'kafkajs', level: LEVELS[level] ?? String(level), namespace, message: entry.message }),
    });
    // A SIGKILLed member holds its partitions until the session times out (min 6 s on brokers).
    this.consumer = this.kafka.consumer({ groupId: opts.groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100, retry: { retries: 5 } });
    this.admin = this.kafka.admin();
    this.parts = new PartitionConsumer<PState, number | undefined>({
      consumer: this.consumer,
      admin: this.admin,
      topic: opts.topic,
      init: (partition, generation) => ({ partition, generation, ready: Promise.resolve(), applied: -1, high: null }),
      stored: async (partition) => (await appliedOffsets(opts.redis, opts.view)).get(partition),
      // Just past the partition's marker in Redis, or the log's start when there is none.
      position: (st, applied, { low, high }) => {
        st.high = high;
        st.applied = applied ?? low - 1;
        return st.applied + 1;
      },
      process: (st, payload) => this.onBatch(st, payload),
      fail: (e) => this.fail(e),
      stopping: () => this.stopped,
    });
    const joined = new Promise<void>((r) => (this.joinedResolve = r));
    this.ready = joined;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  private get states(): ReadonlyMap<number, PState> {
    return this.parts.states;
  }

  status(): SpeedStatus {
    return { ...this.st, rejects: { ...this.st.rejects }, partitions: Object.fromEntries([...this.states.values()].map((p) => [String(p.partition), { applied: p.applied, high: p.high, lag: p.high === null ? null : Math.max(0, p.high - (p.applied + 1)) }])) };
  }

  async start(): Promise<void> {
    const { topic } = this.opts;
    await connectKafka(this.opts.brokers, this.admin, this.consumer);
    try {
      await requireTopic(this.opts.brokers, this.admin, topic);
      await this.pollBatchView();
      await this.parts.run({ partitionsConsumedConcurrently: 4, onAssign: (states) => this.onAssign(states) });
    } catch (e) {
      await this.disconnect();
      throw e;
    }
    let tick = 0;
    this.timer = setInterval(() => {
      tick++;
      void this.pollBatchView().catch((e: unknown) => this.opts.log?.({ event: 'speed-batch-view-failed', error: errorMessage(e) }));
      if (tick % Math.max(1, Math.round(2000 / this.opts.pollMs)) === 0) void this.pollLag().catch(() => undefined);
    }, this.opts.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.disconnect();
    if (this.st.fatal === null) this.resolveDone();
  }

  private fail(e: unknown): void {
    if (this.st.fatal !== null) return;
    const err = isDagctlError(e) ? e : new DagctlError('INTERNAL', errorMessage(e), {}, { cause: e });
    this.st.fatal = `${err.code}: ${err.message}`;
    this.opts.log?.({ event: 'speed-failed', code: err.code, error: err.message });
    this.rejectDone(err);
    void this.stop();
  }

  private async disconnect(): Promise<void> {
    await disconnectKafka(this.admin, this.consumer);
  }

  private polling: Promise<void> | null = null;

  /** Reads the batch view's current version; a new one's high-water mark expires realtime hours before it. Single-flight. */
  private pollBatchView(): Promise<void> {
    this.polling ??= this.doPollBatchView().finally(() => (this.polling = null));
    return this.polling;
  }

  private async doPollBatchView(): Promise<void> {
    const v = await currentVersion(this.opts.viewStore);
    if (v === null || v.version === this.st.batchVersion) return;
    const snap = await loadView(this.opts.viewStore, { cache: new BlockCache(0), version: v, extentOnly: true });
    this.st.batchVersion = v.version;
    if (snap.extent === null) return;
    this.st.batchHighWater = snap.extent.to;
    const n = await expireBelow(this.opts.redis, this.opts.view, snap.extent.to);
    this.st.expiredHours += n;
    this.opts.log?.({ event: 'speed-expired', version: v.version, highWater: new Date(snap.extent.to * 1000).toISOString(), hours: n });
  }

  private async pollLag(): Promise<void> {
    const offsets = await this.admin.fetchTopicOffsets(this.opts.topic);
    for (const o of offsets) {
      const p = this.states.get(o.partition);
      if (p !== undefined) p.high = Number(o.high);
    }
  }

  /** After a new assignment: joined once every assigned partition has sought past its marker. */
  private onAssign(states: PState[]): void {
    void Promise.all(states.map((s) => s.ready)).then(() => {
      this.st.joined = true;
      this.joinedResolve();
    }, () => undefined);
  }

  /** A batch of a current, ready partition: one micro-batch past the marker, applied by one Lua script. A failure goes to fail() (PartitionConsumer). */
  private async onBatch(st: PState, { batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    st.high = Number(batch.highWatermark);
    for (;;) {
      const msgs = batch.messages.filter((m) => Number(m.offset) > st.applied);
      if (msgs.length === 0) break;
      const first = Number(msgs[0]!.offset), last = Number(msgs.at(-1)!.offset);
      const n = ++this.batchCount;
      const info = { partition: st.partition, first, last, n };
      await this.opts.onStep?.('before-apply', info);
      const t0 = process.hrtime.bigint();
      const agg = aggregate(msgs.map((m) => m.value ?? null), this.normalize);
      const r = await applyBatch(this.opts.redis, this.opts.view, { partition: st.partition, firstOffset: first, lastOffset: last, hours: agg.hours, ttlSeconds: this.opts.ttlSeconds });
      if (r.outcome === 'overlap') {
        // Another process applied part of this range (a zombie member): re-cut past its marker.
        if (r.lastApplied <= st.applied) throw new DagctlError('SPEED_OFFSET_CONFLICT', `${this.opts.topic}/${st.partition}: marker ${r.lastApplied} did not move past ${st.applied}`, { partition: st.partition });
        st.applied = r.lastApplied;
        continue;
      }
      st.applied = last;
      if (r.outcome === 'replayed') this.st.replayedBatches++;
      else {
        this.st.batches++;
        this.st.events += agg.valid;
        this.st.dropped += r.dropped;
        for (const [k, v] of Object.entries(agg.rejects)) this.st.rejects[k] = (this.st.rejects[k] ?? 0) + v;
        this.st.lastApplyAt = Date.now();
        this.st.applySecondsSum += Number(process.hrtime.bigint() - t0) / 1e9;
      }
      await this.opts.onStep?.('applied', info);
      break;
    }
    const lastMsg = batch.messages.at(-1);
    if (lastMsg !== undefined) {
      resolveOffset(lastMsg.offset);
      try {
        await this.consumer.commitOffsets([{ topic: this.opts.topic, partition: st.partition, offset: String(Number(lastMsg.offset) + 1) }]);
        await this.opts.onStep?.('offsets-committed', { partition: st.partition, first: -1, last: Number(lastMsg.offset), n: this.batchCount });
      } catch (e) {
        this.opts.log?.({ event: 'speed-offset-commit-failed', partition: st.partition, error: errorMessage(e) });
      }
    }
    await heartbeat();
  }
}
