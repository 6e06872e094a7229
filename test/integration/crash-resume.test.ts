/**
 * Crash test: `dagctl run` is killed with SIGKILL mid-run, `dagctl run --resume` finishes it, and
 * the view is identical to an undisturbed run's on the same input; work committed before the crash
 * is not redone.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StatusView } from '../../scheduler/status-view.js';
import { runCli, startRun, viewRows, workspace } from './support.js';

describe('crash and resume of an embedded run', function () {
  this.timeout(240_000);

  it('kill -9 mid-run, --resume, outputs identical to an undisturbed run', async () => {
    const calm = await workspace({ rows: 6000, days: 6 });
    const crashy = await workspace({ rows: 6000, days: 6 });
    const ref = await runCli(calm, ['run', calm.dag, '--param', `data=${calm.dataUri}`, '--concurrency', '1', '--json']);
    assert.equal(ref.code, 0, ref.stderr);
    const refRows = await viewRows(`${calm.dataUri}/views/over-time`);
    assert.ok(refRows.length > 100);

    const { child, output } = startRun(crashy, ['run', crashy.dag, '--param', `data=${crashy.dataUri}`, '--concurrency', '1']);
    // Kill once the first task has finished, i.e. mid-run with committed work behind it.
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/task normalize/.test(seen)) resolve();
      });
      child.on('close', () => reject(new Error(`run ended before it could be killed:\n${seen}`)));
    });
    child.kill('SIGKILL');
    const killed = await output;
    assert.equal(killed.code, null, 'the run was not killed');
    const runId = /run (\S+) \(/.exec(killed.stdout)?.[1];
    assert.ok(runId !== undefined, killed.stdout);

    const before = JSON.parse((await runCli(crashy, ['status', runId, '--json'])).stdout) as StatusView & { driver?: { state: string; pid?: number } };
    assert.equal(before.phase, 'running');
    // Not RUNNING forever: status says the driver is gone and how to continue.
    assert.equal(before.driver?.state, 'gone');
    assert.equal(before.driver?.pid, child.pid);
    assert.match((await runCli(crashy, ['status', runId])).stdout, new RegExp(`dagctl run --resume ${runId}`));
    const doneBefore = before.tasks.filter((t) => t.state === 'succeeded');
    assert.ok(doneBefore.length > 0 && doneBefore.length < before.tasks.length, 'crash point not mid-run');

    const resumed = await runCli(crashy, ['run', '--resume', runId, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = JSON.parse(resumed.stdout) as StatusView;
    assert.equal(after.phase, 'succeeded');
    for (const t of doneBefore) {
      const a = after.tasks.find((x) => x.instance === t.instance);
      assert.equal(a?.attempts, t.attempts, `${t.instance} was re-run after the crash`);
    }
    assert.deepEqual(await viewRows(`${crashy.dataUri}/views/over-time`), refRows);
    // The run record keeps the exact DAG text.
    const record = JSON.parse(await readFile(join(crashy.home, 'runs', runId, 'record.json'), 'utf8')) as { dagText: string };
    assert.equal(record.dagText, await readFile(crashy.dag, 'utf8'));
  });
});
