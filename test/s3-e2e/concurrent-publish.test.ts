/**
 * Acceptance: two concurrent publishers of one view never produce a mixed view — at the DAG level.
 * Two chains of `dagctl run` processes of the same view-producing DAG, with different params so
 * their views differ in content (granularity `d` vs `h`), run at the same time on S3, each chain
 * three runs long: after the first run a run is memoized except its publication, which swaps the
 * view back to its own content whenever the other chain published last — so the pointer flips many
 * times while a reader loop follows `_CURRENT` → manifest → files, exactly as readers do.
 *
 * Every observation must be one version's complete file set (equal to that version's immutable
 * manifest), every file must exist and decode, and every row of one observation must carry the
 * granularity of the run that published it (a mixed view would show both).
 * Preconditions: the S3 test server; dist/ built.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isDagctlError } from '../../core/errors.js';
import { manifestKey, parseJson } from '../../storage/dataset/layout.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { S3ObjectStore } from '../../storage/s3/store.js';
import type { Manifest } from '../../storage/types.js';
import { deleteUri, freshUri, requireS3 } from '../s3/env.js';
import { failures, generateInto, ROLLUP_DAG, runDag, SWA_INPUT, tempDir, writeText } from './harness.js';

interface Observation {
  version: string;
  files: string[];
  granularities: string[];
  rows: number;
}

describe('e2e: concurrent publishers of one view on S3', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof tempDir>;
  let root: string;

  before(function () {
    requireS3(this);
    tmp = tempDir('concurrent');
    root = freshUri('concurrent');
  });
  after(async () => {
    tmp?.dispose();
    await deleteUri(root);
  });

  it('two `dagctl run` chains (granularity d vs h) flip the view; every observed view is one whole version', async () => {
    const file = writeText(join(tmp.dir, 'rollup-view.yaml'), ROLLUP_DAG);
    await generateInto(root, SWA_INPUT.slice(0, 1));
    const view = new S3ObjectStore(`${root}/views/pageviews-over-time`);
    const observations: Observation[] = [];
    const readerErrors: string[] = [];
    let stop = false;

    // The reader: what any consumer of the view does, as fast as it can, until both chains end.
    const reader = (async () => {
      while (!stop) {
        try {
          const cur = await readCurrent(view);
          if (cur === null) {
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          const grans = new Set<string>();
          let rows = 0;
          for await (const batch of readRows(view, cur.manifest.files, defaultCodec(), { columns: ['granularity'] })) {
            for (const r of batch) grans.add(String(r.granularity));
            rows += batch.length;
          }
          observations.push({ version: cur.pointer.version, files: cur.manifest.files.map((f) => f.path).sort(), granularities: [...grans].sort(), rows });
        } catch (e) {
          // A file named by the current manifest missing (or torn) is exactly the failure under test.
          readerErrors.push(isDagctlError(e) ? `${e.code}: ${e.message}` : String(e));
        }
      }
    })();

    const home = join(tmp.dir, 'home');
    const published = new Map<string, string>(); // runId → granularity
    const chain = async (gran: string): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        const r = await runDag(file, { data: root, gran }, { home });
        assert.equal(r.status.phase, 'succeeded', failures(r.status));
        published.set(r.status.runId, gran);
      }
    };
    try {
      await Promise.all([chain('d'), chain('h')]);
    } finally {
      stop = true;
      await reader;
    }

    try {
      assert.deepEqual(readerErrors, []);
      const versions = new Set(observations.map((o) => o.version));
      console.log(`      ${observations.length} views read, ${versions.size} distinct versions observed, ${published.size} runs`);
      assert.ok(observations.length >= 5, `the reader only got ${observations.length} reads in`);
      assert.ok(versions.size >= 2, 'the reader never saw the view change');
      const manifests = new Map<string, Manifest>();
      for (const v of versions) manifests.set(v, parseJson<Manifest>(await view.get(manifestKey(v)), v));
      for (const o of observations) {
        const gran = published.get(o.version);
        assert.ok(gran !== undefined, `observed version ${o.version} was published by none of the runs`);
        assert.deepEqual(o.granularities, [gran], `version ${o.version} mixes granularities`);
        const m = manifests.get(o.version);
        assert.deepEqual(o.files, m?.files.map((f) => f.path).sort(), `version ${o.version}: observed file set is not its manifest`);
        assert.equal(o.rows, m?.rows, `version ${o.version}: row count differs from its manifest`);
      }
      // The two contents really differ, so a mix would have been visible.
      const grans = new Set(observations.map((o) => o.granularities.join()));
      assert.deepEqual([...grans].sort(), ['d', 'h']);
    } finally {
      view.close();
    }
  });
});
