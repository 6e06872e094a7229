/**
 * Pageviews generated column-at-a-time (storage/types.ts ColumnBatch), for the flat Parquet
 * writer's column input: no row objects, no per-row string building.
 *
 * - url: one of URL_VARIANTS un-normalized variants of a skewed page choice (gen/urls.ts
 *   urlVariant, ~0.5% garbage), each variant a pure function of (seed, page, j), encoded once into
 *   a shared byte pool and referenced by offset (zero-copy);
 * - person: a skewed person's identifier (mostly a cookie, 27% the user id, 3% the email with
 *   leading/trailing whitespace when the person has one), its UTF-8 bytes copied into the batch;
 * - ts: epoch seconds within the day, uniform;
 * - 2% of rows repeat the previous row exactly (at-least-once logging).
 * Deterministic in (seed, date, rows of the day, persons); the batch size never changes the rows: the day's
 * stream is seeded by (seed, 'pageviews', date) as in gen/kinds.ts, so days are independent.
 */
import type { ColumnBatch, Row } from '../storage/types.js';
import { person, PersonTable } from './persons.js';
import { int, rngFor, skewed } from './prng.js';
import { PAGE_COUNT, urlVariant } from './urls.js';

/** Distinct variants per page: 40 pages × 1,024 = 40,960 URL strings per seed at most. */
export const URL_VARIANTS = 1024;

const LEAD = [' ', '  ', ''].map((s) => new TextEncoder().encode(s));
const TRAIL = [' ', '\t', ' '].map((s) => new TextEncoder().encode(s));

/** Growable byte pool. */
class Pool {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  /** Appends src[from, from + n) (pool must have room). */
  copy(src: Uint8Array, from: number, n: number): void {
    const buf = this.buf;
    let at = this.pos;
    for (let k = 0; k < n; k++) buf[at++] = src[from + k]!;
    this.pos = at;
  }
  /** Appends b (pool must have room). */
  put(b: Uint8Array): void {
    const buf = this.buf, n = b.length;
    let at = this.pos;
    for (let k = 0; k < n; k++) buf[at++] = b[k]!;
    this.pos = at;
  }
}

/** Appends s's UTF-8 bytes to pool (ASCII by hand, else TextEncoder); returns its length. */
function putString(pool: Pool, s: string): number {
  const n = s.length;
  pool.ensure(3 * n);
  const buf = pool.buf, at = pool.pos;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) {
      const { written } = UTF8.encodeInto(s, buf.subarray(at));
      pool.pos = at + written;
      return written;
    }
    buf[at + k] = c;
  }
  pool.pos = at + n;
  return n;
}
const UTF8 = new TextEncoder();

/**
 * Per-generation lookup tables (shared by the days of one generate() call): URL variants in one
 * byte pool, and persons' identifiers as UTF-8 (persons k < cap cached, as PersonTable does).
 */
export class PageviewTables {
  private readonly urlStart = new Int32Array(PAGE_COUNT * URL_VARIANTS).fill(-1);
  private readonly urlLen = new Int32Array(PAGE_COUNT * URL_VARIANTS);
  private readonly urls = new Pool(1 << 16);
  /** Variant string → its offset in `urls`: equal variants share one copy (the writer's dictionary then sees equal offsets). */
  private readonly urlAt = new Map<string, number>();
  /** Persons' identifiers: bytes in one pool; per cached person k, at[k] indexes `meta`. */
  private readonly idBytes = new Pool(1 << 16);
  private readonly at: Int32Array;
  private meta = new Int32Array(1 << 12);
  private metaLen = 0;
  readonly people: PersonTable;

  constructor(readonly seed: number, readonly persons: number, cap = 200_000) {
    this.people = new PersonTable(seed, persons, cap);
    this.at = new Int32Array(Math.min(persons, cap)).fill(-1);
  }

  /** Index v = page * URL_VARIANTS + j into the pool (encoded on first use). */
  url(v: number): number {
    if (this.urlStart[v]! < 0) {
      const page = Math.floor(v / URL_VARIANTS);
      const s = urlVariant(rngFor(this.seed, 'url', page, v % URL_VARIANTS), page);
      const at = this.urlAt.get(s);
      if (at !== undefined) {
        this.urlStart[v] = at;
        this.urlLen[v] = Buffer.byteLength(s);
      } else {
        this.urlStart[v] = this.urls.pos;
        this.urlLen[v] = putString(this.urls, s);
        this.urlAt.set(s, this.urlStart[v]);
      }
    }
    return v;
  }

  /**
   * Person k's identifiers in `meta` from the returned index m: [cookies n, then for each cookie
   * (start, len), user (start, len) or (-1, 0), email (start, len) or (-1, 0)], bytes in
   * this.idBytes.buf; -1 for persons beyond the cache (the caller encodes those on each use).
   */
  person(k: number): number {
    if (k >= this.at.length) return -1;
    const m0 = this.at[k]!;
    if (m0 >= 0) return m0;
    const q = person(this.seed, k); // bytes cached below, not the Person
    const need = 1 + 2 * (q.cookies.length + 2);
    if (this.metaLen + need > this.meta.length) {
      const next = new Int32Array(Math.max(this.meta.length * 2, this.metaLen + need));
      next.set(this.meta.subarray(0, this.metaLen));
      this.meta = next;
    }
    const m = this.metaLen, meta = this.meta, pool = this.idBytes;
    meta[m] = q.cookies.length;
    let e = m + 1;
    const add = (s: string | null): void => {
      meta[e] = s === null ? -1 : pool.pos;
      meta[e + 1] = s === null ? 0 : putString(pool, s);
      e += 2;
    };
    for (const c of q.cookies) add(c);
    add(q.user);
    add(q.email);
    this.metaLen = e;
    this.at[k] = m;
    return m;
  }

  get idMeta(): Int32Array {
    return this.meta;
  }

  get idPool(): Uint8Array {
    return this.idBytes.buf;
  }

  /** The url column of a batch: offsets into the pool as it is now (later growth copies it). */
  urlColumn(v: Int32Array, n: number): ColumnBatch['columns'][string] {
    const start = new Int32Array(n), len = new Int32Array(n);
    const us = this.urlStart, ul = this.urlLen;
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      start[i] = us[x]!;
      len[i] = ul[x]!;
    }
    return { type: 'string', data: this.urls.buf, start, len };
  }
}

/**
 * The day's pageviews in batches of at most `batch` rows. `tables` (for spec.seed and
 * spec.persons) may be shared by the days of one generation.
 */
export function* pageviewBatches(spec: { seed: number; date: string; rows: number; persons: number }, batch: number, tables: PageviewTables = new PageviewTables(spec.seed, spec.persons)): Generator<ColumnBatch> {
  const r = rngFor(spec.seed, 'pageviews', spec.date);
  const dayStart = Date.parse(`${spec.date}T00:00:00Z`) / 1000;
  const persons = spec.persons;
  let lastUrl = -1, lastStart = 0, lastLen = 0, lastTs = 0;
  let prevBytes: Uint8Array = new Uint8Array(0);
  for (let done = 0; done < spec.rows; ) {
    const n = Math.min(batch, spec.rows - done);
    const urlV = new Int32Array(n);
    const pStart = new Int32Array(n), pLen = new Int32Array(n);
    const ts = new Float64Array(n);
    const pool = new Pool(n * 24 + 64);
    // A duplicate at the start of a batch repeats the previous batch's last row: its person bytes
    // are copied into this batch's pool.
    let carried = lastUrl >= 0;
    for (let i = 0; i < n; i++) {
      if (lastUrl >= 0 && r() < 0.02) {
        if (carried) {
          // lastStart/lastLen point into the previous pool: re-copy below from `prevBytes`.
          pool.ensure(lastLen);
          const at = pool.pos;
          pool.put(prevBytes.subarray(lastStart, lastStart + lastLen));
          lastStart = at;
          carried = false;
        }
        urlV[i] = lastUrl;
        pStart[i] = lastStart;
        pLen[i] = lastLen;
        ts[i] = lastTs;
        continue;
      }
      carried = false;
      const k = skewed(r, persons);
      const m = tables.person(k);
      const v = tables.url(skewed(r, PAGE_COUNT) * URL_VARIANTS + int(r, URL_VARIANTS));
      const x = r();
      const at = pool.pos;
      if (m >= 0) {
        const meta = tables.idMeta, src = tables.idPool;
        const nc = meta[m]!, u = m + 1 + 2 * nc, e = u + 2;
        if (meta[e]! >= 0 && x < 0.03) {
          const lead = LEAD[int(r, 3)]!, trail = TRAIL[int(r, 3)]!;
          pool.ensure(lead.length + meta[e + 1]! + trail.length);
          pool.put(lead);
          pool.copy(src, meta[e]!, meta[e + 1]!);
          pool.put(trail);
        } else {
          const c = meta[u]! >= 0 && x < 0.3 ? u : m + 1 + 2 * int(r, nc);
          pool.ensure(meta[c + 1]!);
          pool.copy(src, meta[c]!, meta[c + 1]!);
        }
      } else {
        // Beyond the person cache: computed and encoded on each use.
        const q = person(spec.seed, k);
        if (q.email !== null && x < 0.03) {
          const lead = LEAD[int(r, 3)]!, trail = TRAIL[int(r, 3)]!;
          pool.ensure(lead.length + trail.length);
          pool.put(lead);
          putString(pool, q.email);
          pool.ensure(trail.length);
          pool.put(trail);
        } else putString(pool, q.user !== null && x < 0.3 ? q.user : q.cookies[int(r, q.cookies.length)]!);
      }
      const t = dayStart + int(r, 86_400);
      urlV[i] = lastUrl = v;
      pStart[i] = lastStart = at;
      pLen[i] = lastLen = pool.pos - at;
      ts[i] = lastTs = t;
    }
    prevBytes = pool.buf;
    done += n;
    yield { rows: n, columns: { url: tables.urlColumn(urlV, n), person: { type: 'string', data: pool.buf, start: pStart, len: pLen }, ts: { type: 'int64', values: ts } } };
  }
}

/** A batch of string/int64 columns as rows (for codecs without column input, and benches). */
export function batchRows(b: ColumnBatch): Row[] {
  const dec = new TextDecoder();
  const cols = Object.entries(b.columns);
  const rows: Row[] = [];
  for (let i = 0; i < b.rows; i++) {
    const row: Row = {};
    for (const [name, c] of cols) row[name] = c.type === 'string' ? dec.decode(c.data.subarray(c.start[i], c.start[i]! + c.len[i]!)) : c.values[i]!;
    rows.push(row);
  }
  return rows;
}
