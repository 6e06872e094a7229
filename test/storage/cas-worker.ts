/**
 * Child process for the cross-process CAS test: increments the number in `counter` N times with
 * read → putIfMatch(etag) → retry on STORAGE_PRECONDITION_FAILED. Lost updates would show as a
 * final count below processes × N.
 */
import { isDagctlError } from '../../core/errors.js';
import { LocalObjectStore } from '../../storage/local/store.js';

const [dir, nStr] = process.argv.slice(2);
const store = new LocalObjectStore(dir ?? '.');
const n = Number(nStr ?? '10');
for (let i = 0; i < n; i++) {
  for (;;) {
    const head = await store.head('counter');
    const cur = head === null ? 0 : Number(new TextDecoder().decode(await store.get('counter')));
    try {
      await store.putIfMatch('counter', new TextEncoder().encode(String(cur + 1)), head?.etag ?? null);
      break;
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_PRECONDITION_FAILED')) throw e;
    }
  }
}
