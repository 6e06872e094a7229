/**
 * Object stores by URI, opened once per process (thread) and reused across instances.
 */
import { openObjectStore } from '../../storage/open.js';
import type { ObjectStore } from '../../storage/types.js';

const stores = new Map<string, Promise<ObjectStore>>();

export function storeFor(uri: string): Promise<ObjectStore> {
  let s = stores.get(uri);
  if (s === undefined) {
    s = openObjectStore(uri);
    stores.set(uri, s);
    s.catch(() => stores.delete(uri));
  }
  return s;
}

export function joinUri(uri: string, ...parts: string[]): string {
  return [uri.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].filter((p) => p !== '').join('/');
}
