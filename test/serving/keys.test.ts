/**
 * Any rollup-shaped view, not just rollup's url-keyed one: a view keyed by (url, country), with
 * hour and day rows, its rows split over two files and interleaved (a key in several runs),
 * published as a version; query answers equal a plain reference over the generated visits, by the
 * key columns given as --where (in any order); a key column left out or unknown is refused.
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { isDagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { FileEntry, Row, Schema } from '../../storage/types.js';
import { answer } from '../../serving/query.js';
import { BlockCache, loadView } from '../../serving/view.js';
import { runCli, workspace } from '../integration/support.js';
import { tempDir } from '../storage/helpers.js';

const SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'country', type: 'string' },
  { name: 'granularity', type: 'string' },
  { name: 'bucket', type: 'int64' },
  { name: 'pageviews', type: 'int64' },
  { name: 'uniques', type: 'int64' },
  { name: 'hll', type: 'bytes' },
];
const H = 3600, D = 86_400;
const T0 = Date.UTC(2024, 0, 1) / 1000;

describe('serving: a view with two key columns', function () {
  this.timeout(120_000);

  it('answers by (url, country) equal to a reference over the visits', async () => {
    // Visits: (url, country, person, ts) over 3 days, deterministic.
    const visits: Array<{ url: string; country: string; person: string; ts: number }> = [];
    let s = 7;
    const rnd = (n: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s % n);
    for (let i = 0; i < 5000; i++) visits.push({ url: `u${rnd(3)}`, country: ['de', 'fr'][rnd(2)]!, person: `p${rnd(400)}`, ts: T0 + rnd(3 * D) });
    const groups = new Map<string, { url: string; country: string; g: string; bucket: number; n: number; h: HyperLogLog }>();
    for (const v of visits) {
      for (const [g, sec] of [['h', H], ['d', D]] as const) {
        const bucket = v.ts - (v.ts % sec);
        const k = `${v.url}|${v.country}|${g}|${bucket}`;
        let e = groups.get(k);
        if (e === undefined) groups.set(k, (e = { url: v.url, country: v.country, g, bucket, n: 0, h: new HyperLogLog(14) }));
        e.n++;
        e.h.add(v.person);
      }
    }
    const rows: Row[] = [...groups.values()].map((e) => ({ url: e.url, country: e.country, granularity: e.g, bucket: e.bucket, pageviews: e.n, uniques: e.h.count(), hll: e.h.serialize() }));
    // Two files, rows interleaved by alternation: every key lies in many runs across both.
    const dir = await tempDir('serving-keys');
    const uri = pathToFileURL(`${dir}/views/by-country`).href;
    const store = await openObjectStore(uri);
    const files: FileEntry[] = [];
    for (const part of [0, 1]) {
      const bytes = await defaultCodec().encode(SCHEMA, rows.filter((_, i) => i % 2 === part));
      const path = `part-${part}.parquet`;
      await store.putIfAbsent(path, bytes);
      files.push({ path, rows: rows.filter((_, i) => i % 2 === part).length, bytes: bytes.length, sha256: sha256Hex(bytes) });
    }
    await publishVersion(store, { version: 'v1', dataset: 'by-country', files });

    const snap = await loadView(store, { cache: new BlockCache(4096) });
    assert.deepEqual(snap.keyColumns, ['url', 'country']);
    assert.deepEqual(snap.granularities, ['h', 'd']);
    for (let i = 0; i < 60; i++) {
      const url = `u${rnd(3)}`, country = ['de', 'fr'][rnd(2)]!;
      const a = rnd(72), b = a + 1 + rnd(72 - a);
      const from = T0 + a * H, to = T0 + b * H;
      const got = await answer(snap, { country, url }, from, to);
      const mine = visits.filter((v) => v.url === url && v.country === country && v.ts >= from && v.ts < to);
      assert.equal(got.pageviews, mine.length);
      const exact = new Set(mine.map((v) => v.person)).size;
      assert.ok(Math.abs(got.uniques! - exact) <= Math.max(1, 0.02 * exact), `${got.uniques} vs ${exact}`);
      assert.deepEqual(got.key, { url, country });
    }
    await assert.rejects(answer(snap, { url: 'u1' }, T0, T0 + D), (e) => isDagctlError(e, 'QUERY_KEY_UNKNOWN'));
    await assert.rejects(answer(snap, { url: 'u1', country: 'de', lang: 'x' }, T0, T0 + D), (e) => isDagctlError(e, 'QUERY_KEY_UNKNOWN'));

    // The CLI with both --where, in either order.
    const ws = await workspace({ rows: 10, days: 1 });
    const r = await runCli(ws, ['query', uri, '--where', 'country=fr', '--where', 'url=u2', '--from', String(T0), '--to', String(T0 + 2 * D), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const cli = JSON.parse(r.stdout) as { pageviews: number; buckets: Array<{ granularity: string }> };
    assert.equal(cli.pageviews, visits.filter((v) => v.url === 'u2' && v.country === 'fr' && v.ts < T0 + 2 * D).length);
    assert.deepEqual(cli.buckets.map((b) => b.granularity), ['d', 'd']);
  });
});
