/**
 * ObjectStore on the local filesystem, rooted at a directory (created on first write).
 *
 * - putIfAbsent: write `.tmp-<random>` in the target folder, fsync, then link() it to the final
 *   name — link fails with EEXIST atomically, so a key is never overwritten and never visible
 *   half-written. On EEXIST, identical bytes succeed (a retried write), different bytes throw
 *   STORAGE_CONFLICT.
 * - putIfMatch (the small `_CURRENT` pointer): under an O_EXCL lock file `.<name>.lock` next to the
 *   key (storage/local/lock.ts, with stale-lock recovery), compare the current etag with the
 *   expected one, then write a temp file and rename() it over the key (atomic replace). Correct
 *   across processes on one host / one POSIX filesystem.
 * - etag: sha256 of the content for objects up to SMALL_OBJECT_BYTES (pointers, markers,
 *   manifests: immune to inode reuse with coarse mtimes), else `<size>-<mtime ns>-<inode>`
 *   (large data files are create-only, so that tag never needs to detect a replace).
 * - get (and getRange: a byte range, for a shuffle bucket inside a shared object) reads
 *   synchronously on worker threads (they exist to block; see get), asynchronously on the main thread.
 * - changeToken(folder): the folder's mtime and inode — an entry added to a folder updates its
 *   mtime. Filesystems stamp times from a coarse clock (a jiffy, up to seconds on some), so two
 *   adds within one tick can leave the same mtime; as git does with "racily clean" index entries,
 *   a folder whose mtime is within RACY_MS of now gets no token (null: the caller lists), so a
 *   token only vouches for an mtime that later adds cannot repeat. Assumes the clock does not step
 *   back by more than RACY_MS.
 * - list/listDirs skip every path segment starting with '.' (temps, locks); delete removes empty
 *   parent folders up to the root, so listDirs matches object-store semantics (no empty folders).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, promises as fs, readFileSync, readSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { sameBytes } from '../memory/store.js';
import type { ObjectInfo, ObjectStore } from '../types.js';
import { checkKey, checkPrefix } from '../uri.js';
import { isCode, type LockOptions, withFileLock } from './lock.js';

export const SMALL_OBJECT_BYTES = 64 * 1024;
/** A folder modified less than this long ago gets no change token (module comment). */
export const RACY_MS = 2000;

/** The change token of a folder with this mtime at `now`: null while racy (module comment). */
export function folderToken(mtimeMs: number, id: string, now: number, racyMs = RACY_MS): string | null {
  return now - mtimeMs < racyMs ? null : id;
}

export class LocalObjectStore implements ObjectStore {
  readonly rootUri: string;

  constructor(
    readonly root: string,
    private readonly lockOptions: LockOptions = {},
  ) {
    this.rootUri = pathToFileURL(root).href;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash < 0 ? '' : prefix.slice(0, slash + 1);
    const keys: string[] = [];
    await this.walk(baseKey, prefix, keys);
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out: ObjectInfo[] = [];
    for (let i = 0; i < keys.length; i += 32) {
      const infos = await Promise.all(keys.slice(i, i + 32).map((k) => this.head(k)));
      for (const x of infos) if (x !== null) out.push(x); // deleted while listing: skip
    }
    return out;
  }

  private async walk(dirKey: string, prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dirKey === '' ? this.root : this.path(dirKey.slice(0, -1)), { withFileTypes: true });
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return;
      throw io(e, dirKey);
    }
    for (const d of entries) {
      if (d.name.startsWith('.')) continue;
      const key = dirKey + d.name;
      if (d.isDirectory()) {
        // Descend only where keys below can still match the prefix.
        if ((key + '/').startsWith(prefix) || prefix.startsWith(key + '/')) await this.walk(key + '/', prefix, out);
      } else if (d.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  async changeToken(folder: string): Promise<string | null> {
    checkPrefix(folder);
    if (!folder.endsWith('/')) throw new DagctlError('STORAGE_URI_INVALID', `changeToken folder must end with '/': "${folder}"`, { folder });
    let st;
    try {
      st = await fs.stat(this.path(folder.slice(0, -1)), { bigint: true });
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return 'absent';
      throw io(e, folder);
    }
    return folderToken(Number(st.mtimeMs), `${st.mtimeNs}-${st.ino}`, Date.now());
  }

  async listDirs(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    if (prefix !== '' && !prefix.endsWith('/')) throw new DagctlError('STORAGE_URI_INVALID', `listDirs prefix must end with '/': "${prefix}"`, { prefix });
    let entries;
    try {
      entries = await fs.readdir(prefix === '' ? this.root : this.path(prefix.slice(0, -1)), { withFileTypes: true });
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return [];
      throw io(e, prefix);
    }
    return entries
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => `${prefix}${d.name}/`)
      .sort();
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkKey(key);
    const p = this.path(key);
    try {
      const st = await fs.stat(p, { bigint: true });
      if (!st.isFile()) return null;
      const size = Number(st.size);
      if (size <= SMALL_OBJECT_BYTES) {
        const bytes = await fs.readFile(p);
        return { key, size: bytes.byteLength, etag: sha256Hex(bytes), lastModified: Number(st.mtimeMs) };
      }
      return { key, size, etag: `${st.size}-${st.mtimeNs}-${st.ino}`, lastModified: Number(st.mtimeMs) };
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return null;
      throw io(e, key);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    checkKey(key);
    try {
      // A worker thread (embedded executor, BullMQ worker) exists to block: there a synchronous
      // read is one call, where the promise API makes a round trip through the libuv pool per 512 KiB
      // chunk, queued behind the process's other I/O. Measured in partial-recompute's fused scan
      // (16 master files, 16 MB): ~50 ms async vs ~8 ms sync in the task runner. The main thread
      // (CLI, scheduler) keeps its event loop free.
      const b = isMainThread ? await fs.readFile(this.path(key)) : readFileSync(this.path(key));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR') || isCode(e, 'EISDIR')) {
        throw new DagctlError('STORAGE_NOT_FOUND', `no object ${key} in ${this.rootUri}`, { key, root: this.rootUri });
      }
      throw io(e, key);
    }
  }

  /** `length` bytes from `offset` (fewer at the end of the file); synchronous on worker threads, as get. */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    checkKey(key);
    const out = new Uint8Array(length);
    let got = 0;
    try {
      if (isMainThread) {
        const fh = await fs.open(this.path(key), 'r');
        try {
          while (got < length) {
            const n = (await fh.read(out, got, length - got, offset + got)).bytesRead;
            if (n === 0) break;
            got += n;
          }
        } finally {
          await fh.close();
        }
      } else {
        const fd = openSync(this.path(key), 'r');
        try {
          while (got < length) {
            const n = readSync(fd, out, got, length - got, offset + got);
            if (n === 0) break;
            got += n;
          }
        } finally {
          closeSync(fd);
        }
      }
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR') || isCode(e, 'EISDIR')) {
        throw new DagctlError('STORAGE_NOT_FOUND', `no object ${key} in ${this.rootUri}`, { key, root: this.rootUri });
      }
      throw io(e, key);
    }
    return got === length ? out : out.subarray(0, got);
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<ObjectInfo> {
    checkKey(key);
    const target = this.path(key);
    const tmp = await this.writeTemp(target, body);
    try {
      await fs.link(tmp, target);
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw io(e, key);
      const existing = await this.get(key);
      if (!sameBytes(existing, body)) throw new DagctlError('STORAGE_CONFLICT', `object ${key} exists with different content`, { key, root: this.rootUri });
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return (await this.head(key)) ?? { key, size: body.byteLength, etag: sha256Hex(body) };
  }

  async putIfMatch(key: string, body: Uint8Array, expectedEtag: string | null): Promise<ObjectInfo> {
    checkKey(key);
    const target = this.path(key);
    await this.mkdirs(dirname(target));
    const lock = join(dirname(target), `.${key.split('/').pop() ?? ''}.lock`);
    return withFileLock(
      lock,
      async () => {
        const current = (await this.head(key))?.etag ?? null;
        if (current !== expectedEtag) {
          throw new DagctlError('STORAGE_PRECONDITION_FAILED', `object ${key} changed (expected ${String(expectedEtag)}, found ${String(current)})`, { key, expectedEtag, currentEtag: current });
        }
        const tmp = await this.writeTemp(target, body);
        try {
          await fs.rename(tmp, target);
        } catch (e) {
          await fs.rm(tmp, { force: true });
          throw io(e, key);
        }
        const after = await this.head(key);
        if (after === null) throw new DagctlError('STORAGE_IO', `object ${key} vanished after write`, { key });
        return after;
      },
      this.lockOptions,
    );
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await fs.rm(this.path(key), { force: true });
    } catch (e) {
      throw io(e, key);
    }
    // Remove now-empty parents (never the root): object stores have no empty folders.
    let dir = dirname(this.path(key));
    while (dir.length > this.root.length && dir.startsWith(this.root + sep)) {
      try {
        await fs.rmdir(dir);
      } catch {
        break; // not empty (or already gone / raced with a writer): stop
      }
      dir = dirname(dir);
    }
  }

  private async writeTemp(target: string, body: Uint8Array): Promise<string> {
    const dir = dirname(target);
    for (let attempt = 0; ; attempt++) {
      await this.mkdirs(dir);
      const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
      let fh: fs.FileHandle | undefined;
      try {
        fh = await fs.open(tmp, 'wx');
        await fh.writeFile(body);
        await fh.sync(); // durable before it becomes visible under its final name
        return tmp;
      } catch (e) {
        await fh?.close();
        fh = undefined;
        await fs.rm(tmp, { force: true });
        // A concurrent delete() may rmdir the (empty) folder between mkdir and open: retry.
        if (isCode(e, 'ENOENT') && attempt < 3) continue;
        throw io(e, target);
      } finally {
        await fh?.close();
      }
    }
  }

  private async mkdirs(dir: string): Promise<void> {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (e) {
      throw io(e, dir);
    }
  }
}

function io(e: unknown, key: string): DagctlError {
  if (isDagctlError(e)) return e;
  return new DagctlError('STORAGE_IO', `filesystem error on ${key}: ${e instanceof Error ? e.message : String(e)}`, { key }, { cause: e });
}
