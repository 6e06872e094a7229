/**
 * exec on `dagctl worker` processes: the worker running an exec program is killed with SIGKILL
 * mid-program (held at a barrier the test controls: the program waits for a release file); the
 * instance is retried on a second worker and the output dataset holds exactly one commit for it,
 * with the program's rows once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommitMarker } from '../../storage/types.js';
import { BIN, waitFinished } from './cluster.js';
import { redisUrl } from './redis-env.js';
import { distributedSuite } from './fixture.js';
import { until } from '../helpers/until.js';

const PROGRAM = `import json, os, sys, time
job = json.load(open(os.environ['DAGCTL_JOB']))
gate = sys.argv[1]
open(os.path.join(gate, 'started-%d' % os.getpid()), 'w').close()
while not os.path.exists(os.path.join(gate, 'release')):
    time.sleep(0.05)
with open(os.path.join(os.environ['DAGCTL_OUTPUT_DIR'], 'out.jsonl'), 'w') as out:
    for i in range(3):
        out.write(json.dumps({'n': i, 'attempt': job['attempt']}) + '\\n')
`;

describe('exec on workers: SIGKILL of the worker mid-program', function () {
  const f = distributedSuite(this);
  const cluster = f.suiteCluster();

  it('leaves exactly one commit, made by the retried attempt', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-exec-kill-'));
    const gate = path.join(dir, 'gate');
    await mkdir(gate);
    await writeFile(path.join(dir, 'prog.py'), PROGRAM);
    const name = `execkill${Date.now().toString(36)}`;
    await writeFile(path.join(dir, 'dag.yaml'), `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
defaults: { retries: 2, timeout: 2m, retryBackoff: 100ms }
datasets:
  out: { uri: ./data/out }
tasks:
  - name: prog
    operator: exec
    queue: ${name}
    outputs: [out]
    params: { command: [python3, ${JSON.stringify(path.join(dir, 'prog.py'))}, ${JSON.stringify(gate)}], columns: { n: int64, attempt: int64 } }
`);
    const first = await cluster.startWorker(['--queues', name]); // a queue of its own: no other run's jobs
    const cli = spawn(process.execPath, [BIN, 'run', 'dag.yaml', '--redis', redisUrl(), '--detach', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DAGCTL_HOME: path.join(dir, '.dagctl') } });
    let out = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = (await once(cli, 'exit')) as [number];
    assert.equal(code, 0, out);
    const runId = (JSON.parse(out) as { runId: string }).runId;

    const started = async (n: number): Promise<boolean> => (await readdir(gate)).filter((f) => f.startsWith('started-')).length >= n;
    await until('the program started on the first worker', 300_000, () => started(1));
    first.child.kill('SIGKILL');
    await first.exited;
    await cluster.startWorker(['--queues', name]);
    await until('the program started again on the second worker', 300_000, () => started(2));
    await writeFile(path.join(gate, 'release'), '');

    const final = await waitFinished(f.store, runId, 120_000);
    assert.equal(final.phase, 'succeeded');
    const commits = (await readdir(path.join(dir, 'data/out/_commits'))).filter((f) => f.startsWith('prog.'));
    assert.equal(commits.length, 1, commits.join(', '));
    const marker = JSON.parse(await readFile(path.join(dir, 'data/out/_commits', commits[0]!), 'utf8')) as CommitMarker;
    assert.equal(marker.files.reduce((n, f) => n + f.rows, 0), 3);
  });
});
