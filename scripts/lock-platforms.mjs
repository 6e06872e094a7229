#!/usr/bin/env node
// Completes package-lock.json with the other platforms' optional binary packages (darwin, win32,
// linux-arm …) that npm leaves out when the registry mirror it installs from does not serve them:
// without those entries `npm ci` refuses the lock as "out of sync". Each added entry carries its
// os/cpu (and libc) constraints, so npm skips it on this platform and never tries to fetch it.
// Run after any `npm install` that rewrites the lock: `node scripts/lock-platforms.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pk = lock.packages;

function constraints(name) {
  const n = name.split('/').pop();
  const os = n.includes('darwin') ? 'darwin' : n.includes('win32') ? 'win32' : n.includes('freebsd') ? 'freebsd' : 'linux';
  const cpu = n.includes('arm64') ? 'arm64' : /-arm(-|$)/.test(n) ? 'arm' : n.includes('ia32') ? 'ia32' : 'x64';
  return { os: [os], cpu: [cpu], ...(n.includes('musl') ? { libc: ['musl'] } : {}) };
}

let added = 0;
for (const [key, meta] of Object.entries(pk)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    if (pk[depKey] !== undefined || !/(darwin|win32|linux|freebsd)/.test(dep)) continue;
    pk[depKey] = { version, ...(meta.dev ? { dev: true } : {}), optional: true, ...constraints(dep) };
    added++;
  }
  void key;
}
lock.packages = Object.fromEntries(Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: added ${added} platform entries`);
