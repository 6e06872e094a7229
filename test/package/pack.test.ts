/**
 * The published package: `npm pack` of this tree, installed from the tarball into a fresh project
 * with no network (`npm ci --offline` against a lockfile built from this repository's, so every
 * dependency comes from the npm cache `npm ci` filled), then used as a user would:
 *  - `import { defineOperator, z } from 'dagctl'` and `import { runOperator } from 'dagctl/testing'`
 *    run an operator's stage on in-memory rows (checked against a plain filter);
 *  - a TypeScript file using the exported types type-checks against the package's declarations;
 *  - the `dagctl` bin works (`npx dagctl --help`, and a run of a DAG with a TypeScript operator
 *    module whose rows are checked against an independent count);
 *  - `dagctl operators init NAME` scaffolds a module and a test that passes (node --test).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const ROOT = path.resolve('.');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry { version?: string; resolved?: string; integrity?: string; dev?: boolean; devOptional?: boolean; optional?: boolean; link?: boolean; [k: string]: unknown }

/** The project's lockfile: this repository's production tree under node_modules/dagctl's dependencies, hoisted as npm laid it out here. */
async function projectLock(tarball: string): Promise<{ pkg: object; lock: object }> {
  const repoLock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const repoPkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
  const packages: Record<string, LockEntry> = {};
  for (const [k, v] of Object.entries(repoLock.packages)) {
    if (k === '' || v.dev === true || v.link === true) continue;
    const e: LockEntry = { ...v };
    if (e.devOptional === true) {
      delete e.devOptional;
      e.optional = true;
    }
    if (e.resolved === undefined && e.version !== undefined) {
      const name = k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length);
      e.resolved = `https://registry.npmjs.org/${name}/-/${name.split('/').pop()!}-${e.version}.tgz`;
    }
    packages[k] = e;
  }
  const spec = `file:${tarball}`;
  packages['node_modules/dagctl'] = { version: repoPkg.version, resolved: spec, license: repoPkg.license, dependencies: repoPkg.dependencies, bin: repoPkg.bin, engines: repoPkg.engines };
  const root = { name: 'user-project', version: '1.0.0', dependencies: { dagctl: spec } };
  return { pkg: { ...root, type: 'module', private: true }, lock: { name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages: { '': root, ...packages } } };
}

const USE = `import { defineOperator, z } from 'dagctl';
import { runOperator, sortRows } from 'dagctl/testing';
const op = defineOperator({
  params: z.object({ min: z.number().int().default(2) }).strict(),
  async run(ctx) {
    const out = ctx.outputs[0].open([{ name: 'n', type: 'int64' }]);
    let kept = 0;
    for await (const b of ctx.inputs[0].batches()) { const k = b.filter((r) => r.n >= ctx.params.min); kept += k.length; await out.write(k); }
    return { metrics: { kept } };
  },
});
const rows = [5, 1, 3, 2, 0, 9, 4].map((n) => ({ n }));
const r = await runOperator(op, { min: 3 }, { inputs: [{ rows }] });
console.log(JSON.stringify({ rows: sortRows(r.outputs[0].rows), kept: r.metrics.kept }));
`;

const TYPED = `import { defineOperator, z, type Row, type StageContext } from 'dagctl';
import { runOperator, type RunResult } from 'dagctl/testing';
const params = z.object({ agent: z.string() }).strict();
export const op = defineOperator({
  params,
  async run(ctx: StageContext<z.infer<typeof params>>) {
    const keep: Row[] = [];
    for await (const b of ctx.inputs[0]!.batches()) for (const r of b) if (r.agent !== ctx.params.agent) keep.push(r);
    ctx.outputs[0]!.open([{ name: 'agent', type: 'string' }]).write(keep);
    return { metrics: { kept: keep.length } };
  },
});
export const result: Promise<RunResult> = runOperator(op, { agent: 'x' }, { inputs: [{ rows: [] }] });
`;

const BOTS = `import { defineOperator, z } from 'dagctl';
import type { Row } from 'dagctl';
export default defineOperator({
  summary: 'drops rows whose agent contains "bot"',
  params: z.object({}).strict(),
  async run(ctx) {
    const input = ctx.inputs[0]!;
    const schema = await input.schema();
    if (schema === null) return { metrics: {} };
    const out = ctx.outputs[0]!.open(schema);
    let dropped = 0;
    for await (const b of input.batches()) {
      const keep: Row[] = b.filter((r) => !(typeof r.agent === 'string' && r.agent.includes('bot')) || (dropped++, false));
      await out.write(keep);
    }
    return { metrics: { dropped } };
  },
});
`;

describe('the published package (npm pack → install offline → use)', function () {
  this.timeout(300_000);
  let proj = '';
  const run = (cmd: string, args: string[], cwd = proj) => exec(cmd, args, { cwd, env: { ...process.env, DAGCTL_HOME: path.join(proj, '.dagctl'), DAGCTL_BUNDLE_CACHE: path.join(proj, '.bundles') }, maxBuffer: 64 << 20 });

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-pack-'));
    await exec(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.types.json'], { cwd: ROOT });
    const packed = await exec(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 << 20 });
    const info = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    const files = info.files.map((f) => f.path);
    assert.ok(files.includes('dist/sdk/index.d.ts') && files.includes('dist/sdk/testing.js') && files.includes('dist/cli/bin.js'));
    // The dagctl command is the launcher (bin/dagctl, package.json "bin"): `npx dagctl` below runs through it.
    assert.ok(files.includes('bin/dagctl'), 'the launcher is packed');
    assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.endsWith('.map')), 'tests, benchmarks or source maps were packed');
    proj = path.join(dir, 'project');
    await mkdir(proj);
    const { pkg, lock } = await projectLock(path.join(dir, info.filename));
    await writeFile(path.join(proj, 'package.json'), JSON.stringify(pkg, null, 2));
    await writeFile(path.join(proj, 'package-lock.json'), JSON.stringify(lock, null, 2));
    await run(NPM, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']);
  });

  it('imports dagctl and dagctl/testing and runs an operator on in-memory rows', async () => {
    await writeFile(path.join(proj, 'use.mjs'), USE);
    const out = JSON.parse((await run(process.execPath, ['use.mjs'])).stdout) as { rows: Array<{ n: number }>; kept: number };
    const expected = [5, 1, 3, 2, 0, 9, 4].filter((n) => n >= 3).sort().map((n) => ({ n }));
    assert.deepEqual(out.rows.map((r) => r.n).sort(), expected.map((r) => r.n));
    assert.equal(out.kept, expected.length);
  });

  it('ships type declarations for both entry points', async () => {
    await writeFile(path.join(proj, 'typed.ts'), TYPED);
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = await run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', 'typed.ts']).catch((e: { stdout: string }) => ({ stdout: e.stdout, failed: true }));
    assert.ok(!('failed' in r), `declarations do not type-check a user's module:\n${r.stdout}`);
    // And a wrong use is rejected: the declarations carry real types, not any.
    await writeFile(path.join(proj, 'wrong.ts'), `import { defineOperator } from 'dagctl';\nexport const op = defineOperator({ params: 42, run: 'no' });\n`);
    await assert.rejects(run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'wrong.ts']));
  });

  it('scaffolds an operator module and its test with `dagctl operators init`; the test passes; init never overwrites', async () => {
    await run('npx', ['--offline', 'dagctl', 'operators', 'init', 'drop-kinds']);
    const t = await run(process.execPath, ['--test', 'ops/drop-kinds.test.mjs']);
    assert.match(t.stdout, /# pass 1/);
    assert.match(t.stdout, /# fail 0/);
    await assert.rejects(run('npx', ['--offline', 'dagctl', 'operators', 'init', 'drop-kinds']), (e: { code: number }) => e.code === 2);
  });

  it('runs the dagctl bin: --help, and a DAG with a TypeScript operator module', async () => {
    const help = await run('npx', ['--offline', 'dagctl', '--help']);
    assert.match(help.stdout, /^dagctl /);
    await mkdir(path.join(proj, 'ops'), { recursive: true });
    await writeFile(path.join(proj, 'ops/bots.ts'), BOTS);
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const agent = i % 7 === 0 ? 'Googlebot/2.1' : i % 5 === 0 ? 'bingbot' : `Mozilla/5.0 (${i})`;
      lines.push(`10.0.0.${i % 9} - - [10/Oct/2024:13:${String(i % 60).padStart(2, '0')}:00 +0000] "GET /p/${i} HTTP/1.1" 200 ${i} "-" "${agent}"`);
    }
    await mkdir(path.join(proj, 'logs'));
    await writeFile(path.join(proj, 'logs/access.log'), lines.join('\n') + '\n');
    await writeFile(path.join(proj, 'dag.yaml'), `apiVersion: dagctl/v1
kind: Dag
metadata: { name: pack-bots }
operators:
  bots: ./ops/bots.ts
datasets:
  log: { uri: ./logs, format: text }
  raw: { uri: ./data/raw }
  humans: { uri: ./data/humans }
tasks:
  - { name: parse, operator: parse-access-log, inputs: [log], outputs: [raw] }
  - { name: bots, operator: bots, inputs: [raw], outputs: [humans] }
`);
    const r = await run('npx', ['--offline', 'dagctl', 'run', 'dag.yaml', '--json']);
    const view = JSON.parse(r.stdout) as { phase: string; tasks: Array<{ name: string; stage: string; metrics?: Record<string, number> }> };
    assert.equal(view.phase, 'succeeded');
    const dropped = view.tasks.filter((t) => t.name === 'bots' && t.stage === 'main').reduce((n, t) => n + (t.metrics?.dropped ?? 0), 0);
    assert.equal(dropped, lines.filter((l) => /bot"$/.test(l) || /bot\/2\.1"$/.test(l)).length);
  });
});
