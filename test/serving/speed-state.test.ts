/**
 * The speed layer's Redis state (serving/speed/state.ts) against a real Redis
 * (scripts/provision/redis.sh): the Lua script's sketches are byte-for-byte the sketches
 * operators/lib/sketches/hll.ts builds from the same persons (sparse, the switch to dense, dense updates),
 * counters add up, a replayed micro-batch changes nothing, a straddling one is refused, hours
 * before the batch's high-water mark are expired and never written again.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { aggregate, speedNormalizer } from '../../serving/speed/aggregate.js';
import { applyBatch, appliedOffsets, expireBelow, readHours, readSpeedMeta } from '../../serving/speed/state.js';
import { speedKeys } from '../../scheduler/redis/keys.js';
import { requireRedis, testRedis, uniqueRunId } from '../distributed/redis-env.js';

const H0 = Date.parse('2024-05-01T00:00:00Z') / 1000;

function event(url: string, person: string, ts: number): Uint8Array {
  return Buffer.from(JSON.stringify({ url, person, ts }));
}

describe('speed layer state in Redis', function () {
  requireRedis(this);
  this.timeout(60_000);
  let redis: Redis;
  before(async () => {
    redis = await testRedis();
  });
  after(() => redis?.disconnect());

  it('Lua-merged sketches equal HyperLogLog built from all persons, byte for byte; counters add up', async () => {
    const view = uniqueRunId('speed-state');
    const norm = speedNormalizer();
    // Persons per URL chosen so one stays sparse, one crosses m/32 = 512 entries mid-way, one is dense early.
    const plan: [string, number][] = [['http://a.example/x', 40], ['http://a.example/y', 700], ['http://a.example/z', 6000]];
    const want = new Map<string, HyperLogLog>();
    const counts = new Map<string, number>();
    const values: Uint8Array[] = [];
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [url, persons] of plan) {
      const h = new HyperLogLog(14);
      for (let i = 0; i < persons * 2; i++) {
        const person = `cookie:${Math.floor(rnd() * persons).toString(16)}a`;
        values.push(event(url, person, H0 + Math.floor(rnd() * 3600)));
        h.add(person);
        counts.set(url, (counts.get(url) ?? 0) + 1);
      }
      want.set(url, h);
    }
    // Shuffle, then apply as micro-batches of random sizes on one partition.
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    let off = 0;
    while (off < values.length) {
      const n = 1 + Math.floor(rnd() * 900);
      const chunk = values.slice(off, off + n);
      const agg = aggregate(chunk, norm);
      const r = await applyBatch(redis, view, { partition: 0, firstOffset: off, lastOffset: off + chunk.length - 1, hours: agg.hours, ttlSeconds: 10 * 365 * 86400 });
      assert.equal(r.outcome, 'applied');
      if (off === 0) {
        // The same batch again (a replay after a crash) changes nothing.
        assert.deepEqual(await applyBatch(redis, view, { partition: 0, firstOffset: 0, lastOffset: chunk.length - 1, hours: agg.hours, ttlSeconds: 1000 }), { outcome: 'replayed' });
      }
      off += chunk.length;
    }
    // A batch straddling the marker is refused with the marker.
    const agg = aggregate([event('http://a.example/x', 'cookie:1', H0)], norm);
    assert.deepEqual(await applyBatch(redis, view, { partition: 0, firstOffset: off - 2, lastOffset: off + 3, hours: agg.hours, ttlSeconds: 1000 }), { outcome: 'overlap', lastApplied: off - 1 });
    assert.deepEqual(await appliedOffsets(redis, view), new Map([[0, off - 1]]));
    for (const [url, h] of want) {
      const got = await readHours(redis, view, url, H0, H0 + 3600);
      assert.equal(got.hours[0]!.pageviews, counts.get(url));
      assert.ok(got.hours[0]!.sketch !== null);
      assert.deepEqual(Buffer.from(got.hours[0]!.sketch), Buffer.from(h.serialize()), `sketch of ${url}`);
    }
    assert.equal((await readSpeedMeta(redis, view)).maxHour, H0);
  });

  it('expiry drops the hours before the high-water mark and keeps them dropped', async () => {
    const view = uniqueRunId('speed-expire');
    const norm = speedNormalizer();
    const vals = [0, 1, 2, 3].map((h) => event('http://b.example/', 'cookie:ab', H0 + h * 3600 + 5));
    const a = aggregate(vals, norm);
    assert.equal((await applyBatch(redis, view, { partition: 3, firstOffset: 0, lastOffset: 3, hours: a.hours, ttlSeconds: 10 * 365 * 86400 })).outcome, 'applied');
    assert.equal(await expireBelow(redis, view, H0 + 2 * 3600), 2);
    const k = speedKeys(view);
    assert.equal(await redis.exists(k.pv(H0), k.hll(H0), k.pv(H0 + 3600), k.hll(H0 + 3600)), 0);
    assert.equal(await redis.exists(k.pv(H0 + 2 * 3600), k.hll(H0 + 3 * 3600)), 2);
    // A late event for an absorbed hour is dropped, not resurrected.
    const late = aggregate([event('http://b.example/', 'cookie:cd', H0 + 10)], norm);
    assert.deepEqual(await applyBatch(redis, view, { partition: 3, firstOffset: 4, lastOffset: 4, hours: late.hours, ttlSeconds: 10 * 365 * 86400 }), { outcome: 'applied', dropped: 1 });
    assert.equal(await redis.exists(k.pv(H0)), 0);
    assert.equal((await readSpeedMeta(redis, view)).expiredBelow, H0 + 2 * 3600);
    // A lower mark later (an older version) expires nothing.
    assert.equal(await expireBelow(redis, view, H0), 0);
  });
});
