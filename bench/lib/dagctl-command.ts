/**
 * How a benchmark starts dagctl's CLI: the way users do. A build `dist` whose package has the
 * launcher (bin/dagctl next to it: glibc malloc tunables, then exec node on dist/cli/bin.js) runs
 * through it, with this process's node first on PATH; an older build without one (a base dist
 * copied elsewhere) runs as `node <dist>/cli/bin.js`, as its users ran it. Node options for the
 * child (`--import` of a probe) go in NODE_OPTIONS with the launcher, as arguments without it.
 * Pure but for one existsSync.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface DagctlCommand {
  /** The program to spawn. */
  cmd: string;
  /** Its arguments: node options (without a launcher), cli/bin.js, then the CLI's. */
  args: string[];
  /** Variables to add to the child's environment. */
  env: Record<string, string>;
  /** What runs: 'bin/dagctl' (the launcher) or 'node cli/bin.js'. */
  via: 'bin/dagctl' | 'node cli/bin.js';
}

/** The launcher of build `dist`, if its package has one (`<dist>/../bin/dagctl`). */
export function launcherOf(dist: string): string | null {
  const l = resolve(dist, '../bin/dagctl');
  return existsSync(l) ? l : null;
}

/** The command that runs `dagctl <cliArgs>` of build `dist`, with `nodeOptions` for its node; `env` is the child's environment before these additions. */
export function dagctlCommand(dist: string, cliArgs: readonly string[], nodeOptions: readonly string[] = [], env: Record<string, string | undefined> = process.env): DagctlCommand {
  const launcher = launcherOf(dist);
  if (launcher === null) return { cmd: process.execPath, args: [...nodeOptions, resolve(dist, 'cli/bin.js'), ...cliArgs], env: {}, via: 'node cli/bin.js' };
  const extra: Record<string, string> = { PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}` };
  if (nodeOptions.length > 0) extra.NODE_OPTIONS = [env.NODE_OPTIONS ?? '', ...nodeOptions].filter((o) => o !== '').join(' ');
  return { cmd: launcher, args: [...cliArgs], env: extra, via: 'bin/dagctl' };
}
