#!/usr/bin/env node
/**
 * The dagctl executable: wires process streams and signals into cli/main.ts. The only file that
 * calls process.exit.
 */
import { clearLauncherSettings } from './launcher-env.js';
import { main } from './main.js';

// Before anything can start a program: what bin/dagctl set for this process only (cli/launcher-env.ts).
clearLauncherSettings(process.env);

// A reader that stops early (`dagctl status --all | head`) closes the pipe: stop quietly, as Unix
// tools do, instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const ac = new AbortController();
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    ac.abort();
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  interrupted: ac.signal,
});
process.exitCode = code;
// Pools and connections are closed by the commands; exit promptly even if a handle lingers.
setTimeout(() => process.exit(code), 200).unref();
