/**
 * Pageviews generated column-at-a-time (storage/types.ts ColumnBatch), for the flat Parquet
 * writer's column input: no row objects, no per-row string building.
 *
 * - url: one of URL_VARIANTS un-normalized variants of a skewed page choice (gen/urls.ts
 *   urlVariant, ~0.5% garbage), each variant a pure function of (seed, page, j), encoded once into
 *   a shared byte pool and referenced by offset (zero-copy), with dictionary ids (equal variants
 *   share one) so the flat writer never hashes them;
 * - person: a skewed person's identifier (mostly a cookie, 27% the user id, 3% the email with
 *   leading/trailing whitespace when the person has one), its UTF-8 bytes written into the batch
 *   from the person's draws (gen/persons.ts PersonIds: the identifiers person() gives);
 * - ts: epoch seconds within the day, uniform;
 * - 2% of rows repeat the previous row exactly (at-least-once logging).
 * Deterministic in (seed, date, rows of the day, persons); the batch size never changes the rows: the day's
 * stream is seeded by (seed, 'pageviews', date) as in gen/kinds.ts, so days are independent.
 */
import type { ColumnBatch, Row } from '../storage/types.js';
import { MAX_ID_BYTES, PersonIds } from './persons.js';
import { fnv1a32 } from '../core/hash.js';
import { drawAt, KeyPrefix, mulberry32, skewedOf } from './prng.js';
import { compareBytes } from '../storage/parquet/flat/columns.js';
import { MAX_URL_BYTES, PAGE_COUNT, writeUrlVariant } from './urls.js';

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
}

/**
 * Per-generation lookup tables (shared by the days of one generate() call): URL variants in one
 * byte pool, and per person k < cap its stream key and one byte of its shape (cookie count, has a
 * user id, has an email: 5 bytes a person, 20 MB at most by default; persons past the cap are
 * computed on each use). Identifiers themselves are written from the person's draws on each use
 * (PersonIds): computing 23 bytes is cheaper than fetching them from a table of megabytes.
 */
export class PageviewTables {
  private readonly urlStart = new Int32Array(PAGE_COUNT * URL_VARIANTS).fill(-1);
  private readonly urlLen = new Int32Array(PAGE_COUNT * URL_VARIANTS);
  /** The first variant with variant v's bytes: the url column's dictionary ids (ColumnValues.ids). */
  private readonly urlId = new Int32Array(PAGE_COUNT * URL_VARIANTS);
  private readonly urls = new Pool(1 << 16);
  /** Hash table of the distinct variants (variant + 1; 0 empty): equal variants share one copy (the writer's dictionary then sees equal offsets). */
  private readonly urlSlots = new Int32Array(1 << 18); // ≥ 4 × PAGE_COUNT × URL_VARIANTS, a power of two
  private readonly urlKeys: KeyPrefix;
  /** Person k's shape: cookies | user << 6 | email << 7 (cookies ≥ 1, so 0 = not yet computed). */
  private readonly shape: Uint8Array;
  /** Person k's stream key, once its shape is computed. */
  private readonly keys: Int32Array;
  readonly ids: PersonIds;

  constructor(readonly seed: number, readonly persons: number, cap = 1 << 22) {
    this.ids = new PersonIds(seed);
    this.urlKeys = new KeyPrefix(seed, 'url');
    this.shape = new Uint8Array(Math.min(persons, cap));
    this.keys = new Int32Array(Math.min(persons, cap));
  }

  /**
   * Variant v = page * URL_VARIANTS + j, written into the pool on first use; a variant equal to an
   * earlier one points at its bytes instead (found by an FNV-1a hash of the bytes in `urlSlots`).
   */
  private addUrl(v: number): void {
    const page = Math.floor(v / URL_VARIANTS);
    const pool = this.urls;
    pool.ensure(MAX_URL_BYTES);
    const buf = pool.buf, at = pool.pos;
    const end = writeUrlVariant(mulberry32(this.urlKeys.keyOf2(page, v % URL_VARIANTS)), page, buf, at);
    const n = end - at;
    let h = 0x811c9dc5 | 0;
    for (let i = at; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slots = this.urlSlots, mask = slots.length - 1;
    for (let slot = (h ^ (h >>> 15)) & mask; ; slot = (slot + 1) & mask) {
      const e = slots[slot]! - 1;
      if (e < 0) {
        slots[slot] = v + 1;
        pool.pos = end;
        this.urlStart[v] = at;
        this.urlId[v] = v;
        break;
      }
      const s = this.urlStart[e]!;
      if (this.urlLen[e] === n && compareBytes(buf, s, n, buf, at, n) === 0) {
        this.urlStart[v] = s;
        this.urlId[v] = e;
        break;
      }
    }
    this.urlLen[v] = n;
  }

  /** Person pk's shape (see `shape`), from its draws. */
  private shapeOf(pk: number): number {
    const ids = this.ids, nc = ids.cookies(pk);
    return nc | (ids.hasUser(pk, nc) ? 64 : 0) | (ids.hasEmail(pk, nc) ? 128 : 0);
  }

  /**
   * The day's pageviews in batches of at most `batch` rows (spec.seed and spec.persons must be
   * this table's).
   */
  *batches(spec: { seed: number; date: string; rows: number; persons: number }, batch: number): Generator<ColumnBatch> {
    // The day's stream rngFor(seed, 'pageviews', date), drawn by index (state.draw).
    const state: DayState = { key: fnv1a32(`${spec.seed}\u0001pageviews\u0001${spec.date}`), draw: 0, dayStart: Date.parse(`${spec.date}T00:00:00Z`) / 1000, persons: spec.persons, lastUrl: -1, lastStart: 0, lastLen: 0, lastTs: 0, prevBytes: new Uint8Array(0) };
    for (let done = 0; done < spec.rows; ) {
      const n = Math.min(batch, spec.rows - done);
      const b = this.fill(state, n);
      done += n;
      yield b;
    }
  }

  /** The day's next n rows (state carries the stream and the last row across batches). */
  private fill(st: DayState, n: number): ColumnBatch {
    const key = st.key, persons = st.persons, dayStart = st.dayStart, ids = this.ids, shape = this.shape, keys = this.keys;
    const urlStart = this.urlStart, urlLen = this.urlLen, urlId = this.urlId;
    let d = st.draw, lastUrl = st.lastUrl, lastStart = st.lastStart, lastLen = st.lastLen, lastTs = st.lastTs;
    const uStart = new Int32Array(n), uLen = new Int32Array(n), uIds = new Int32Array(n);
    const pStart = new Int32Array(n), pLen = new Int32Array(n);
    const ts = new Float64Array(n);
    const pool = new Pool(n * 28 + 64);
    // A duplicate at the start of a batch repeats the previous batch's last row: its person bytes
    // are copied into this batch's pool.
    let carried = lastUrl >= 0;
    for (let i = 0; i < n; i++) {
      if (lastUrl >= 0 && drawAt(key, d++) < 0.02) {
        if (carried) {
          // lastStart/lastLen point into the previous pool: re-copy from it.
          pool.ensure(lastLen);
          const at = pool.pos;
          pool.copy(st.prevBytes, lastStart, lastLen);
          lastStart = at;
          carried = false;
        }
        uStart[i] = urlStart[lastUrl]!;
        uLen[i] = urlLen[lastUrl]!;
        uIds[i] = urlId[lastUrl]!;
        pStart[i] = lastStart;
        pLen[i] = lastLen;
        ts[i] = lastTs;
        continue;
      }
      carried = false;
      const k = skewedOf(drawAt(key, d++), persons);
      const page = skewedOf(drawAt(key, d++), PAGE_COUNT);
      const v = page * URL_VARIANTS + Math.floor(drawAt(key, d++) * URL_VARIANTS);
      if (urlStart[v]! < 0) this.addUrl(v);
      const x = drawAt(key, d++);
      // The identifier: the email with whitespace around it (3%, when the person has one), the
      // user id (27%, when it has one), else one of its cookies.
      let sh: number, pk: number;
      if (k < shape.length) {
        sh = shape[k]!;
        if (sh === 0) {
          keys[k] = pk = ids.key(k);
          shape[k] = sh = this.shapeOf(pk);
        } else pk = keys[k]! >>> 0;
      } else {
        pk = ids.key(k);
        sh = this.shapeOf(pk);
      }
      pool.ensure(MAX_ID_BYTES + 4);
      const buf = pool.buf, at = pool.pos;
      let end: number;
      if (x < 0.03 && sh >= 128) {
        end = put(buf, at, LEAD[Math.floor(drawAt(key, d++) * 3)]!);
        end = ids.writeEmail(pk, k, sh & 63, buf, end);
        end = put(buf, end, TRAIL[Math.floor(drawAt(key, d++) * 3)]!);
      } else if (x < 0.3 && (sh & 64) !== 0) end = ids.writeUser(k, buf, at);
      else end = ids.writeCookie(pk, Math.floor(drawAt(key, d++) * (sh & 63)), buf, at);
      pool.pos = end;
      const t = dayStart + Math.floor(drawAt(key, d++) * 86_400);
      uStart[i] = urlStart[v]!;
      uLen[i] = urlLen[v]!;
      uIds[i] = urlId[v]!;
      lastUrl = v;
      pStart[i] = lastStart = at;
      pLen[i] = lastLen = end - at;
      ts[i] = lastTs = t;
    }
    st.draw = d;
    st.lastUrl = lastUrl;
    st.lastStart = lastStart;
    st.lastLen = lastLen;
    st.lastTs = lastTs;
    st.prevBytes = pool.buf;
    // The URL pool as it is now: later growth copies it, so these offsets stay valid in it.
    return { rows: n, columns: { url: { type: 'string', data: this.urls.buf, start: uStart, len: uLen, ids: uIds }, person: { type: 'string', data: pool.buf, start: pStart, len: pLen }, ts: { type: 'int64', values: ts } } };
  }
}

/** One day's generation between batches: its stream (key, next draw) and its last row. */
interface DayState {
  key: number;
  draw: number;
  dayStart: number;
  persons: number;
  lastUrl: number;
  lastStart: number;
  lastLen: number;
  lastTs: number;
  prevBytes: Uint8Array;
}

function put(buf: Uint8Array, at: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[at + i] = b[i]!;
  return at + b.length;
}

/**
 * The day's pageviews in batches of at most `batch` rows. `tables` (for spec.seed and
 * spec.persons) may be shared by the days of one generation.
 */
export function pageviewBatches(spec: { seed: number; date: string; rows: number; persons: number }, batch: number, tables: PageviewTables = new PageviewTables(spec.seed, spec.persons)): Generator<ColumnBatch> {
  return tables.batches(spec, batch);
}

/** A batch of string/int64 columns as rows (for codecs without column input, and benches). */
export function batchRows(b: ColumnBatch): Row[] {
  const dec = new TextDecoder('utf-8', { ignoreBOM: true });
  const cols = Object.entries(b.columns);
  const rows: Row[] = [];
  for (let i = 0; i < b.rows; i++) {
    const row: Row = {};
    for (const [name, c] of cols) row[name] = c.type === 'string' ? dec.decode(c.data.subarray(c.start[i], c.start[i]! + c.len[i]!)) : c.values[i]!;
    rows.push(row);
  }
  return rows;
}
