/**
 * How a benchmark starts dagctl's CLI: the way users do. A build `dist` that is exactly its
 * package's launcher's own dist (bin/dagctl runs <package>/dist/cli/bin.js, compared by realpath)
 * runs through the launcher, with this process's node first on PATH. Any other dist (a base build
 * copied to dist-base, whose package's launcher would run the current build instead) runs as
 * `node <dist>/cli/bin.js`: with the launcher's settings applied directly (launcherSettings, the
 * same decisions as bin/dagctl) when its package has a launcher, with none when it has none (as
 * that build's users ran it). Node options for the child (`--import` of a probe) go in
 * NODE_OPTIONS with the launcher, as arguments without it. `via` says which of the three ran.
 * Decisions are pure (planDagctlCommand, launcherSettings); dagctlCommand adds the path look-ups.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface DagctlCommand {
  /** The program to spawn. */
  cmd: string;
  /** Its arguments: node options (without a launcher), cli/bin.js, then the CLI's. */
  args: string[];
  /** Variables to add to the child's environment. */
  env: Record<string, string>;
  /** What runs: the launcher, node with the launcher's settings made here, or plain node. */
  via: 'bin/dagctl' | 'node cli/bin.js + launcher settings' | 'node cli/bin.js';
}

/** What a build's folder is, relative to a launcher. */
export interface DistPaths {
  /** The build folder as given. */
  dist: string;
  /** `<dist>/../bin/dagctl` when it exists (the package of `dist` has a launcher), else null. */
  launcher: string | null;
  /** Whether realpath(dist) is the folder that launcher runs (realpath of <launcher's package>/dist). */
  launcherRunsDist: boolean;
}

/** The launcher's settings (bin/dagctl, same decisions) for `dagctl <cliArgs>` under `env` (pure). */
export function launcherSettings(cliArgs: readonly string[], env: Record<string, string | undefined>): { env: Record<string, string>; nodeFlags: string[] } {
  const out = { env: {} as Record<string, string>, nodeFlags: [] as string[] };
  const tuning = env.DAGCTL_PROCESS_TUNING;
  if (tuning === 'off' || tuning === '0' || tuning === 'false') return out;
  if (!(env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.') && env.MALLOC_MMAP_THRESHOLD_ === undefined) {
    out.env.MALLOC_MMAP_THRESHOLD_ = '524288';
    out.env.DAGCTL_LAUNCHER_SET = 'MALLOC_MMAP_THRESHOLD_';
  }
  const cmd = cliArgs[0];
  if ((cmd === 'run' || cmd === 'worker') && !(env.NODE_OPTIONS ?? '').includes('--max-semi-space-size')) out.nodeFlags.push('--max-semi-space-size=4');
  return out;
}

/** The command that runs `dagctl <cliArgs>` of the build at `paths`, with `nodeOptions` for its node; `env` is the child's environment before these additions (pure). */
export function planDagctlCommand(paths: DistPaths, cliArgs: readonly string[], nodeOptions: readonly string[], env: Record<string, string | undefined>, execPath: string): DagctlCommand {
  const script = resolve(paths.dist, 'cli/bin.js');
  if (paths.launcher === null) return { cmd: execPath, args: [...nodeOptions, script, ...cliArgs], env: {}, via: 'node cli/bin.js' };
  if (!paths.launcherRunsDist) {
    const s = launcherSettings(cliArgs, env);
    return { cmd: execPath, args: [...s.nodeFlags, ...nodeOptions, script, ...cliArgs], env: s.env, via: 'node cli/bin.js + launcher settings' };
  }
  const extra: Record<string, string> = { PATH: `${dirname(execPath)}:${env.PATH ?? ''}` };
  if (nodeOptions.length > 0) extra.NODE_OPTIONS = [env.NODE_OPTIONS ?? '', ...nodeOptions].filter((o) => o !== '').join(' ');
  return { cmd: paths.launcher, args: [...cliArgs], env: extra, via: 'bin/dagctl' };
}

const real = (p: string): string | null => {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
};

/** Where build `dist` stands relative to its package's launcher (file-system look-ups). */
export function distPaths(dist: string): DistPaths {
  const l = resolve(dist, '../bin/dagctl');
  if (!existsSync(l)) return { dist, launcher: null, launcherRunsDist: false };
  const launcherReal = real(l);
  const runs = launcherReal === null ? null : real(resolve(dirname(launcherReal), '../dist'));
  const d = real(dist);
  return { dist, launcher: l, launcherRunsDist: runs !== null && d !== null && runs === d };
}

/** The command that runs `dagctl <cliArgs>` of build `dist`, with `nodeOptions` for its node; `env` is the child's environment before these additions. */
export function dagctlCommand(dist: string, cliArgs: readonly string[], nodeOptions: readonly string[] = [], env: Record<string, string | undefined> = process.env): DagctlCommand {
  return planDagctlCommand(distPaths(dist), cliArgs, nodeOptions, env, process.execPath);
}
