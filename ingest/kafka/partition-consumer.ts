/**
 * `PartitionConsumer`: the per-partition mechanism shared by dagctl's exactly-once Kafka consumers
 * (ingest/kafka/consumer.ts, serving/speed/service.ts), where a store — not Kafka's group offsets —
 * says how far each partition got.
 *
 *   await connectKafka(brokers, admin, consumer); await requireTopic(brokers, admin, topic);
 *   const pc = new PartitionConsumer({ consumer, admin, topic, init, stored, position, process, fail, stopping });
 *   await pc.run({ partitionsConsumedConcurrently, onAssign })   // GROUP_JOIN → assign, CRASH → fail
 *
 * Contract:
 * - `assign(partitions)` starts a new generation: every state in memory is forgotten, and each
 *   assigned partition gets a fresh state (`init`) whose `ready` promise reads the partition's stored
 *   position (`stored`) together with the log's bounds, lets `position` fill the state and name the
 *   offset to resume from (it may throw to refuse), and seeks the consumer there.
 * - A failing `ready` (or a throwing `process`) goes to `fail`; nothing is retried here.
 * - `eachBatch` hands a batch to `process` only when it belongs to the current state of a current
 *   generation, after that state is ready: a batch for a partition with no state loads one (which
 *   seeks) and is dropped; batches fetched before the seek took effect (kafkajs' isStale), from an
 *   older generation, for a state that failed to load, or while `stopping()` are dropped. Dropped
 *   batches are not resolved, so kafkajs fetches them again from the seek position.
 * - `run` subscribes from the beginning with kafkajs' auto-commit and auto-resolve off: the caller's
 *   store is the truth, so whatever offsets `process` commits are advisory.
 * - What `process` does with a batch (buffering, commit protocol, offsets) is the caller's.
 * - `connectKafka` connects admin and consumer (KAFKA_UNAVAILABLE, both disconnected, if it cannot);
 *   `requireTopic` refuses a topic that does not exist (KAFKA_TOPIC_NOT_FOUND).
 */
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { DagctlError, errorMessage } from '../../core/errors.js';

/** Connects admin then consumer; on failure disconnects both and throws KAFKA_UNAVAILABLE. */
export async function connectKafka(brokers: string[], admin: Admin, consumer: Consumer): Promise<void> {
  try {
    await admin.connect();
    await consumer.connect();
  } catch (e) {
    await disconnectKafka(admin, consumer);
    throw new DagctlError('KAFKA_UNAVAILABLE', `cannot connect to Kafka ${brokers.join(',')}: ${errorMessage(e)}`, { brokers }, { cause: e });
  }
}

/** Disconnects consumer and admin, ignoring failures. */
export async function disconnectKafka(admin: Admin, consumer: Consumer): Promise<void> {
  await consumer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}

/** Throws KAFKA_TOPIC_NOT_FOUND unless `topic` exists. */
export async function requireTopic(brokers: string[], admin: Pick<Admin, 'listTopics'>, topic: string): Promise<void> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) throw new DagctlError('KAFKA_TOPIC_NOT_FOUND', `topic "${topic}" does not exist on ${brokers.join(',')}`, { topic });
}

/** The fields every partition state carries; callers extend it with their own position fields. */
export interface PartitionSlot {
  readonly partition: number;
  /** The assignment generation this state belongs to. */
  readonly generation: number;
  /** Settles once the stored position was read and the consumer sought; rejects if that failed. */
  ready: Promise<void>;
}

/** The log's bounds of one partition when its state was loaded (high is null when unknown). */
export interface LogBounds {
  low: number;
  high: number | null;
}

export interface PartitionConsumerOptions<S extends PartitionSlot, T> {
  consumer: Consumer;
  admin: Pick<Admin, 'fetchTopicOffsets'>;
  topic: string;
  /** A fresh state for `partition` in `generation` (its `ready` is replaced). */
  init: (partition: number, generation: number) => S;
  /** Reads the partition's stored position (read concurrently with the log's bounds). */
  stored: (partition: number) => Promise<T>;
  /** Fills `st` from the stored position and the log's bounds; returns the offset to seek to. May throw to refuse. */
  position: (st: S, stored: T, log: LogBounds) => number;
  /** Handles a batch of the current, ready state. */
  process: (st: S, payload: EachBatchPayload) => Promise<void>;
  fail: (e: unknown) => void;
  stopping: () => boolean;
}

export class PartitionConsumer<S extends PartitionSlot, T> {
  private readonly slots = new Map<number, S>();
  private gen = 0;

  constructor(private readonly o: PartitionConsumerOptions<S, T>) {}

  /** The current generation (bumped by each assignment). */
  get generation(): number {
    return this.gen;
  }

  /** The states of the current assignment, by partition. */
  get states(): ReadonlyMap<number, S> {
    return this.slots;
  }

  /**
   * Wires the consumer (GROUP_JOIN → assign, then `onAssign` with the new states; a crash kafkajs
   * will not restart → fail), subscribes to the topic from the beginning and starts consuming.
   */
  async run(opts: { partitionsConsumedConcurrently: number; onAssign?: (states: S[]) => void }): Promise<void> {
    const { consumer, topic } = this.o;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const states = this.assign(e.payload.memberAssignment[topic] ?? []);
      opts.onAssign?.(states);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.o.fail(new DagctlError('KAFKA_UNAVAILABLE', `Kafka consumer crashed: ${errorMessage(e.payload.error)}`, {}, { cause: e.payload.error }));
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently, eachBatch: (p) => this.eachBatch(p) });
  }

  /** A new assignment: forget every state, load each assigned partition (which seeks). Returns the new states. */
  assign(partitions: number[]): S[] {
    this.gen++;
    this.slots.clear();
    for (const p of partitions) this.slots.set(p, this.load(p));
    return [...this.slots.values()];
  }

  /** kafkajs' eachBatch: the prologue that keeps batches to the current, ready state, then `process`. */
  async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isStale } = payload;
    if (this.o.stopping()) return;
    const st = this.slots.get(batch.partition);
    if (st === undefined) {
      // A batch for a partition no assignment told us about: load it (which seeks) and drop this.
      this.slots.set(batch.partition, this.load(batch.partition));
      return;
    }
    try {
      await st.ready;
    } catch {
      return;
    }
    // Fetched before our seek took effect, or from an older assignment: not ours to use.
    if (this.o.stopping() || isStale() || st.generation !== this.gen || this.slots.get(batch.partition) !== st) return;
    try {
      await this.o.process(st, payload);
    } catch (e) {
      this.o.fail(e);
    }
  }

  private load(partition: number): S {
    const st = this.o.init(partition, this.gen);
    st.ready = (async () => {
      const { topic } = this.o;
      const [stored, offsets] = await Promise.all([this.o.stored(partition), this.o.admin.fetchTopicOffsets(topic)]);
      const b = offsets.find((x) => x.partition === partition);
      const next = this.o.position(st, stored, { low: Number(b?.low ?? 0), high: b === undefined ? null : Number(b.high) });
      this.o.consumer.seek({ topic, partition, offset: String(next) });
    })();
    st.ready.catch((e: unknown) => this.o.fail(e));
    return st;
  }
}
