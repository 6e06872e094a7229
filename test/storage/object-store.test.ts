/**
 * Runs the ObjectStore conformance suite against the memory and local stores, plus local-only
 * checks: temp files never visible, cross-process CAS, stale-lock recovery, getRange on a worker
 * thread (its synchronous read path).
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LocalObjectStore } from '../../storage/local/store.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { objectStoreConformance } from '../conformance/object-store.js';
import { tempDir } from './helpers.js';

objectStoreConformance('memory', async () => ({ store: new MemoryObjectStore(), cleanup: async () => undefined }));
objectStoreConformance('local', async () => {
  const dir = await tempDir('os');
  return { store: new LocalObjectStore(join(dir, 'root')), cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});

describe('LocalObjectStore specifics', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('local');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('hides temp and lock files from list and listDirs', async () => {
    const s = new LocalObjectStore(dir);
    await s.putIfAbsent('a/x', new Uint8Array([1]));
    await fs.writeFile(join(dir, 'a', '.tmp-123'), 'partial');
    await fs.mkdir(join(dir, '.hidden'));
    await fs.writeFile(join(dir, '.hidden', 'f'), 'x');
    assert.deepEqual((await s.list('')).map((o) => o.key), ['a/x']);
    assert.deepEqual(await s.listDirs(''), ['a/']);
  });

  it('recovers a stale lock left by a dead process', async () => {
    const s = new LocalObjectStore(dir, { staleMs: 60_000, timeoutMs: 5_000 });
    const first = await s.putIfMatch('_CURRENT', new Uint8Array([1]), null);
    await fs.writeFile(join(dir, '._CURRENT.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), token: 'dead', at: Date.now() }));
    await s.putIfMatch('_CURRENT', new Uint8Array([2]), first.etag);
    assert.deepEqual([...(await s.get('_CURRENT'))], [2]);
  });

  it('times out on a live lock with STORAGE_LOCK_TIMEOUT', async () => {
    const s = new LocalObjectStore(dir, { staleMs: 60_000, timeoutMs: 200 });
    await fs.writeFile(join(dir, '._CURRENT.lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), token: 'live', at: Date.now() }));
    await assert.rejects(s.putIfMatch('_CURRENT', new Uint8Array([1]), null), (e: unknown) => (e as { code?: string }).code === 'STORAGE_LOCK_TIMEOUT');
  });

  it('getRange on a worker thread (synchronous reads) gives what the main thread gives', async () => {
    const s = new LocalObjectStore(dir);
    const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);
    await s.putIfAbsent('r/a.bin', body);
    const ranges: Array<[number, number]> = [[0, 1000], [1, 7], [123, 877], [0, 0], [1000, 8], [5000, 8], [990, 64]];
    const run = (key: string): Promise<Array<number[] | string>> => new Promise((res, rej) => {
      const w = new Worker(fileURLToPath(new URL('./range-worker.js', import.meta.url)), { workerData: { dir, key, ranges } });
      w.once('message', res);
      w.once('error', rej);
    });
    assert.deepEqual(await run('r/a.bin'), ranges.map(([off, len]) => [...body.subarray(off, off + len)]));
    assert.deepEqual(await run('r/absent.bin'), ranges.map(() => 'STORAGE_NOT_FOUND'));
  });

  it('CAS is exclusive across processes: 4 processes × 25 increments lose no update', async () => {
    const worker = fileURLToPath(new URL('./cas-worker.js', import.meta.url));
    const procs = Array.from({ length: 4 }, () => fork(worker, [dir, '25'], { stdio: 'inherit' }));
    const codes = await Promise.all(procs.map((p) => new Promise<number | null>((r) => p.on('exit', r))));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const s = new LocalObjectStore(dir);
    assert.equal(new TextDecoder().decode(await s.get('counter')), '100');
  });
});
