/**
 * How benchmarks start dagctl (bench/lib/dagctl-command.ts): a build runs through its package's
 * launcher only when that launcher runs exactly this build (realpath compare, symlinks included);
 * a copied base build (dist-base next to a package with a launcher) runs as node on its own
 * cli/bin.js with the launcher's settings made directly, and a package without a launcher as plain
 * node; the settings made directly are the launcher's own (checked against bin/dagctl with a
 * stand-in node).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distPaths, launcherSettings, planDagctlCommand } from '../../bench/lib/dagctl-command.js';
import { REPO } from '../deploy/k8s-tools.js';

const NODE = '/opt/node/bin/node';

describe('bench dagctl command', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dagctl-benchcmd-'));
    // pkg: a package with a launcher, its own dist and a copied base build; old: no launcher.
    mkdirSync(join(dir, 'pkg/bin'), { recursive: true });
    writeFileSync(join(dir, 'pkg/bin/dagctl'), '#!/bin/sh\n', { mode: 0o755 });
    for (const d of ['pkg/dist/cli', 'pkg/dist-base/cli', 'old/dist/cli']) mkdirSync(join(dir, d), { recursive: true });
    symlinkSync(join(dir, 'pkg/dist'), join(dir, 'pkg/dist-link'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the launcher only for the dist it runs (realpath), not a base dist beside it', () => {
    assert.deepEqual(distPaths(join(dir, 'pkg/dist')), { dist: join(dir, 'pkg/dist'), launcher: join(dir, 'pkg/bin/dagctl'), launcherRunsDist: true });
    assert.equal(distPaths(join(dir, 'pkg/dist-link')).launcherRunsDist, true);
    assert.deepEqual(distPaths(join(dir, 'pkg/dist-base')), { dist: join(dir, 'pkg/dist-base'), launcher: join(dir, 'pkg/bin/dagctl'), launcherRunsDist: false });
    assert.deepEqual(distPaths(join(dir, 'old/dist')), { dist: join(dir, 'old/dist'), launcher: null, launcherRunsDist: false });
  });

  it('plans launcher, node with the launcher settings, or plain node, and says which', () => {
    const env = { PATH: '/usr/bin' };
    const own = planDagctlCommand({ dist: '/p/dist', launcher: '/p/bin/dagctl', launcherRunsDist: true }, ['run', 'x.yaml'], ['--import=probe'], env, NODE);
    assert.deepEqual(own, { cmd: '/p/bin/dagctl', args: ['run', 'x.yaml'], env: { PATH: '/opt/node/bin:/usr/bin', NODE_OPTIONS: '--import=probe' }, via: 'bin/dagctl' });
    const base = planDagctlCommand({ dist: '/p/dist-base', launcher: '/p/bin/dagctl', launcherRunsDist: false }, ['run', 'x.yaml'], ['--import=probe'], env, NODE);
    assert.deepEqual(base, {
      cmd: NODE,
      args: ['--max-semi-space-size=4', '--import=probe', '/p/dist-base/cli/bin.js', 'run', 'x.yaml'],
      env: { MALLOC_MMAP_THRESHOLD_: '524288', DAGCTL_LAUNCHER_SET: 'MALLOC_MMAP_THRESHOLD_' },
      via: 'node cli/bin.js + launcher settings',
    });
    const old = planDagctlCommand({ dist: '/o/dist', launcher: null, launcherRunsDist: false }, ['run', 'x.yaml'], ['--import=probe'], env, NODE);
    assert.deepEqual(old, { cmd: NODE, args: ['--import=probe', '/o/dist/cli/bin.js', 'run', 'x.yaml'], env: {}, via: 'node cli/bin.js' });
  });

  it('makes the same settings as bin/dagctl', () => {
    const fake = join(dir, 'fake');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'node'), '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done\nprintf \'mmap=%s\\nset=%s\\n\' "${MALLOC_MMAP_THRESHOLD_-unset}" "${DAGCTL_LAUNCHER_SET-unset}"\n', { mode: 0o755 });
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('MALLOC_') || k === 'GLIBC_TUNABLES' || k === 'DAGCTL_PROCESS_TUNING' || k === 'NODE_OPTIONS' || k === 'DAGCTL_LAUNCHER_SET') delete base[k];
    const cases: Record<string, string>[] = [{}, { MALLOC_MMAP_THRESHOLD_: '1' }, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }, { DAGCTL_PROCESS_TUNING: 'false' }, { NODE_OPTIONS: '--max-semi-space-size=8' }, { NODE_OPTIONS: '--min-semi-space-size=1' }];
    for (const extra of cases) {
      for (const args of [['run', 'a.yaml'], ['worker'], ['serve'], ['ui'], []]) {
        const env = { ...base, ...extra, PATH: `${fake}:${process.env.PATH ?? ''}` };
        const out = spawnSync(join(REPO, 'bin/dagctl'), args, { env, encoding: 'utf8' }).stdout.split('\n');
        const s = launcherSettings(args, env);
        const label = `${JSON.stringify(extra)} ${args.join(' ')}`;
        assert.deepEqual(out.slice(0, s.nodeFlags.length), s.nodeFlags, label);
        assert.match(out[s.nodeFlags.length] ?? '', /\/dist\/cli\/bin\.js$/, label);
        assert.ok(out.includes(`mmap=${s.env.MALLOC_MMAP_THRESHOLD_ ?? extra.MALLOC_MMAP_THRESHOLD_ ?? 'unset'}`), label);
        assert.ok(out.includes(`set=${s.env.DAGCTL_LAUNCHER_SET ?? 'unset'}`), label);
      }
    }
  });
});
