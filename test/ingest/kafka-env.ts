/**
 * Test environment for the ingest tests: a real Kafka broker from DAGCTL_TEST_KAFKA_BROKERS (set by
 * `eval "$(scripts/provision/kafka.sh start)"`). Without it the suites skip — unless CI is set, in
 * which case they FAIL: CI must never pass by silently not testing. Also: topics with unique
 * names, a deterministic producer of pageview records (valid, duplicated, malformed, several days)
 * with the expected outcome, and reading a dataset back as a multiset.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { listCommitMarkers, listSource, readRows } from '../../storage/dataset/index.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, ObjectStore } from '../../storage/types.js';
import type { IngestMarker } from '../../ingest/offsets.js';
import { YEAR_SECONDS } from '../../operators/partial-recompute/birthday.js';

export const BROKERS = process.env.DAGCTL_TEST_KAFKA_BROKERS;

/** Call at the top of a describe(): skips (locally) or fails (CI) without a broker. */
export function requireKafka(ctx: Mocha.Suite): void {
  ctx.beforeAll(function () {
    if (BROKERS !== undefined && BROKERS !== '') return;
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
      throw new Error('DAGCTL_TEST_KAFKA_BROKERS is not set but CI is: run `eval "$(scripts/provision/kafka.sh start)"` first');
    }
    this.skip();
  });
}

export function brokers(): string[] {
  if (BROKERS === undefined || BROKERS === '') throw new Error('DAGCTL_TEST_KAFKA_BROKERS is not set');
  return BROKERS.split(',');
}

export function uniqueTopic(tag: string): string {
  return `t-${tag}-${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}

function kafka(): Kafka {
  return new Kafka({ clientId: 'dagctl-test', brokers: brokers(), logLevel: logLevel.NOTHING });
}

/**
 * Creates the topic and waits until every partition has a leader. A loaded broker can answer the
 * metadata request of createTopics' own leader wait with UNKNOWN_TOPIC_OR_PARTITION (the topic is
 * created, its metadata not yet propagated), which kafkajs does not retry: that answer is polled
 * again, within a liveness bound of 2 minutes.
 */
export async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    } catch (e) {
      if ((e as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
    }
    const deadline = Date.now() + 120_000;
    for (;;) {
      const led = await admin.fetchTopicMetadata({ topics: [topic] }).then(
        (m) => m.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0,
        (e: unknown) => {
          if ((e as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return 0;
          throw e;
        },
      );
      if (led === partitions) return;
      if (Date.now() > deadline) throw new Error(`topic ${topic}: ${led} of ${partitions} partitions have a leader after 2 minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

export interface Produced {
  /** Valid rows as `url\tperson\tts` → count. */
  expected: Map<string, number>;
  rejects: Record<string, number>;
  records: number;
  dates: Set<string>;
}

/**
 * Produces `n` records spread round-robin over `partitions` partitions, from a seeded PRNG: ~5%
 * malformed (one of each reject reason in turn), ~3% exact duplicates of the previous valid
 * value (at-least-once producers do that; the master dataset keeps them), ts over 3 days;
 * persons are personOf(0..299) (default `c-<k>`).
 */
export async function producePageviews(topic: string, partitions: number, n: number, seed: number, expect?: Produced, personOf: (k: number) => string = (k) => `c-${k}`): Promise<Produced> {
  const out: Produced = expect ?? { expected: new Map(), rejects: {}, records: 0, dates: new Set() };
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const malformed: [string, Buffer | null][] = [
    ['invalid-json', Buffer.from('{"url": "/a", ')],
    ['not-object', Buffer.from('[1,2,3]')],
    ['bad-url', Buffer.from('{"url": 5, "person": "p", "ts": 1704067200}')],
    ['bad-person', Buffer.from('{"url": "/x", "ts": 1704067200}')],
    ['bad-ts', Buffer.from('{"url": "/x", "person": "p", "ts": 1.5}')],
    ['ts-out-of-range', Buffer.from('{"url": "/x", "person": "p", "ts": -5}')],
    ['invalid-utf8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['null-value', null],
  ];
  // Idempotent: a produce request retried under load must not put a record in the log twice.
  const producer = kafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const day0 = Date.parse('2024-03-01T00:00:00Z') / 1000;
    let last: string | null = null;
    let mi = 0;
    const chunk: { partition: number; value: Buffer | null }[] = [];
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      await producer.send({ topic, acks: -1, messages: chunk.map((m) => ({ partition: m.partition, value: m.value })) });
      chunk.length = 0;
    };
    for (let i = 0; i < n; i++) {
      const partition = (out.records + i) % partitions;
      const x = rnd();
      let value: Buffer | null;
      if (x < 0.05) {
        const [reason, v] = malformed[mi++ % malformed.length] as [string, Buffer | null];
        out.rejects[reason] = (out.rejects[reason] ?? 0) + 1;
        value = v;
      } else {
        const json: string =
          x < 0.08 && last !== null ? last : JSON.stringify({ url: `http://site.example/p/${Math.floor(rnd() * 500)}`, person: personOf(Math.floor(rnd() * 300)), ts: day0 + Math.floor(rnd() * 3 * 86_400), extra: 'ignored' });
        last = json;
        const o = JSON.parse(json) as { url: string; person: string; ts: number };
        const k = `${o.url}\t${o.person}\t${o.ts}`;
        out.expected.set(k, (out.expected.get(k) ?? 0) + 1);
        out.dates.add(new Date(o.ts * 1000).toISOString().slice(0, 10));
        value = Buffer.from(json);
      }
      chunk.push({ partition, value });
      if (chunk.length >= 500) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  out.records += n;
  return out;
}

async function rowsOf(store: ObjectStore, files: FileEntry[]): Promise<Map<string, number>> {
  const got = new Map<string, number>();
  for await (const batch of readRows(store, files, defaultCodec())) {
    for (const r of batch) {
      const k = `${String(r.url)}\t${String(r.person)}\t${String(r.ts)}`;
      got.set(k, (got.get(k) ?? 0) + 1);
    }
  }
  return got;
}

export interface ReadBack {
  /** Everything listSource sees (committed or not). */
  listed: Map<string, number>;
  listedFiles: string[];
  /** Only files named by ingest markers (the committed view). */
  committed: Map<string, number>;
  committedFiles: string[];
  markers: IngestMarker[];
  /** Files whose date= folder does not match a row's ts. */
  misplaced: number;
}

export async function readBack(store: ObjectStore): Promise<ReadBack> {
  const listedEntries = await listSource(store, { format: 'parquet', partitionBy: 'date' });
  const markers = (await listCommitMarkers(store)).map((m) => m.marker as IngestMarker).filter((m) => m.instanceId.startsWith('ingest-'));
  const committedEntries = markers.flatMap((m) => m.files).sort((a, b) => (a.path < b.path ? -1 : 1));
  let misplaced = 0;
  for (const f of listedEntries) {
    for await (const batch of readRows(store, [f], defaultCodec())) {
      for (const r of batch) if (new Date(Number(r.ts) * 1000).toISOString().slice(0, 10) !== f.partition) misplaced++;
    }
  }
  return {
    listed: await rowsOf(store, listedEntries),
    listedFiles: listedEntries.map((f) => f.path),
    committed: await rowsOf(store, committedEntries),
    committedFiles: committedEntries.map((f) => f.path),
    markers,
    misplaced,
  };
}

/** A readable diff of two multisets (empty when equal). */
export function multisetDiff(want: Map<string, number>, got: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, n] of want) if ((got.get(k) ?? 0) !== n) out.push(`${k}: want ${n}, got ${got.get(k) ?? 0}`);
  for (const [k, n] of got) if (!want.has(k)) out.push(`${k}: want 0, got ${n}`);
  return out.slice(0, 10);
}

export function sum(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** Day 0 of produceAges' samples (epoch seconds). */
const AGES_DAY0 = Date.parse('2024-03-01T00:00:00Z') / 1000;

/** Valid samples produced: `person\tage\tts` → count; the persons; malformed records sent. */
export interface AgesProduced {
  expected: Map<string, number>;
  persons: Set<string>;
  records: number;
  rejects: number;
}

/**
 * Produces age samples of persons `persons`, `perPerson` each, at times in days [fromDay, fromDay +
 * days) after AGES_DAY0: the age a person born at born(k) has then (consistent samples), and every 25th
 * record malformed (a bad age, or not JSON). Idempotent producer: a retried request never doubles a record.
 */
export async function produceAges(topic: string, out: AgesProduced, persons: number[], perPerson: number, fromDay: number, days: number): Promise<void> {
  const producer = kafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages: { partition: number; value: string }[] = [];
    for (const k of persons) {
      const person = `user:${k}`;
      const born = AGES_DAY0 - (18 + (k % 60)) * YEAR_SECONDS - ((k * 7919) % YEAR_SECONDS);
      for (let j = 0; j < perPerson; j++) {
        const ts = AGES_DAY0 + (fromDay + ((k + j) % days)) * 86_400 + ((k * 131 + j * 977) % 86_400);
        const n = out.records + messages.length;
        if (n % 25 === 24) {
          messages.push({ partition: n % 2, value: n % 50 === 49 ? '{"person": ' : JSON.stringify({ person, age: -3, ts }) });
          out.rejects++;
        }
        const age = Math.floor((ts - born) / YEAR_SECONDS);
        const key = `${person}\t${age}\t${ts}`;
        out.expected.set(key, (out.expected.get(key) ?? 0) + 1);
        out.persons.add(person);
        messages.push({ partition: (out.records + messages.length) % 2, value: JSON.stringify({ person, age, ts, source: 'test' }) });
      }
    }
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    out.records += messages.length;
  } finally {
    await producer.disconnect();
  }
}
