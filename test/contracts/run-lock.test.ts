/**
 * One driver per run: `dagctl run --resume RUN` of a run whose driver is alive is refused with
 * RUN_LOCKED naming the holder's pid; once the holder is dead (SIGKILL) its lock is stale and
 * `--resume` takes over. The first driver is held inside a task that cannot finish during the
 * test (a 10-minute noop), so the test, not the clock, decides when it stops.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { tryFileLock } from '../../storage/local/lock.js';
import { runCli, startRun, type Workspace } from '../integration/support.js';

const HOLD_DAG = `apiVersion: dagctl/v1
kind: Dag
metadata: { name: held }
tasks:
  - { name: hold, operator: noop, params: { sleepMs: 600000 } }
`;

/** Resolves with the run id once the child printed its `run ID (` line (the lock is held by then). */
function runIdOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      const id = /run (\S+) \(/.exec(seen)?.[1];
      if (id !== undefined) resolve(id);
    });
    child.on('close', () => reject(new Error(`driver ended early:\n${seen}`)));
  });
}

describe('contracts: one driver per run', function () {
  this.timeout(60_000);
  let ws: Workspace;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-lock-'));
    ws = { dir, dag: join(dir, 'held.yaml'), dataUri: '', home: join(dir, '.dagctl') };
    await writeFile(ws.dag, HOLD_DAG);
  });
  after(async () => rm(ws.dir, { recursive: true, force: true }));

  it('refuses --resume of a live run (RUN_LOCKED, naming the holder), takes over once the holder is dead', async () => {
    const first = startRun(ws, ['run', ws.dag, '--concurrency', '1']);
    const runId = await runIdOf(first.child);
    try {
      const second = await runCli(ws, ['run', '--resume', runId, '--json']);
      assert.equal(second.code, 1, second.stderr);
      const err = (JSON.parse(second.stdout) as { error: { code: string; details: { pid: number; host: string } } }).error;
      assert.equal(err.code, 'RUN_LOCKED');
      assert.equal(err.details.pid, first.child.pid);
      assert.equal(err.details.host, hostname());
      // The refused process wrote nothing to the run: the holder's lock is intact.
      const lock = JSON.parse(await readFile(join(ws.home, 'runs', runId, 'lock'), 'utf8')) as { pid: number };
      assert.equal(lock.pid, first.child.pid);
    } finally {
      first.child.kill('SIGKILL');
      await first.output;
    }
    // The holder is dead: its lock is stale, and a resume takes over (then we stop it too).
    const third = startRun(ws, ['run', '--resume', runId, '--concurrency', '1']);
    try {
      assert.equal(await runIdOf(third.child), runId);
      const lock = JSON.parse(await readFile(join(ws.home, 'runs', runId, 'lock'), 'utf8')) as { pid: number };
      assert.equal(lock.pid, third.child.pid);
    } finally {
      third.child.kill('SIGKILL');
      await third.output;
    }
  });

  it('tryFileLock: a live holder is returned, a dead pid on this host is stale, another host is never presumed dead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-lockfile-'));
    try {
      const p = join(dir, 'lock');
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      assert.ok(dead !== undefined);
      await writeFile(p, JSON.stringify({ pid: dead, host: hostname(), token: 't-dead', at: 0 }));
      const taken = await tryFileLock(p, { staleMs: Infinity });
      assert.ok(taken.ok, 'a dead holder was not taken over');
      const again = await tryFileLock(p, { staleMs: Infinity });
      assert.ok(!again.ok && again.holder.pid === process.pid);
      await taken.release();
      await writeFile(p, JSON.stringify({ pid: dead, host: 'elsewhere', token: 't-far', at: 0 }));
      const far = await tryFileLock(p, { staleMs: Infinity });
      assert.ok(!far.ok && far.holder.host === 'elsewhere');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
