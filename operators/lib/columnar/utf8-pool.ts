/**
 * Distinct strings as UTF-8 ranges of one growing buffer: id → (start[id], len[id]) into `bytes`,
 * ids dense in first-seen order. Columnar writers hand `bytes` and the ranges to the flat Parquet
 * writer without a copy per row (normalize's normalized URLs, dedupe's dictionary values).
 * A pool is keyed by one form, fixed by its first call: the string (idOfString) or its UTF-8 bytes
 * (idOfBytes, as latin1 of the bytes); mixing the two in one pool would intern a value twice, so it
 * throws INTERNAL. clear() forgets every value (ids handed out before are void) and keeps the buffer.
 */
import { DagctlError } from '../../../core/errors.js';

export class Utf8Pool {
  bytes = new Uint8Array(1 << 12);
  used = 0;
  start: number[] = [];
  len: number[] = [];
  private readonly ids = new Map<string, number>();
  private keyedBy: 'string' | 'bytes' | null = null;

  clear(): void {
    this.used = 0;
    this.start = [];
    this.len = [];
    this.ids.clear();
  }

  /** The id of `s` (its UTF-8 bytes appended on first sight). */
  idOfString(s: string): number {
    this.keyed('string');
    const id = this.ids.get(s);
    if (id !== undefined) return id;
    const b = Buffer.from(s, 'utf8');
    return this.add(s, b, 0, b.byteLength);
  }

  /** The id of the value whose UTF-8 bytes are data[s, s + l). */
  idOfBytes(data: Uint8Array, s: number, l: number): number {
    this.keyed('bytes');
    const key = Buffer.from(data.buffer, data.byteOffset + s, l).toString('latin1');
    const id = this.ids.get(key);
    return id !== undefined ? id : this.add(key, data, s, l);
  }

  private keyed(form: 'string' | 'bytes'): void {
    if (this.keyedBy === form) return;
    if (this.keyedBy !== null) throw new DagctlError('INTERNAL', `Utf8Pool keyed by ${this.keyedBy}, asked by ${form}`);
    this.keyedBy = form;
  }

  private add(key: string, data: Uint8Array, s: number, l: number): number {
    if (this.used + l > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + l));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(data.subarray(s, s + l), this.used);
    const id = this.start.length;
    this.start.push(this.used);
    this.len.push(l);
    this.used += l;
    this.ids.set(key, id);
    return id;
  }
}
