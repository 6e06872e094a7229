/**
 * The environment variables bin/dagctl (the launcher) set for this process, not the user: it names
 * them in DAGCTL_LAUNCHER_SET (comma- or space-separated). glibc reads its malloc tunables when the
 * process starts, so cli/bin.ts removes them (and DAGCTL_LAUNCHER_SET) from process.env before
 * anything runs: the programs dagctl starts (the exec operator, `ui`'s resumed runs, `calibrate`)
 * get the user's environment. Only the variables the launcher can set are ever removed.
 */

/** What the launcher may set (bin/dagctl). */
export const LAUNCHER_VARS: readonly string[] = ['MALLOC_MMAP_THRESHOLD_'];

/** Removes from `env` the variables the launcher says it set, and its note of them (mutates `env`). */
export function clearLauncherSettings(env: Record<string, string | undefined>): void {
  const set = env.DAGCTL_LAUNCHER_SET;
  if (set === undefined) return;
  for (const name of set.split(/[\s,]+/)) if (LAUNCHER_VARS.includes(name)) delete env[name];
  delete env.DAGCTL_LAUNCHER_SET;
}
