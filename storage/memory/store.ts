/**
 * In-memory ObjectStore for unit tests and `memory://name` URIs. Semantics match the other stores
 * (test/conformance/object-store.ts): create-only putIfAbsent, compare-and-swap putIfMatch, sorted
 * list/listDirs. etag = sha256 of the content. Every operation yields to the event loop once before
 * acting, so concurrent callers interleave as they would against real storage; each check-and-set
 * itself runs in one synchronous step, hence atomically.
 */
import { DagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import type { ObjectInfo, ObjectStore } from '../types.js';
import { checkKey, checkPrefix } from '../uri.js';

interface Entry {
  bytes: Uint8Array;
  etag: string;
  at: number;
}

export class MemoryObjectStore implements ObjectStore {
  readonly rootUri: string;
  private readonly objects = new Map<string, Entry>();
  /** Bumped by every write and delete: the change token of every folder (never racy). */
  private version = 0;

  constructor(name = 'anonymous') {
    this.rootUri = `memory://${name}`;
  }

  async changeToken(folder: string): Promise<string | null> {
    checkPrefix(folder);
    await tick();
    return String(this.version);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    await tick();
    const out: ObjectInfo[] = [];
    for (const [key, e] of this.objects) if (key.startsWith(prefix)) out.push(info(key, e));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listDirs(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    if (prefix !== '' && !prefix.endsWith('/')) throw new DagctlError('STORAGE_URI_INVALID', `listDirs prefix must end with '/': "${prefix}"`, { prefix });
    await tick();
    const dirs = new Set<string>();
    for (const key of this.objects.keys()) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      if (slash >= 0) dirs.add(key.slice(0, slash + 1));
    }
    return [...dirs].sort();
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkKey(key);
    await tick();
    const e = this.objects.get(key);
    return e === undefined ? null : info(key, e);
  }

  async get(key: string): Promise<Uint8Array> {
    checkKey(key);
    await tick();
    const e = this.objects.get(key);
    if (e === undefined) throw new DagctlError('STORAGE_NOT_FOUND', `no object ${key} in ${this.rootUri}`, { key, root: this.rootUri });
    return e.bytes.slice();
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.get(key)).subarray(offset, offset + length);
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<ObjectInfo> {
    checkKey(key);
    await tick();
    const e = this.objects.get(key);
    if (e !== undefined) {
      if (sameBytes(e.bytes, body)) return info(key, e);
      throw new DagctlError('STORAGE_CONFLICT', `object ${key} exists with different content`, { key, root: this.rootUri });
    }
    const created = { bytes: body.slice(), etag: sha256Hex(body), at: Date.now() };
    this.objects.set(key, created);
    this.version++;
    return info(key, created);
  }

  async putIfMatch(key: string, body: Uint8Array, expectedEtag: string | null): Promise<ObjectInfo> {
    checkKey(key);
    await tick();
    const current = this.objects.get(key)?.etag ?? null;
    if (current !== expectedEtag) {
      throw new DagctlError('STORAGE_PRECONDITION_FAILED', `object ${key} changed (expected ${String(expectedEtag)}, found ${String(current)})`, { key, expectedEtag, currentEtag: current });
    }
    const next = { bytes: body.slice(), etag: sha256Hex(body), at: Date.now() };
    this.objects.set(key, next);
    this.version++;
    return info(key, next);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await tick();
    this.objects.delete(key);
    this.version++;
  }
}

/** Named memory stores shared within the process (openObjectStore('memory://name')). */
const named = new Map<string, MemoryObjectStore>();
export function namedMemoryStore(name: string): MemoryObjectStore {
  let s = named.get(name);
  if (s === undefined) {
    s = new MemoryObjectStore(name);
    named.set(name, s);
  }
  return s;
}

function info(key: string, e: Entry): ObjectInfo {
  return { key, size: e.bytes.byteLength, etag: e.etag, lastModified: e.at };
}

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
