/**
 * The S3 store under injected faults (test/s3/fault-proxy.ts in front of the real test server):
 * 500/503 answers without forwarding, and PUTs whose response is dropped after the server applied
 * them. Every write must still succeed exactly once — no lost, duplicate, partial or conflicting
 * objects — and CAS publishers must keep a consistent chain. Verification reads bypass the proxy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isDagctlError } from '../../core/errors.js';
import { S3ObjectStore } from '../../storage/s3/store.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { makeTestStore, requireS3 } from './env.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

describe('S3ObjectStore under injected faults', function () {
  this.timeout(180_000);
  let proxy: FaultProxy;
  let direct: S3ObjectStore;
  let faulty: S3ObjectStore;
  let cleanup: () => Promise<void>;

  before(async function () {
    requireS3(this);
    ({ store: direct, cleanup } = await makeTestStore('faults'));
    const upstream = process.env.DAGCTL_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL ?? '';
    proxy = await startFaultProxy(upstream, { errorRate: 0.15, dropPutRate: 0.25, seed: 7 });
    // Short backoff keeps the test fast; 15 attempts make exhausting retries (~0.4^15) negligible.
    faulty = new S3ObjectStore(direct.rootUri, { endpoint: proxy.endpoint, retryBaseMs: 2, retryCapMs: 40, maxAttempts: 15, requestTimeoutMs: 10_000 });
  });
  after(async () => {
    faulty?.close();
    await proxy?.close();
    await cleanup?.();
  });

  const bodies = new Map<string, Uint8Array>();

  it('putIfAbsent: 240 writes through faults land exactly once with the right bytes', async () => {
    const keys = Array.from({ length: 240 }, (_, i) => `date=2024-01-${String((i % 4) + 1).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.parquet`);
    keys.forEach((k, i) => bodies.set(k, new Uint8Array(randomBytes(64 + (i % 7) * 1000))));
    const before = { ...proxy.stats };
    await pool(keys, 8, async (k) => {
      const info = await faulty.putIfAbsent(k, bodies.get(k) as Uint8Array);
      assert.equal(info.size, (bodies.get(k) as Uint8Array).byteLength);
    });
    // The faults really happened (else this test would prove nothing).
    assert.ok(proxy.stats.injectedErrors - before.injectedErrors > 20, JSON.stringify(proxy.stats));
    assert.ok(proxy.stats.droppedAfterApply - before.droppedAfterApply > 20, JSON.stringify(proxy.stats));
    const listed = await direct.list('');
    assert.deepEqual(listed.map((o) => o.key), [...keys].sort());
    for (const o of listed) {
      const want = bodies.get(o.key) as Uint8Array;
      assert.equal(o.size, want.byteLength, o.key);
      assert.deepEqual(await direct.get(o.key), want, o.key);
    }
  });

  it('putIfAbsent retries of identical bytes succeed and different bytes conflict, through faults', async () => {
    const keys = [...bodies.keys()].slice(0, 60);
    await pool(keys, 8, async (k) => {
      await faulty.putIfAbsent(k, bodies.get(k) as Uint8Array);
    });
    await pool(keys.slice(0, 30), 8, async (k) => {
      await assert.rejects(faulty.putIfAbsent(k, enc('other bytes')), (e: unknown) => isDagctlError(e, 'STORAGE_CONFLICT'));
    });
    for (const k of keys) assert.deepEqual(await direct.get(k), bodies.get(k));
  });

  it('list, listDirs and get through faults agree with the server', async () => {
    assert.deepEqual(await faulty.list('date=2024-01-02/'), await direct.list('date=2024-01-02/'));
    assert.deepEqual(await faulty.listDirs(''), ['date=2024-01-01/', 'date=2024-01-02/', 'date=2024-01-03/', 'date=2024-01-04/']);
    await pool([...bodies.keys()].slice(0, 80), 8, async (k) => {
      assert.deepEqual(await faulty.get(k), bodies.get(k));
    });
  });

  it('putIfMatch: a single publisher moves _CURRENT through 60 versions without a spurious failure', async () => {
    let etag: string | null = null;
    for (let v = 1; v <= 60; v++) {
      const info = await faulty.putIfMatch('ptr/_CURRENT', enc(`{"version":"${v}"}`), etag);
      etag = info.etag;
    }
    assert.equal(dec(await direct.get('ptr/_CURRENT')), '{"version":"60"}');
    assert.equal((await direct.head('ptr/_CURRENT'))?.etag, etag);
  });

  it('putIfMatch: 4 racing publishers keep one consistent chain; every reported success is in it once', async () => {
    const key = 'race/_CURRENT';
    await direct.putIfMatch(key, enc('[]'), null);
    const succeeded: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let seq = 0; seq < 12; seq++) {
          const entry = `w${w}-${seq}`;
          for (;;) {
            const cur = await faulty.head(key);
            const log = JSON.parse(dec(await faulty.get(key))) as string[];
            if (cur === null) throw new Error('pointer vanished');
            try {
              await faulty.putIfMatch(key, enc(JSON.stringify([...log, entry])), cur.etag);
              succeeded.push(entry);
              break;
            } catch (e) {
              assert.ok(isDagctlError(e, 'STORAGE_PRECONDITION_FAILED'), String(e));
              // head and get are two reads: the etag may be newer than the log we read, so the
              // swap lost although nobody else wrote since; or our write was applied but the lost
              // response plus a faster rival hid it — then the entry is in the log already.
              const now = JSON.parse(dec(await direct.get(key))) as string[];
              if (now.includes(entry)) break;
            }
          }
        }
      }),
    );
    const log = JSON.parse(dec(await direct.get(key))) as string[];
    assert.equal(new Set(log).size, log.length, 'an entry was applied twice');
    for (const s of succeeded) assert.ok(log.includes(s), `reported success ${s} is missing`);
    assert.equal(log.length, 48);
  });
});
