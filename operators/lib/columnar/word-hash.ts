/**
 * The string hash of the byte-level interner (lib/byte-intern.ts): a string's UTF-16 code units
 * packed two per int32 word, hashed word by word. `WordHash` is the injectable shape (tests force
 * collisions with their own); `fnvWords` is the default, which byte-intern inlines on its hot path
 * (and must stay equal to: test/operators/byte-intern.test.ts checks it). The packing reads words
 * back as bytes/code units, which assumes a little-endian host: checked at load (INTERNAL otherwise).
 */
import { DagctlError } from '../../../core/errors.js';

if (new Uint16Array(new Int32Array([1]).buffer)[0] !== 1) throw new DagctlError('INTERNAL', 'lib/word-hash.ts assumes a little-endian host');

/** Hash of a string's packed words: the words, how many (n) and the string's length in code units. */
export type WordHash = (words: Int32Array, n: number, length: number) => number;

/** FNV-1a over the words, the length mixed in, then a murmur3 finalizer so that the partition (top
 * bits) and the slot (low bits) both depend on every character. */
export function fnvWords(w: Int32Array, n: number, length: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < n; k++) h = Math.imul(h ^ w[k]!, 0x01000193);
  h = Math.imul(h ^ length, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
