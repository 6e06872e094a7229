/**
 * Cancelling an embedded run from another process (what `dagctl ui` does): a real `dagctl run`
 * process holds a run at a noop sleeping for an hour; once that instance runs (a condition read
 * from the store), LocalRunStore.requestCancel leaves the request in the run's folder, and the
 * process cancels the run and exits 1. An unknown run is RUN_NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDagctlError } from '../../core/errors.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { BIN } from '../distributed/cluster.js';
import { holdDagYaml, tempDir } from './support.js';

describe('cancel request of an embedded run', function () {
  this.timeout(60_000);

  it('stops a `dagctl run` process holding an instance, which exits 1 with the run cancelled', async () => {
    const home = await tempDir('dagctl-ui-cancel-');
    const file = join(home, 'held.yaml');
    await writeFile(file, holdDagYaml('held', home, { buckets: 1, sleepMs: 3_600_000 }));
    const child = spawn(process.execPath, [BIN, 'run', file, '--json', '--concurrency', '1'], { env: { ...process.env, DAGCTL_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = once(child, 'exit');
    const store = new LocalRunStore(home);
    try {
      // The barrier: the hold instance is running (it sleeps for an hour unless cancelled).
      let runId: string | null = null;
      for (;;) {
        runId ??= await store.latestRunId('held');
        const st = runId === null ? null : await store.getState(runId).catch(() => null);
        if (st?.instances['hold.main']?.state === 'running') break;
        assert.equal(child.exitCode, null, `dagctl run exited early: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(runId !== null);
      await store.requestCancel(runId);
      const [code] = await exited;
      assert.equal(code, 1);
      const view = JSON.parse(out) as { phase: string; tasks: Array<{ instance: string; state: string }> };
      assert.equal(view.phase, 'cancelled');
      assert.equal(view.tasks.find((t) => t.instance === 'hold.main')?.state, 'cancelled');
      await assert.rejects(store.requestCancel('held-unknown-run'), (e) => isDagctlError(e, 'RUN_NOT_FOUND'));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await store.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});
