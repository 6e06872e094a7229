/**
 * serving/server.ts when the served version's files disappear: with a block cache too small to
 * keep anything, every query re-reads its key's rows; once a newer version is published and the
 * served one vacuumed, a query refreshes the view and answers from the newer version (equal to
 * DuckDB over its input), never a wrong or mixed answer.
 */
import assert from 'node:assert/strict';
import { vacuum } from '../../storage/dataset/vacuum.js';
import { openObjectStore } from '../../storage/open.js';
import { startServer } from '../../serving/server.js';
import { duckRows } from '../storage/helpers.js';
import { appendDays, oracle, parquetList, runDag, servingWorkspace, withinHll } from './support.js';

describe('dagctl serve: a served version vacuumed', function () {
  this.timeout(300_000);

  it('answers from the newer version once the old one is gone', async () => {
    const ws = await servingWorkspace({ rows: 6000, days: 20, seed: 21 });
    const store = await openObjectStore(ws.viewUri);
    // No polling during the test (an hour): only the vacuum makes the server look again.
    const h = await startServer({ views: [{ store }], port: 0, pollMs: 3_600_000, cacheBytes: 1 });
    try {
      const base = `http://127.0.0.1:${h.port}`;
      const distinctOld = await parquetList(ws.dataUri, 'batch/distinct');
      const url = String((await duckRows(`SELECT url FROM read_parquet(${distinctOld}) GROUP BY url ORDER BY count(*) DESC, url LIMIT 1`))[0]?.url);
      const from = Date.UTC(2024, 2, 3) / 1000, to = Date.UTC(2024, 2, 15) / 1000;
      const path = `/query?view=pageviews-over-time&url=${encodeURIComponent(url)}&from=${from}&to=${to}`;
      const first = (await (await fetch(base + path)).json()) as { version: string; pageviews: number };
      assert.equal(first.pageviews, (await oracle(distinctOld, url, from, to)).pageviews);

      await appendDays(ws, { rows: 3000, days: 5, start: '2024-03-21', seed: 22 });
      await runDag(ws);
      const report = await vacuum(store, { keepVersions: 1, olderThanMs: 0 });
      assert.ok(report.deletedVersions.includes(first.version), 'the served version must be vacuumed for this test');
      assert.ok(report.deletedFiles.length > 0);

      const res = await fetch(base + path);
      const again = (await res.json()) as { version: string; pageviews: number; uniques: number };
      assert.equal(res.status, 200, JSON.stringify(again));
      assert.notEqual(again.version, first.version);
      const want = await oracle(await parquetList(ws.dataUri, 'batch/distinct'), url, from, to);
      assert.equal(again.pageviews, want.pageviews);
      assert.ok(withinHll(again.uniques, want.uniques));
    } finally {
      await h.close();
    }
  });
});
