#!/usr/bin/env node
/**
 * The dagctl executable: wires process streams and signals into cli/main.ts. The only file that
 * calls process.exit.
 */
import { main } from './main.js';

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
