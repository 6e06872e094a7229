/**
 * Attempt logs through the real CLI: an `exec` program that succeeds still has its stdout/stderr
 * tails kept with its result, shown by `dagctl status RUN --logs` and in `status --json` (the
 * instance's `log`); an instance that did not log has none. Earlier attempts: an instance that
 * failed twice before succeeding (inline, and on a worker thread) keeps each failed attempt's
 * error and log tail (`earlierAttempts`), shown before its last attempt.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StatusView } from '../../scheduler/status-view.js';
import { runCli, type Workspace } from './support.js';

const PROGRAM = `import json, os, sys
print("hello-from-stdout", flush=True)
print("warning-from-stderr", file=sys.stderr, flush=True)
with open(os.path.join(os.environ["DAGCTL_OUTPUT_DIR"], "out.jsonl"), "w") as f:
    f.write(json.dumps({"n": 1}) + "\\n")
`;

describe('attempt logs (exec stdout/stderr of a successful attempt, status --logs)', function () {
  this.timeout(120_000);

  it('keeps a successful exec attempt\'s stdout and stderr tails and shows them', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-logs-'));
    const ws: Workspace = { dir, dag: path.join(dir, 'dag.yaml'), dataUri: pathToFileURL(path.join(dir, 'data')).href, home: path.join(dir, '.dagctl') };
    await writeFile(path.join(dir, 'prog.py'), PROGRAM);
    await writeFile(ws.dag, `apiVersion: dagctl/v1
kind: Dag
metadata: { name: logs }
datasets:
  out: { uri: ./data/out }
tasks:
  - { name: prog, operator: exec, outputs: [out], params: { command: [python3, ${JSON.stringify(path.join(dir, 'prog.py'))}], columns: { n: int64 } } }
  - { name: quiet, operator: noop, dependsOn: [prog] }
`);
    const run = await runCli(ws, ['run', ws.dag, '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const runId = (JSON.parse(run.stdout) as StatusView).runId;
    const json = JSON.parse((await runCli(ws, ['status', runId, '--json'])).stdout) as StatusView;
    const prog = json.tasks.find((t) => t.name === 'prog');
    assert.equal(prog?.state, 'succeeded');
    assert.match(prog?.log ?? '', /hello-from-stdout/);
    assert.match(prog?.log ?? '', /warning-from-stderr/);
    assert.equal(json.tasks.find((t) => t.name === 'quiet')?.log, undefined);
    const text = await runCli(ws, ['status', runId, '--logs']);
    assert.equal(text.code, 0, text.stderr);
    const block = text.stdout.slice(text.stdout.indexOf(`-- ${prog?.instance ?? '?'} (attempt 1, succeeded)`));
    assert.ok(block.startsWith('-- '), text.stdout);
    assert.match(block, /hello-from-stdout/);
    assert.match(block, /warning-from-stderr/);
    assert.ok(!text.stdout.includes('-- quiet'), 'an instance that logged nothing has no block');
  });

  it('keeps the log tail and error of each earlier failed attempt, inline and on a thread', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-logs-'));
    const ws: Workspace = { dir, dag: path.join(dir, 'dag.yaml'), dataUri: pathToFileURL(path.join(dir, 'data')).href, home: path.join(dir, '.dagctl') };
    await writeFile(ws.dag, `apiVersion: dagctl/v1
kind: Dag
metadata: { name: flaky }
defaults: { retries: 2, timeout: 2m, retryBackoff: 10ms }
tasks:
  - { name: inline, operator: noop, params: { failTimes: 2 } }
  - { name: threaded, operator: noop, params: { failTimes: 2, onThread: true } }
  - { name: steady, operator: noop }
`);
    const run = await runCli(ws, ['run', ws.dag, '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const runId = (JSON.parse(run.stdout) as StatusView).runId;
    const json = JSON.parse((await runCli(ws, ['status', runId, '--json'])).stdout) as StatusView;
    for (const name of ['inline', 'threaded']) {
      const t = json.tasks.find((x) => x.name === name);
      assert.equal(t?.state, 'succeeded', name);
      assert.equal(t?.attempts, 3, name);
      assert.deepEqual(t?.earlierAttempts?.map((a) => [a.attempt, a.code]), [[1, 'TASK_FAILED'], [2, 'TASK_FAILED']], name);
      for (const a of t?.earlierAttempts ?? []) {
        assert.match(a.error, new RegExp(`failing attempt ${a.attempt} of 2`), name);
        const line = JSON.parse(a.log ?? 'null') as { instance: string; message: string; attempt: number };
        assert.deepEqual(line, { instance: t?.instance, message: `noop: attempt ${a.attempt} fails on purpose (failTimes 2)`, attempt: a.attempt }, name);
      }
      assert.equal(t?.log, undefined, `${name}: its last (successful) attempt logged nothing`);
    }
    assert.equal(json.tasks.find((x) => x.name === 'steady')?.earlierAttempts, undefined);
    const text = (await runCli(ws, ['status', runId, '--logs'])).stdout;
    const id = json.tasks.find((x) => x.name === 'threaded')?.instance ?? '?';
    const first = text.indexOf(`-- ${id} (attempt 1, failed `);
    const second = text.indexOf(`-- ${id} (attempt 2, failed `);
    const last = text.indexOf(`-- ${id} (attempt 3, succeeded)`);
    assert.ok(first >= 0 && first < second && second < last, text);
    assert.match(text.slice(first, second), /noop: attempt 1 fails on purpose[\s\S]*TASK_FAILED: noop: failing attempt 1 of 2/);
    assert.ok(!text.includes('-- steady'), 'an instance with nothing to show has no block');
  });
});
