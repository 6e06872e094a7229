/**
 * Storage URIs and openObjectStore / openSource: file URIs and plain paths resolve against the
 * base dir, s3:// and memory:// parse, bad URIs are STORAGE_URI_INVALID, single-file sources.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isDagctlError } from '../../core/errors.js';
import { LocalObjectStore } from '../../storage/local/store.js';
import { openObjectStore, openSource } from '../../storage/open.js';
import { parseStorageUri } from '../../storage/uri.js';
import { listSource } from '../../storage/dataset/source.js';
import { readLines } from '../../storage/dataset/read.js';
import { tempDir } from './helpers.js';

describe('storage URIs', () => {
  it('parses file, plain, s3 and memory URIs', () => {
    assert.deepEqual(parseStorageUri('file:///data/pv', '/base'), { scheme: 'file', path: '/data/pv' });
    assert.deepEqual(parseStorageUri('file://./rel/x', '/base'), { scheme: 'file', path: '/base/rel/x' });
    assert.deepEqual(parseStorageUri('rel/x', '/base'), { scheme: 'file', path: '/base/rel/x' });
    assert.deepEqual(parseStorageUri('/abs/x/', '/base'), { scheme: 'file', path: '/abs/x' });
    assert.deepEqual(parseStorageUri('s3://my-bucket/a/b/', '/base'), { scheme: 's3', bucket: 'my-bucket', prefix: 'a/b' });
    assert.deepEqual(parseStorageUri('memory://t1', '/base'), { scheme: 'memory', name: 't1' });
  });

  it('rejects unsupported or malformed URIs with STORAGE_URI_INVALID', () => {
    for (const u of ['', 'http://x/y', 'gs://b/p', 's3://B/x', 's3://', 'file://']) {
      assert.throws(() => parseStorageUri(u, '/base'), (e: unknown) => isDagctlError(e, 'STORAGE_URI_INVALID'), u);
    }
  });

  it('openObjectStore gives a local store rooted at the path; memory:// stores are shared by name', async () => {
    const dir = await tempDir('uri');
    try {
      const s = await openObjectStore('file://./ds', { baseDir: dir });
      assert.ok(s instanceof LocalObjectStore);
      await s.putIfAbsent('a', new Uint8Array([1]));
      assert.deepEqual([...(await fs.readFile(join(dir, 'ds', 'a')))], [1]);
      const m1 = await openObjectStore('memory://shared-test');
      await m1.putIfAbsent('k', new Uint8Array([2]));
      assert.deepEqual([...(await (await openObjectStore('memory://shared-test')).get('k'))], [2]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('openSource on a single text file lists just it and readLines reads its lines', async () => {
    const dir = await tempDir('src');
    try {
      await fs.writeFile(join(dir, 'access.log'), 'GET /a\r\nGET /b\n\nGET /c');
      const src = await openSource(join(dir, 'access.log'));
      assert.equal(src.only, 'access.log');
      const files = await listSource(src.store, { format: 'text', only: src.only ?? '' });
      assert.equal(files.length, 1);
      const lines: string[] = [];
      for await (const b of readLines(src.store, files, { batchSize: 2 })) lines.push(...b);
      assert.deepEqual(lines, ['GET /a', 'GET /b', '', 'GET /c']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
