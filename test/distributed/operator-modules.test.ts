/**
 * Code travels with the run: two real `dagctl worker` processes, started before the operator
 * module existed (each with its own bundle cache, as on two machines), run a DAG whose TypeScript
 * operator module is submitted with `dagctl run --redis --detach` and then deleted from disk:
 * the workers can only have run it from the code bundle stored with the run in Redis. The rows it
 * dropped equal an independent count; every module instance ran on one of the two workers, and
 * each worker that ran one holds the run's bundle (by its hash) in its own cache.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, waitFinished } from './cluster.js';
import { redisUrl } from './redis-env.js';
import { distributedSuite } from './fixture.js';

const MODULE = `import { defineOperator, z } from 'dagctl';
import type { Row } from 'dagctl';
import { looksLikeBot } from './lib/bots.js';
export default defineOperator({
  params: z.object({}).strict(),
  async run(ctx) {
    const input = ctx.inputs[0]!;
    const schema = await input.schema();
    if (schema === null) return { metrics: { dropped: 0 } };
    const out = ctx.outputs[0]!.open(schema);
    let dropped = 0;
    for await (const b of input.batches()) {
      const keep: Row[] = [];
      for (const r of b) if (looksLikeBot(r.agent)) dropped++; else keep.push(r);
      await out.write(keep);
    }
    return { metrics: { dropped } };
  },
});
`;
const LIB = `export const looksLikeBot = (a: unknown): boolean => typeof a === 'string' && /bot|spider/i.test(a);\n`;

describe('operator modules on dagctl workers (code bundles in Redis)', function () {
  const f = distributedSuite(this);
  const cluster = f.suiteCluster();

  it('two workers started before the code existed run a TypeScript module from the run\'s bundle', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-bundle-'));
    const caches = [path.join(dir, 'cache-a'), path.join(dir, 'cache-b')];
    const saved = process.env.DAGCTL_BUNDLE_CACHE;
    const workers = [];
    try {
      for (const c of caches) {
        process.env.DAGCTL_BUNDLE_CACHE = c;
        workers.push(await cluster.startWorker(['--concurrency', '2']));
      }
    } finally {
      if (saved === undefined) delete process.env.DAGCTL_BUNDLE_CACHE;
      else process.env.DAGCTL_BUNDLE_CACHE = saved;
    }

    // Only now does the code exist.
    const proj = path.join(dir, 'proj');
    await mkdir(path.join(proj, 'ops/lib'), { recursive: true });
    await writeFile(path.join(proj, 'ops/bots.ts'), MODULE);
    await writeFile(path.join(proj, 'ops/lib/bots.ts'), LIB);
    const agents: string[] = [];
    for (const day of ['2024-05-01', '2024-05-02', '2024-05-03']) {
      const lines: string[] = [];
      for (let i = 0; i < 120; i++) {
        const agent = i % 4 === 0 ? 'Googlebot/2.1' : i % 9 === 0 ? 'Baiduspider' : `Mozilla/5.0 (${day} ${i})`;
        agents.push(agent);
        lines.push(`10.2.0.${i % 30} - - [${day.slice(8)}/May/2024:0${i % 10}:1${i % 6}:00 +0000] "GET /d/${i % 25} HTTP/1.1" 200 ${i} "-" "${agent}"`);
      }
      await mkdir(path.join(proj, `logs/date=${day}`), { recursive: true });
      await writeFile(path.join(proj, `logs/date=${day}/a.log`), lines.join('\n') + '\n');
    }
    const name = `bundle${Date.now().toString(36)}`;
    await writeFile(path.join(proj, 'dag.yaml'), `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
defaults: { retries: 0, timeout: 1m }
operators: { bots: ./ops/bots.ts }
datasets:
  log: { uri: ./logs, format: text, partitionBy: date }
  raw: { uri: ./data/raw, partitionBy: date }
  humans: { uri: ./data/humans, partitionBy: date }
tasks:
  - { name: parse, operator: parse-access-log, inputs: [log], outputs: [raw] }
  - { name: bots, operator: bots, inputs: [raw], outputs: [humans] }
`);
    const cli = spawn(process.execPath, [BIN, 'run', 'dag.yaml', '--redis', redisUrl(), '--detach', '--json'], { cwd: proj, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DAGCTL_HOME: path.join(proj, '.dagctl'), DAGCTL_BUNDLE_CACHE: path.join(dir, 'cache-cli') } });
    let out = '';
    let err = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const [code] = (await once(cli, 'exit')) as [number];
    assert.equal(code, 0, out + err);
    const runId = (JSON.parse(out) as { runId: string }).runId;
    // The submitter's copy of the code is gone: the workers have only the bundle in Redis.
    await rm(path.join(proj, 'ops'), { recursive: true });

    const final = await waitFinished(f.store, runId, 120_000);
    assert.equal(final.phase, 'succeeded', JSON.stringify(Object.values(final.instances).filter((i) => i.error !== undefined)));
    const record = await f.store.getRecord(runId);
    const hash = record?.bundle?.hash;
    assert.ok(hash !== undefined && record?.dag.modules?.bots?.bundle === hash);
    const botInstances = Object.entries(final.instances).filter(([id]) => id.startsWith('bots.main'));
    assert.equal(botInstances.length, 3);
    const dropped = botInstances.reduce((n, [, s]) => n + (s.result?.metrics.dropped ?? 0), 0);
    assert.equal(dropped, agents.filter((a) => /bot|spider/i.test(a)).length);
    const names = workers.map((w) => w.name);
    const ranOn = new Set(botInstances.map(([, s]) => names.findIndex((n) => s.worker?.startsWith(n) === true)));
    assert.ok(!ranOn.has(-1), `a module instance ran outside the two workers: ${botInstances.map(([, s]) => s.worker).join(', ')}`);
    for (const w of ranOn) assert.ok((await readdir(caches[w]!)).includes(hash), `worker ${w} ran the module but has no bundle ${hash} in its cache`);
  });
});
