/**
 * The on-disk transpile cache of operator modules (operators/modules/transpile.ts): a TypeScript
 * source is transpiled once per machine (keyed by its content), a hit returns what the compiler
 * produced, an edit is a new key, and a syntax error is never cached.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { transpile } from '../../operators/modules/transpile.js';

describe('operator module transpile cache', () => {
  let dir = '';
  let saved: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dagctl-ts-cache-'));
    saved = process.env.DAGCTL_BUNDLE_CACHE;
    process.env.DAGCTL_BUNDLE_CACHE = dir;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.DAGCTL_BUNDLE_CACHE;
    else process.env.DAGCTL_BUNDLE_CACHE = saved;
    await rm(dir, { recursive: true, force: true });
  });

  const entries = async (): Promise<string[]> => (await readdir(path.join(dir, 'ts')).catch(() => [])).filter((n) => n.endsWith('.js'));

  it('writes one entry per source, reads it back on a hit, and keys an edit apart', async () => {
    const src = 'enum K { A, B }\nexport const k: K = K.B;\n';
    const first = transpile(src, 'ops/a.ts');
    assert.match(first, /K\[K\["B"\] = 1\] = "B"/);
    const [entry, ...more] = await entries();
    assert.equal(more.length, 0);
    assert.equal(await readFile(path.join(dir, 'ts', entry!), 'utf8'), first);
    // A hit is read from the cache: an entry changed on disk is what comes back (no recompile).
    await writeFile(path.join(dir, 'ts', entry!), 'export const fromCache = 1;\n');
    assert.equal(transpile(src, 'ops/other-name.ts'), 'export const fromCache = 1;\n');
    transpile(src.replace('K.B', 'K.A'), 'ops/a.ts');
    assert.equal((await entries()).length, 2);
  });

  it('never caches a syntax error, and leaves JavaScript untouched', async () => {
    assert.throws(() => transpile('export const x: = 1;\n', 'ops/bad.ts'), (e: Error) => e instanceof SyntaxError && e.message.startsWith('ops/bad.ts:1:'));
    assert.deepEqual(await entries(), []);
    assert.equal(transpile('export const y = 2;\n', 'ops/y.js'), 'export const y = 2;\n');
    assert.deepEqual(await entries(), []);
  });
});
