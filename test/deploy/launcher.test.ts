/**
 * The `dagctl` command, bin/dagctl (package.json "bin", the image's entrypoint): a POSIX sh
 * launcher that sets glibc's malloc tunables and execs node on dist/cli/bin.js. Checked with a
 * stand-in `node` first on PATH (it prints what it was given and echoes stdin): the arguments,
 * stdin, stdout and exit status pass through byte for byte, node replaces the shell (same pid), the
 * malloc tunable and the main thread's young generation are set unless the caller set them or turned
 * tuning off, and a symlinked launcher (npm's
 * node_modules/.bin, the image's /usr/local/bin) finds its dist/. Then with the real node: the same
 * output and exit status as `node dist/cli/bin.js`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './k8s-tools.js';

const LAUNCHER = join(REPO, 'bin/dagctl');
const BIN_JS = `${REPO}bin/../dist/cli/bin.js`;
/** The main thread's young generation (node option before the script). */
const HEAP = '--max-semi-space-size=4';

/** A stand-in node: pid, each argument NUL-terminated, the tunables it saw, then stdin; exits $FAKE_EXIT. */
const FAKE_NODE = `#!/bin/sh
printf 'pid=%s\\n' "$$"
for a in "$@"; do printf '%s\\0' "$a"; done
printf '\\nmmap=%s\\n' "\${MALLOC_MMAP_THRESHOLD_-unset}"
printf 'set=%s\\n' "\${DAGCTL_LAUNCHER_SET-unset}"
cat
exit "\${FAKE_EXIT:-0}"
`;

interface Seen { pid: number; args: string[]; mmap: string; launcherSet: string; stdin: Buffer; status: number | null; childPid: number }

describe('bin/dagctl launcher', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dagctl-launcher-'));
    mkdirSync(join(dir, 'fake'));
    writeFileSync(join(dir, 'fake/node'), FAKE_NODE, { mode: 0o755 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `cmd args` with the stand-in node first on PATH and `env` over a copy of this process's (the MALLOC_ variables, GLIBC_TUNABLES, NODE_OPTIONS and DAGCTL_PROCESS_TUNING cleared). */
  const viaFake = (cmd: string, args: string[], env: Record<string, string> = {}, input: Buffer = Buffer.alloc(0)): Seen => {
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('MALLOC_') || k === 'GLIBC_TUNABLES' || k === 'DAGCTL_PROCESS_TUNING' || k === 'NODE_OPTIONS' || k === 'DAGCTL_LAUNCHER_SET') delete base[k];
    const r = spawnSync(cmd, args, { input, maxBuffer: 16 << 20, env: { ...base, PATH: `${join(dir, 'fake')}:${process.env.PATH ?? ''}`, ...env } });
    assert.equal(r.error, undefined);
    const out = r.stdout;
    const nl = out.indexOf(10);
    const pid = Number(/^pid=(\d+)$/.exec(out.subarray(0, nl).toString())?.[1]);
    const mm = out.indexOf('\nmmap=', nl + 1);
    const argBytes = out.subarray(nl + 1, mm);
    const args0 = argBytes.toString('utf8').split('\0');
    assert.equal(args0.pop(), '', 'arguments end with a NUL');
    const end = out.indexOf(10, mm + 1);
    const end2 = out.indexOf(10, end + 1);
    return { pid, args: args0, mmap: out.subarray(mm + 6, end).toString(), launcherSet: out.subarray(end + 5, end2).toString(), stdin: out.subarray(end2 + 1), status: r.status, childPid: r.pid ?? -1 };
  };

  it('passes every argument unchanged, after dist/cli/bin.js; node replaces the shell (same pid)', () => {
    const args = ['run', 'a b', '', '  lead', '"q"', "it's", '$HOME', '*', '-x', '--', 'line\nbreak', 'é✓', '\\n'];
    const seen = viaFake(LAUNCHER, args);
    assert.equal(seen.status, 0);
    assert.deepEqual(seen.args, [HEAP, BIN_JS, ...args]);
    assert.equal(seen.pid, seen.childPid, 'exec: no shell stays between the caller and node');
  });

  it('passes stdin to node and node\'s stdout back, byte for byte', () => {
    const input = Buffer.from([0, 1, 2, 255, 10, 13, 0x41, 0xe2, 0x9c, 0x93]);
    assert.deepEqual(viaFake(LAUNCHER, ['x'], {}, input).stdin, input);
    const big = Buffer.alloc(1 << 20, 7);
    assert.deepEqual(viaFake(LAUNCHER, [], {}, big).stdin, big);
  });

  it('returns node\'s exit status', () => {
    for (const code of [0, 1, 2, 3, 130]) assert.equal(viaFake(LAUNCHER, ['status'], { FAKE_EXIT: String(code) }).status, code);
  });

  it('sets MALLOC_MMAP_THRESHOLD_ unless the caller set it, set GLIBC_TUNABLES for malloc, or DAGCTL_PROCESS_TUNING=off', () => {
    assert.equal(viaFake(LAUNCHER, []).mmap, '524288');
    assert.equal(viaFake(LAUNCHER, [], { MALLOC_MMAP_THRESHOLD_: '4194304' }).mmap, '4194304');
    for (const off of ['off', '0', 'false']) assert.equal(viaFake(LAUNCHER, ['run'], { DAGCTL_PROCESS_TUNING: off }).mmap, 'unset', off);
    assert.equal(viaFake(LAUNCHER, [], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }).mmap, 'unset');
    assert.equal(viaFake(LAUNCHER, [], { GLIBC_TUNABLES: 'glibc.pthread.rseq=0', DAGCTL_PROCESS_TUNING: 'on' }).mmap, '524288');
  });

  it('names in DAGCTL_LAUNCHER_SET only what it set itself, never a caller\'s note', () => {
    assert.equal(viaFake(LAUNCHER, ['run']).launcherSet, 'MALLOC_MMAP_THRESHOLD_');
    assert.equal(viaFake(LAUNCHER, ['run'], { MALLOC_MMAP_THRESHOLD_: '4194304' }).launcherSet, 'unset');
    assert.equal(viaFake(LAUNCHER, ['run'], { MALLOC_MMAP_THRESHOLD_: '4194304', DAGCTL_LAUNCHER_SET: 'MALLOC_MMAP_THRESHOLD_' }).launcherSet, 'unset');
    assert.equal(viaFake(LAUNCHER, ['run'], { DAGCTL_PROCESS_TUNING: 'off' }).launcherSet, 'unset');
  });

  it('gives node --max-semi-space-size for run and worker only, unless NODE_OPTIONS names --max-semi-space-size or tuning is off', () => {
    assert.deepEqual(viaFake(LAUNCHER, ['run', 'a.yaml']).args, [HEAP, BIN_JS, 'run', 'a.yaml']);
    assert.deepEqual(viaFake(LAUNCHER, ['worker']).args, [HEAP, BIN_JS, 'worker']);
    // Request work on the main thread (serve, ui) and everything else: V8's default young generation.
    for (const cmd of ['serve', 'ui', 'status', 'gen', 'x-run', '--version']) assert.deepEqual(viaFake(LAUNCHER, [cmd, 'run']).args, [BIN_JS, cmd, 'run'], cmd);
    assert.deepEqual(viaFake(LAUNCHER, []).args, [BIN_JS]);
    assert.deepEqual(viaFake(LAUNCHER, ['run'], { NODE_OPTIONS: '--max-semi-space-size=16' }).args, [BIN_JS, 'run']);
    // Another flag with semi-space-size in its name is not the caller's choice of this one.
    assert.deepEqual(viaFake(LAUNCHER, ['run'], { NODE_OPTIONS: '--min-semi-space-size=1' }).args, [HEAP, BIN_JS, 'run']);
    for (const off of ['off', '0', 'false']) assert.deepEqual(viaFake(LAUNCHER, ['run'], { DAGCTL_PROCESS_TUNING: off }).args, [BIN_JS, 'run'], off);
    assert.deepEqual(viaFake(LAUNCHER, ['run'], { DAGCTL_PROCESS_TUNING: 'on' }).args, [HEAP, BIN_JS, 'run']);
  });

  it('finds dist/ through symlinks (absolute, relative, chained), as npm and the image link it', () => {
    const links = join(dir, 'links');
    mkdirSync(join(links, 'sub'), { recursive: true });
    symlinkSync(LAUNCHER, join(links, 'abs'));
    symlinkSync('abs', join(links, 'rel'));
    symlinkSync('../rel', join(links, 'sub/chained'));
    for (const l of ['abs', 'rel', 'sub/chained']) assert.equal(viaFake(join(links, l), ['run']).args[1], BIN_JS, l);
    // Through PATH (no slash in how it was named).
    assert.equal(viaFake('rel', ['run'], { PATH: `${join(dir, 'fake')}:${links}:${process.env.PATH ?? ''}` }).args[1], BIN_JS);
  });

  it('with the real node: the same stdout, stderr and exit status as node dist/cli/bin.js', function () {
    this.timeout(60_000);
    for (const args of [['--version'], ['no-such-command'], ['validate', join(dir, 'missing file.yaml')]]) {
      const direct = spawnSync(process.execPath, [join(REPO, 'dist/cli/bin.js'), ...args], { encoding: 'utf8' });
      const viaLauncher = spawnSync(LAUNCHER, args, { encoding: 'utf8', env: { ...process.env, PATH: `${process.execPath.replace(/\/[^/]*$/, '')}:${process.env.PATH ?? ''}` } });
      assert.equal(viaLauncher.status, direct.status, args.join(' '));
      assert.equal(viaLauncher.stdout, direct.stdout, args.join(' '));
      assert.equal(viaLauncher.stderr, direct.stderr, args.join(' '));
    }
  });

  it('with the real node: a program dagctl starts does not get the launcher\'s malloc setting, but keeps the user\'s', function () {
    this.timeout(60_000);
    // A probe loaded by node before cli/bin.js: when dagctl exits, it starts a child and reports what the child saw.
    const probe = join(dir, 'child-env.mjs');
    writeFileSync(probe, "import { execFileSync } from 'node:child_process';\nprocess.on('exit', () => { process.stderr.write('child:' + execFileSync('sh', ['-c', 'echo ${MALLOC_MMAP_THRESHOLD_-unset} ${DAGCTL_LAUNCHER_SET-unset}'], { encoding: 'utf8' })); });\n");
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('MALLOC_') || k === 'GLIBC_TUNABLES' || k === 'DAGCTL_PROCESS_TUNING' || k === 'DAGCTL_LAUNCHER_SET') delete base[k];
    const run = (extra: Record<string, string>): string => {
      const r = spawnSync(LAUNCHER, ['--version'], { encoding: 'utf8', env: { ...base, ...extra, NODE_OPTIONS: `--import=${probe}`, PATH: `${process.execPath.replace(/\/[^/]*$/, '')}:${process.env.PATH ?? ''}` } });
      assert.equal(r.status, 0, r.stderr);
      return /child:(.*)/.exec(r.stderr)?.[1] ?? '';
    };
    assert.equal(run({}), 'unset unset');
    assert.equal(run({ MALLOC_MMAP_THRESHOLD_: '4194304' }), '4194304 unset');
    // A caller's DAGCTL_LAUNCHER_SET does not make dagctl drop the caller's own setting.
    assert.equal(run({ MALLOC_MMAP_THRESHOLD_: '4194304', DAGCTL_LAUNCHER_SET: 'MALLOC_MMAP_THRESHOLD_' }), '4194304 unset');
  });
});
