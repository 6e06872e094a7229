/**
 * exec: a Python script (standard library only) run per instance on its input files gives the same
 * rows as the equivalent module operator (defineOperator); a non-zero exit is OPERATOR_FAILED with
 * the exit code and stderr tail; params.timeout and a cancel kill the program's whole process group
 * (a child it started is gone too), and so does the death of the process running exec (SIGKILL).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDagctlError } from '../../core/errors.js';
import { exec } from '../../operators/exec/exec.js';
import { defineOperator, z } from '../../sdk/index.js';
import type { Row, Schema } from '../../storage/types.js';
import { runOperator, sortRows } from './harness.js';

const FILTER_PY = `import json, os, sys
job = json.load(open(os.environ['DAGCTL_JOB']))
words = json.loads(os.environ['DAGCTL_PARAMS'])['words']
with open(os.path.join(os.environ['DAGCTL_OUTPUT_DIR'], 'out.jsonl'), 'w') as out:
    for line in open(job['inputs'][0]['path']):
        row = json.loads(line)
        agent = (row.get('agent') or '').lower()
        if not any(w in agent for w in words):
            out.write(json.dumps({'url': row['url'], 'agent': row['agent'], 'bytes': row['bytes']}) + '\\n')
print('kept rows written', file=sys.stderr)
`;

const HANG_PY = `import os, subprocess, sys, time
child = subprocess.Popen(['sleep', '300'])
open(os.path.join(sys.argv[1], 'child.pid'), 'w').write(str(child.pid))
time.sleep(300)
`;

const SCHEMA: Schema = [{ name: 'url', type: 'string' }, { name: 'agent', type: 'string', nullable: true }, { name: 'bytes', type: 'int64', nullable: true }];
const AGENTS = ['Mozilla/5.0', 'Googlebot/2.1', 'curl/8', null, 'Baiduspider', 'Safari'];
const rows: Row[] = Array.from({ length: 300 }, (_, i) => ({ url: `/x/${i % 17}`, agent: AGENTS[i % AGENTS.length]!, bytes: i % 11 === 0 ? null : i * 3 }));

const moduleFilter = defineOperator({
  params: z.object({ words: z.array(z.string()) }).strict(),
  async run(ctx) {
    const out = ctx.outputs[0]!.open(SCHEMA);
    for await (const b of ctx.inputs[0]!.batches()) await out.write(b.filter((r) => !ctx.params.words.some((w) => String(r.agent ?? '').toLowerCase().includes(w))));
    return {};
  },
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('operators/exec/exec', function () {
  this.timeout(60_000);
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dagctl-exec-test-'));
    await writeFile(path.join(dir, 'filter.py'), FILTER_PY);
    await writeFile(path.join(dir, 'hang.py'), HANG_PY);
  });

  it('a Python script gives the same rows as the equivalent module operator', async () => {
    const words = ['bot', 'spider', 'curl'];
    const viaExec = await runOperator(exec, { command: ['python3', path.join(dir, 'filter.py')], columns: { url: 'string', agent: 'string', bytes: 'int64' }, args: { words } }, { inputs: [{ rows, schema: SCHEMA }] });
    const viaModule = await runOperator(moduleFilter, { words }, { inputs: [{ rows, schema: SCHEMA }] });
    assert.equal(viaExec.outputs[0]!.rows.length, rows.filter((r) => !words.some((w) => String(r.agent ?? '').toLowerCase().includes(w))).length);
    assert.deepEqual(sortRows(viaExec.outputs[0]!.rows), sortRows(viaModule.outputs[0]!.rows));
  });

  it('a non-zero exit is OPERATOR_FAILED with the exit code and the stderr tail', async () => {
    await writeFile(path.join(dir, 'fail.py'), "import sys\nprint('x' * 10000, file=sys.stderr)\nprint('the end of the story', file=sys.stderr)\nsys.exit(3)\n");
    await assert.rejects(runOperator(exec, { command: ['python3', path.join(dir, 'fail.py')], columns: { a: 'string' } }, { inputs: [{ rows }] }), (e) => {
      assert.ok(isDagctlError(e, 'OPERATOR_FAILED'));
      assert.equal(e.details.exitCode, 3);
      const tail = e.details.stderrTail as string;
      assert.ok(tail.length <= 4096 && tail.includes('the end of the story'));
      return true;
    });
  });

  it('params.timeout kills the program', async () => {
    const pidDir = await mkdtemp(path.join(dir, 'timeout-'));
    await assert.rejects(runOperator(exec, { command: ['python3', path.join(dir, 'hang.py'), pidDir], columns: { a: 'string' }, timeout: 300 }, { inputs: [{ rows }] }), (e) => isDagctlError(e, 'TASK_TIMEOUT'));
  });

  it('a cancel kills the whole process group, the program\'s children included', async () => {
    const pidDir = await mkdtemp(path.join(dir, 'cancel-'));
    const ac = new AbortController();
    const running = runOperator(exec, { command: ['python3', path.join(dir, 'hang.py'), pidDir], columns: { a: 'string' } }, { inputs: [{ rows }], signal: ac.signal });
    // Barrier: the program says it started its child.
    let pid = 0;
    while (pid === 0) {
      pid = Number(await readFile(path.join(pidDir, 'child.pid'), 'utf8').catch(() => '0'));
      if (pid === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(alive(pid));
    ac.abort();
    await assert.rejects(running, (e) => isDagctlError(e, 'TASK_CANCELLED'));
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20)); // reaped by init once killed; mocha's timeout fails the test otherwise
  });

  it('the worker killed with SIGKILL takes the program and its children with it', async () => {
    const pidDir = await mkdtemp(path.join(dir, 'sigkill-'));
    const runner = path.join(dir, 'runner.mjs');
    await writeFile(runner, `import { runOperator } from ${JSON.stringify(new URL('../../sdk/testing.js', import.meta.url).href)};
import { exec } from ${JSON.stringify(new URL('../../operators/exec/exec.js', import.meta.url).href)};
await runOperator(exec, { command: ['python3', ${JSON.stringify(path.join(dir, 'hang.py'))}, ${JSON.stringify(pidDir)}], columns: { a: 'string' } }, { inputs: [] });
`);
    const worker = spawn(process.execPath, [runner], { stdio: 'ignore' });
    let pid = 0;
    while (pid === 0) {
      pid = Number(await readFile(path.join(pidDir, 'child.pid'), 'utf8').catch(() => '0'));
      if (pid === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(alive(pid));
    worker.kill('SIGKILL');
    await once(worker, 'exit');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20)); // mocha's timeout fails the test if it survives
  });
});
