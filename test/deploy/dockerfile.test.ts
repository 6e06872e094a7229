/**
 * The image recipe (Dockerfile, .dockerignore), checked statically: no OCI builder can run here (no
 * Docker engine; buildah from Debian installs but cannot pull the node base image — no registry is
 * reachable from these machines). Parsed into stages and instructions, it must be multi-stage with
 * the TypeScript build on dev dependencies and the runtime on production dependencies only, a node
 * 20 slim base, a numeric non-root USER, DAGCTL_HOME and TMPDIR on paths the chart mounts writable,
 * `dagctl` as the entrypoint, and copy every source folder tsconfig.json compiles (except tests and
 * benches) — so a new top-level source folder cannot be silently missing from the image.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REPO } from './k8s-tools.js';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  body: Instruction[];
}

/** Dockerfile → ARGs before the first FROM and the stages (line continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(m !== null, `bad Dockerfile line: ${line}`);
    const op = (m[1] ?? '').toUpperCase();
    const rest = (m[2] ?? '').replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(rest);
      assert.ok(f !== null, `bad FROM: ${rest}`);
      stages.push({ from: f[1] ?? '', name: f[2] ?? String(stages.length), body: [] });
    } else if (stages.length === 0) {
      assert.equal(op, 'ARG', `only ARG may precede FROM, got ${op}`);
      const [k, v] = rest.split('=');
      args[k ?? ''] = v ?? '';
    } else {
      stages[stages.length - 1]?.body.push({ op, args: rest });
    }
  }
  return { args, stages };
}

describe('Dockerfile (static checks: no container builder can run on these machines)', () => {
  const { args, stages } = parseDockerfile(readFileSync(`${REPO}Dockerfile`, 'utf8'));
  const stage = (name: string): Stage => {
    const s = stages.find((x) => x.name === name);
    assert.ok(s !== undefined, `stage ${name}`);
    return s;
  };
  const runtime = stages[stages.length - 1] as Stage;
  const resolve = (from: string): string => from.replace(/^\$\{(\w+)\}$/, (_, k: string) => args[k] ?? '');

  it('is multi-stage on a node 20 slim base: build with dev deps, deps with --omit=dev, runtime last', () => {
    assert.deepEqual(stages.map((s) => s.name), ['build', 'deps', 'runtime']);
    for (const s of stages) assert.match(resolve(s.from), /^(docker\.io\/library\/)?node:20(\.\d+)*-(bookworm-|bullseye-)?slim$/);
    const buildRuns = stage('build').body.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(buildRuns.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), 'build installs dev dependencies');
    assert.ok(buildRuns.some((r) => /\btsc -p tsconfig\.json\b/.test(r)), 'build compiles');
    const depsRuns = stage('deps').body.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(depsRuns.some((r) => /\bnpm ci --omit=dev\b/.test(r)), 'deps installs production dependencies only');
  });

  it('the runtime stage takes node_modules from deps and dist from build, and installs nothing from npm itself', () => {
    const copies = runtime.body.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.ok(copies.includes('--from=deps /app/node_modules node_modules'));
    assert.ok(copies.includes('--from=build /src/dist dist'));
    assert.ok(!copies.some((c) => /--from=build \S*node_modules/.test(c)), 'no dev node_modules in the runtime');
    assert.ok(!runtime.body.some((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args)));
  });

  it('runs as a numeric non-root user with a read-only-friendly layout and dagctl as the entrypoint', () => {
    const users = runtime.body.filter((i) => i.op === 'USER');
    assert.equal(users.length, 1);
    const m = /^(\d+)(?::(\d+))?$/.exec(users[0]?.args ?? '');
    assert.ok(m !== null, 'USER is numeric (runAsNonRoot can verify it)');
    assert.ok(Number(m[1]) > 0 && Number(m[2] ?? 1) > 0);
    const afterUser = runtime.body.slice(runtime.body.indexOf(users[0] as Instruction) + 1);
    assert.ok(!afterUser.some((i) => i.op === 'RUN' || i.op === 'COPY'), 'nothing is written as the user: the app stays root-owned and read-only');
    const env = runtime.body.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    assert.match(env, /DAGCTL_HOME=\/var\/lib\/dagctl\b/);
    assert.match(env, /TMPDIR=\/tmp\b/);
    assert.match(env, /NODE_ENV=production\b/);
    const entry = runtime.body.find((i) => i.op === 'ENTRYPOINT');
    const argv = JSON.parse(entry?.args ?? 'null') as string[];
    assert.equal(argv[argv.length - 1], 'dagctl');
    // dagctl is the launcher (bin/dagctl: malloc tunables, then exec node dist/cli/bin.js), copied into the image.
    assert.ok(runtime.body.some((i) => i.op === 'COPY' && i.args === 'bin bin'), 'the launcher is in the image');
    assert.ok(runtime.body.some((i) => i.op === 'RUN' && i.args.includes('ln -s /app/bin/dagctl /usr/local/bin/dagctl')));
    // The chart mounts emptyDirs exactly there.
    const helpers = readFileSync(`${REPO}deploy/helm/dagctl/templates/_helpers.tpl`, 'utf8');
    assert.ok(helpers.includes('mountPath: /tmp') && helpers.includes('mountPath: /var/lib/dagctl'));
    assert.match(helpers, new RegExp(`runAsUser: \\{\\{ \\.uid \\| default ${m[1]} \\}\\}`));
  });

  it('copies every source folder tsconfig.json compiles, except tests and benches', () => {
    const tsconfig = JSON.parse(readFileSync(`${REPO}tsconfig.json`, 'utf8')) as { include: string[] };
    const copied = stage('build').body.filter((i) => i.op === 'COPY').map((i) => i.args.split(' ')[0]);
    assert.deepEqual(tsconfig.include.filter((d) => d !== 'test' && d !== 'bench').sort(), copied.filter((c) => !c?.includes('.json')).sort());
  });

  it('.dockerignore keeps local state, builds and secrets-prone folders out of the context', () => {
    const ignored = readFileSync(`${REPO}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['.git', 'node_modules', 'dist', '.tmp', '.tools', '.dagctl', 'data']) assert.ok(ignored.includes(p), p);
  });
});
