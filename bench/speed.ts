/**
 * Speed-layer benchmark (`npm run bench -- speed`): `dagctl speed`'s throughput into Redis and its
 * freshness, against a real Kafka broker and Redis (DAGCTL_TEST_KAFKA_BROKERS, DAGCTL_TEST_REDIS_URL
 * from scripts/provision/kafka.sh and redis.sh; without them the bench says so and measures nothing).
 *
 *   throughput: BENCH_SPEED_EVENTS pageview events (default 200,000; 2,000 URLs, 50,000 persons, 48
 *     hours) produced to a 2-partition topic first, then consumed from the start until every
 *     offset is applied: events/s. Peer in the same run: the same events applied the plain way
 *     — one HINCRBY + one PFADD (Redis's native HLL) per event, pipelined 1,000 at a time, no
 *     exactly-once marker and no dagctl-format sketch.
 *   freshness: 200 single events produced one at a time while the service runs; the time from
 *     the produce call to the event's count being visible through the query path's read
 *     (serving/speed/state.ts readHours, what `serve --speed` uses), polled every 2 ms: p50 / p99
 *     (goal p99 < 1 s).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { connectRedis } from '../scheduler/redis/connection.js';
import { speedKeys } from '../scheduler/redis/keys.js';
import { appliedOffsets, readHours } from '../serving/speed/state.js';
import { startSpeed } from '../serving/speed/service.js';
import { openObjectStore } from '../storage/open.js';
import { median, percentile, type BenchResult } from './types.js';

const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d });

export async function benchSpeed(): Promise<BenchResult> {
  const brokers = process.env.DAGCTL_TEST_KAFKA_BROKERS, redisUrl = process.env.DAGCTL_TEST_REDIS_URL;
  if (brokers === undefined || brokers === '' || redisUrl === undefined || redisUrl === '') {
    return { name: 'speed', lines: ['speed: skipped — needs DAGCTL_TEST_KAFKA_BROKERS and DAGCTL_TEST_REDIS_URL (eval "$(scripts/provision/kafka.sh start)"; same for redis.sh)'], metrics: {} };
  }
  const n = Number(process.env.BENCH_SPEED_EVENTS ?? '200000');
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const kafka = new Kafka({ clientId: 'dagctl-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const redis = await connectRedis(redisUrl, 'worker');
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-speed-'));
  const topic = `bench-speed-${Date.now().toString(36)}`;
  const view = `bench-speed-${Date.now().toString(36)}`;
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    const t0 = Math.floor(Date.now() / 1000 / 3600) * 3600 - 47 * 3600;
    let seed = 7;
    const rnd = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    const events: { url: string; person: string; ts: number }[] = [];
    for (let i = 0; i < n; i++) events.push({ url: `http://site.example/p/${rnd(2000)}`, person: `cookie:${rnd(50_000).toString(16)}f`, ts: t0 + rnd(48 * 3600) });
    for (let i = 0; i < n; i += 5000) {
      await producer.send({ topic, acks: -1, messages: events.slice(i, i + 5000).map((e, j) => ({ partition: (i + j) % 2, value: JSON.stringify(e) })) });
    }
    lines.push(`speed: ${fmt(n)} events (2,000 URLs, 50,000 persons, 48 hours) on a 2-partition topic`);

    // Peer: the plain way, per event HINCRBY + PFADD, pipelined.
    const peerKey = (h: number, kind: string): string => `bench:speed-peer:${view}:${kind}:${h}`;
    let t = performance.now();
    for (let i = 0; i < n; i += 1000) {
      const p = redis.pipeline();
      for (const e of events.slice(i, i + 1000)) {
        const h = e.ts - (e.ts % 3600);
        p.hincrby(peerKey(h, 'pv'), e.url, 1).pfadd(`${peerKey(h, 'hll')}:${e.url}`, e.person);
      }
      await p.exec();
    }
    const peerS = (performance.now() - t) / 1000;
    const peerKeys = await redis.keys(`bench:speed-peer:${view}:*`);
    for (let i = 0; i < peerKeys.length; i += 500) await redis.del(...peerKeys.slice(i, i + 500));

    // dagctl speed, in-process: from the topic's start until every offset is applied.
    const high = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    t = performance.now();
    const h = await startSpeed({ brokers: brokers.split(','), topic, groupId: `bench-${topic}`, redis, view, viewStore: await openObjectStore(pathToFileURL(join(dir, 'view')).href), pollMs: 1000, ttlSeconds: 7 * 86400 });
    for (;;) {
      const o = await appliedOffsets(redis, view);
      if ([...high].every(([p, hw]) => (o.get(p) ?? -1) >= hw - 1)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const speedS = (performance.now() - t) / 1000;
    metrics['speed.events_per_s'] = n / speedS;
    metrics['peer.events_per_s'] = n / peerS;
    lines.push(`  dagctl speed (kafkajs → Lua, exactly once, dagctl sketches): ${fmt(n / speedS)} events/s (${fmt(speedS, 2)} s incl. consumer start and group join)`);
    lines.push(`  peer: HINCRBY + PFADD per event, pipelined (events already in memory): ${fmt(n / peerS)} events/s  (speed ÷ peer: ${fmt(peerS / speedS, 2)})`);

    // Freshness: produce one event, poll the query path's read until it shows.
    const fresh: number[] = [];
    const url = 'http://site.example/fresh';
    const hour = Math.floor(Date.now() / 1000 / 3600) * 3600;
    let seen = (await readHours(redis, view, url, hour, hour + 3600)).hours[0]!.pageviews;
    for (let i = 0; i < 200; i++) {
      const ts = Math.floor(Date.now() / 1000);
      const hh = ts - (ts % 3600);
      if (hh !== hour) break; // crossed an hour boundary: stop (the count is per hour)
      const start = performance.now();
      await producer.send({ topic, acks: -1, messages: [{ partition: i % 2, value: JSON.stringify({ url, person: `cookie:${i.toString(16)}f`, ts }) }] });
      for (;;) {
        const got = (await readHours(redis, view, url, hour, hour + 3600)).hours[0]!.pageviews;
        if (got > seen) {
          seen = got;
          break;
        }
        if (performance.now() - start > 30_000) throw new Error('freshness: an event did not show within 30 s');
        await new Promise((r) => setTimeout(r, 2));
      }
      fresh.push(performance.now() - start);
    }
    metrics['freshness.p50_ms'] = median(fresh);
    metrics['freshness.p99_ms'] = percentile(fresh, 99);
    lines.push(`  freshness (produce → visible to serve's read), ${fresh.length} events: p50 ${fmt(median(fresh), 1)} ms  p99 ${fmt(percentile(fresh, 99), 1)} ms  (goal p99 < 1,000 ms)`);
    await h.stop();
  } finally {
    const keys = await redis.keys(`${speedKeys(view).prefix}*`).catch(() => [] as string[]);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
  return { name: 'speed', lines, metrics };
}
