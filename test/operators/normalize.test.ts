/**
 * normalize operator through the harness: normalized columns, pass-through columns, rejects
 * output with reasons and `rejected.<reason>` metrics, idempotence over the whole operator.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalize } from '../../operators/normalize/normalize.js';
import { runOperator, sortRows } from './harness.js';
import { isDagctlError } from '../../core/errors.js';
import type { ColumnBatch, Row, Schema } from '../../storage/types.js';
import { columnarPlan, ColumnarNormalizer, fileColumns, POOL_MAX_BYTES, RawUrls, SPAN_SLACK } from '../../operators/normalize/columnar.js';
import { LruCache } from '../../operators/normalize/lru.js';
import { urlNormalizer, type UrlResult } from '../../operators/lib/text/url.js';
import { getCodec } from '../../storage/parquet/registry.js';

/** The metrics both paths must agree on (the URL memo's hit counts differ by design). */
const sameMetrics = (m: Record<string, number>): Record<string, number> => {
  const { cacheHits: _h, cacheMisses: _m, columnarFiles: _c, ...rest } = m;
  return rest;
};

const rows = [
  { url: 'HTTP://Foo.com:80/a/./b?utm_source=x&z=1&a=2#top', person: ' Cookie:ABC ', ts: 10 },
  { url: 'foo.com/about', person: 'user:007', ts: 11 },
  { url: 'ftp://foo.com/', person: 'user:1', ts: 12 },
  { url: 'http://foo.com/', person: 'fax:1', ts: 13 },
  { url: 'http://foo.com/x', person: 'email: Sally@Example.com ', ts: 14 },
  // URL normalized, then the identifier rejected: the reject keeps the original URL
  { url: 'HTTP://Foo.com/y', person: 'fax:2', ts: 15 },
];

describe('operators/normalize/normalize', () => {
  it('normalizes URLs and identifiers, and routes rejects with reasons', async () => {
    const r = await runOperator(normalize, {}, { inputs: [{ partitions: { '2024-01-01': rows.slice(0, 3), '2024-01-02': rows.slice(3) } }], outputs: 2 });
    assert.deepEqual(sortRows(r.outputs[0]!.rows), sortRows([
      { url: 'http://foo.com/a/b?a=2&z=1', person: 'cookie:abc', ts: 10 },
      { url: 'http://foo.com/about', person: 'user:7', ts: 11 },
      { url: 'http://foo.com/x', person: 'email:sally@example.com', ts: 14 },
    ]));
    assert.deepEqual(sortRows(r.outputs[1]!.rows), sortRows([
      { ...rows[2]!, reason: 'bad_scheme' },
      { ...rows[3]!, reason: 'id_unknown_type' },
      { ...rows[5]!, reason: 'id_unknown_type' },
    ]));
    assert.equal(r.metrics.rejected, 3);
    assert.equal(r.metrics['rejected.bad_scheme'], 1);
    assert.equal(r.metrics['rejected.id_unknown_type'], 2);
    assert.equal(r.metrics.rowsIn, 6);
    assert.equal(r.metrics.rowsOut, 3);
  });

  it('drops rejects (still counted) without a second output, and handles other column sets', async () => {
    const r = await runOperator(normalize, { urlColumns: [], idColumns: ['id1', 'id2'] }, {
      inputs: [{ rows: [{ id1: 'user:01', id2: 'Cookie:FF', ts: 1 }, { id1: 'user:x', id2: 'cookie:1', ts: 2 }, { id1: null, id2: 'cookie:1', ts: 3 }] }],
    });
    assert.deepEqual(r.outputs[0]!.rows, [{ id1: 'user:1', id2: 'cookie:ff', ts: 1 }]);
    assert.equal(r.metrics['rejected.id_bad_user'], 1);
    assert.equal(r.metrics['rejected.null_value'], 1);
  });

  it('rejects unknown params with OPERATOR_PARAMS_INVALID', async () => {
    await assert.rejects(runOperator(normalize, { nope: 1 }, { inputs: [{ rows }] }), (e) => isDagctlError(e, 'OPERATOR_PARAMS_INVALID'));
  });

  it('is idempotent as an operator (fast-check)', async () => {
    const row = fc.record({
      url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('a.com/x?utm_id=1&b=%7e', 'HTTP://A.COM:80/./x/../y')),
      person: fc.constantFrom('cookie:AB', ' user:0012', 'email: X@Y.z ', 'user:x'),
      ts: fc.integer({ min: 0, max: 1e9 }),
    }, { noNullPrototype: true });
    await fc.assert(fc.asyncProperty(fc.array(row, { maxLength: 20 }), fc.boolean(), async (input, fold) => {
      const params = { foldWww: fold, trailingSlash: 'strip' };
      const once = await runOperator(normalize, params, { inputs: [{ rows: input }] });
      const twice = await runOperator(normalize, params, { inputs: [{ rows: once.outputs[0]!.rows }] });
      assert.deepEqual(twice.outputs[0]!.rows, once.outputs[0]!.rows);
      assert.equal(twice.metrics.rejected, 0);
    }), { numRuns: 100 });
  });

  describe('column path (raw Parquet files in, column batches out)', () => {
    const schema: Schema = [{ name: 'url', type: 'string' }, { name: 'person', type: 'string' }, { name: 'ts', type: 'int64' }];
    const urls = ['HTTP://Foo.com:80/a/./b?utm_source=x&z=1&a=2#top', 'foo.com/about', 'ftp://foo.com/', 'http://www.Foo.com/x/', 'https://é.example/ü?b=1&a=2', ' http://a.com/%7e ', 'http://', 'mailto:x', 'http://a b/'];
    const persons = ['cookie:abc', 'cookie:-1', ' Cookie:ABC ', 'user:007', 'user:0', 'user:12', 'email: Sally@Example.com ', 'fax:1', 'user:x', 'ip:1.2.3.4', '', 'cookie:é'];
    const row = fc.record({ url: fc.oneof(fc.constantFrom(...urls), fc.webUrl({ withQueryParameters: true })), person: fc.oneof(fc.constantFrom(...persons), fc.string({ maxLength: 8 })), ts: fc.integer({ min: -1e12, max: 1e12 }) }, { noNullPrototype: true });

    it('writes the rows, rejects and metrics of the row path, from dictionary and plain pages (fast-check)', async () => {
      let columnar = 0;
      await fc.assert(fc.asyncProperty(fc.array(fc.array(row, { maxLength: 60 }), { minLength: 1, maxLength: 3 }), fc.boolean(), async (parts, fold) => {
        const partitions: Record<string, Row[]> = {};
        parts.forEach((rs, i) => { partitions[`2024-01-0${i + 1}`] = rs; });
        const params = { foldWww: fold, trailingSlash: 'strip' };
        const cols = await runOperator(normalize, params, { inputs: [{ partitions, schema }], outputs: 2, columnOutputs: true });
        const rows = await runOperator(normalize, params, { inputs: [{ partitions }], outputs: 2 });
        columnar += cols.metrics.columnarFiles ?? 0;
        assert.deepEqual(cols.outputs[0]!.rows, rows.outputs[0]!.rows);
        assert.deepEqual(cols.outputs[1]!.rows, rows.outputs[1]!.rows);
        assert.deepEqual(sameMetrics(cols.metrics), sameMetrics(rows.metrics));
      }), { numRuns: 150 });
      assert.ok(columnar > 100, `the column path ran (${columnar} files)`);
    });

    it('splits kept rows into batches of the accumulator\'s capacity, in row order, with any URL pool bound and raw-URL memo bound, instances sharing the memo (fast-check)', async () => {
      const flat = getCodec('flat');
      // poolMax: a tiny bound empties the URL pool (and the memos holding its ids) at most flushes;
      // a tiny RawUrls forgets its keys (a new generation) while instances hold codes of the old one.
      await fc.assert(fc.asyncProperty(fc.array(row, { maxLength: 80 }), fc.integer({ min: 1, max: 9 }), fc.oneof(fc.constant(POOL_MAX_BYTES), fc.integer({ min: 0, max: 120 })), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 300 }), async (rs, capacity, poolMax, rawEntries, rawBytes) => {
        const params = normalize.params.parse({ trailingSlash: 'strip' });
        const raw = new RawUrls(rawEntries, rawBytes);
        const bytes = await flat.encode(schema, rs);
        for (let instance = 0; instance < 2; instance++) {
          const batches: ColumnBatch[] = [];
          await againstRows(rs, params, (await fileColumns(bytes, schema))!, capacity, (b) => {
            batches.push(b);
            // URL values come with their pool ids (the writer's dictionary by id): the file is
            // byte for byte the one the row writer makes of the same rows.
            const url = b.columns.url!;
            assert.ok(url.type === 'string' && url.ids !== undefined && url.ids.length === b.rows);
          }, { poolMax, raw });
          assert.ok(batches.every((b, i) => b.rows === (i < batches.length - 1 ? capacity : b.rows) && b.rows <= capacity && b.rows > 0));
        }
      }), { numRuns: 150 });
    });

    /**
     * Runs hand-built raw column groups through the column path at `capacity` and checks its kept
     * rows and rejects against the row path on the same rows `rs`, and each batch's file against the
     * row writer's; `onBatch` sees each batch before the accumulator is reused. `poolMax` bounds the
     * URL pool and `raw` is the raw-URL memo (instances may share one).
     */
    const againstRows = async (rs: Row[], params: ReturnType<typeof normalize.params.parse>, groups: Parameters<ColumnarNormalizer['file']>[0], capacity: number, onBatch: (b: ColumnBatch) => void = () => undefined, { poolMax = POOL_MAX_BYTES, raw = new RawUrls() }: { poolMax?: number; raw?: RawUrls } = {}): Promise<void> => {
      const flat = getCodec('flat');
      const ref = await runOperator(normalize, params, { inputs: [{ rows: rs }], outputs: 2 });
      const kept: Row[] = [];
      const rejected: Row[] = [];
      const roles = columnarPlan(schema, params.urlColumns, params.idColumns)!;
      const col = new ColumnarNormalizer(schema, roles, params.urlColumns, params.idColumns, urlNormalizer(params), new LruCache<string, UrlResult>(10), params, capacity, {
        write: async (b) => {
          onBatch(b);
          const file = await flat.encodeColumns!(schema, b);
          const batchRows: Row[] = [];
          for await (const x of flat.decode(file)) batchRows.push(...x);
          assert.deepEqual(Buffer.from(file), Buffer.from(await flat.encode(schema, batchRows)));
          kept.push(...batchRows);
        },
        reject: async (r, reason) => { rejected.push({ ...r, reason }); },
      }, { rowsIn: 0, rejected: 0 }, poolMax, raw);
      await col.file(groups);
      await col.flush();
      assert.deepEqual(kept, ref.outputs[0]!.rows);
      assert.deepEqual(rejected, ref.outputs[1]!.rows);
    };

    it('takes a row group whose values lie in several page buffers, shared or not, any order, at any capacity (fast-check)', async () => {
      // The raw columns built by hand (what fileColumns makes of multi-page or dictionary chunks):
      // each value's bytes in one of up to three buffers, between filler bytes, some rows sharing
      // one copy; checked against the row path on the same rows, the files against the row writer.
      const placed = fc.record({ r: row, at: fc.nat({ max: 2 }), share: fc.boolean(), gap: fc.nat({ max: 5 }) });
      await fc.assert(fc.asyncProperty(fc.array(placed, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 9 }), async (ps, capacity) => {
        const params = normalize.params.parse({ foldWww: true, trailingSlash: 'strip' });
        const rs = ps.map((x) => x.r);
        const column = (name: 'url' | 'person'): { bufs: Uint8Array[]; buf: Int32Array; start: Int32Array; len: Int32Array } => {
          const parts: number[][] = [[], [], []];
          const out = { buf: new Int32Array(ps.length), start: new Int32Array(ps.length), len: new Int32Array(ps.length) };
          const seen = new Map<string, [number, number]>();
          ps.forEach((x, i) => {
            const v = Buffer.from(x.r[name]);
            const prev = seen.get(`${x.at}:${v.toString('latin1')}`);
            if (x.share && prev !== undefined) [out.buf[i], out.start[i]] = [x.at, prev[1]];
            else {
              const part = parts[x.at]!;
              for (let g = 0; g < x.gap; g++) part.push(0x7e);
              [out.buf[i], out.start[i]] = [x.at, part.length];
              part.push(...v);
              seen.set(`${x.at}:${v.toString('latin1')}`, [x.at, out.start[i]]);
            }
            out.len[i] = v.length;
          });
          return { bufs: parts.map((b) => Uint8Array.from(b)), ...out };
        };
        await againstRows(rs, params, [{ rows: ps.length, cols: [column('url'), column('person'), Float64Array.from(rs, (r) => r.ts)] }], capacity);
      }), { numRuns: 200 });
    });

    /**
     * Rows run through the column path over hand-built raw columns (what fileColumns makes of
     * plain pages: page p's values one after another in buffer p, rows in page order), checked
     * against the row path on the same rows and each batch's file against the row writer's;
     * `onBatch` sees each batch before the accumulator is reused.
     */
    const viaPages = async (rs: Row[], pageOf: (i: number) => number, capacity: number, onBatch: (b: ColumnBatch) => void): Promise<void> => {
      const params = normalize.params.parse({});
      const column = (name: string): { bufs: Uint8Array[]; buf: Int32Array; start: Int32Array; len: Int32Array } => {
        const parts: number[][] = [];
        const out = { buf: new Int32Array(rs.length), start: new Int32Array(rs.length), len: new Int32Array(rs.length) };
        rs.forEach((r, i) => {
          const v = Buffer.from(String(r[name]));
          const p = pageOf(i);
          while (parts.length <= p) parts.push([]);
          [out.buf[i], out.start[i], out.len[i]] = [p, parts[p]!.length, v.length];
          parts[p]!.push(...v);
        });
        return { bufs: parts.map((b) => Uint8Array.from(b)), ...out };
      };
      await againstRows(rs, params, [{ rows: rs.length, cols: [column('url'), column('person'), Float64Array.from(rs, (r) => Number(r.ts))] }], capacity, onBatch);
    };

    it('keeps an identifier column\'s data within SPAN_SLACK times its values\' bytes when most rows between the kept ones are rejected', async () => {
      // Page 0: 1 row in 20 already normal and kept, 1 in 20 re-normalized, the rest rejected
      // (their bytes lie between the kept ones'); page 1: every row kept (one span copy).
      const rs: Row[] = Array.from({ length: 4000 }, (_, i) => ({
        url: 'http://foo.com/',
        person: i >= 3000 || i % 20 === 0 ? `user:${1000000 + i}` : i % 20 === 10 ? ` User:0${i} ` : `fax:${100000000000 + i}`,
        ts: i,
      }));
      let batches = 0;
      await viaPages(rs, (i) => (i < 3000 ? 0 : 1), 100_000, (b) => {
        const c = b.columns.person!;
        assert.ok(c.type === 'string');
        let bytes = 0;
        for (let r = 0; r < b.rows; r++) bytes += c.len[r]!;
        assert.ok(c.data.length <= SPAN_SLACK * bytes, `${c.data.length} bytes of data for ${bytes} bytes of values`);
        batches++;
      });
      assert.equal(batches, 1);
    });

    it('takes a thousand pages of a few rows each, kept, re-normalized or rejected, at any capacity', async () => {
      const persons = ['user:1', 'cookie:ab', 'fax:1', ' User:07 ', 'user:12345', 'user:x'];
      const rs: Row[] = Array.from({ length: 3000 }, (_, i) => ({ url: i % 7 === 3 ? 'ftp://a.com/' : 'http://a.com/', person: persons[(i * 5 + (i >> 4)) % persons.length]!, ts: i }));
      for (const capacity of [1, 7, 100_000]) await viaPages(rs, (i) => Math.floor(i / 3), capacity, () => undefined);
    });

    it('equivs: two identifier columns, no URL column', async () => {
      const eschema: Schema = [{ name: 'id1', type: 'string' }, { name: 'id2', type: 'string' }, { name: 'ts', type: 'int64' }];
      const rs = persons.flatMap((a, i) => persons.map((b, j) => ({ id1: a, id2: b, ts: i * 100 + j })));
      const cols = await runOperator(normalize, { urlColumns: [], idColumns: ['id1', 'id2'] }, { inputs: [{ partitions: { '2024-01-01': rs }, schema: eschema }], outputs: 2, columnOutputs: true });
      const rows = await runOperator(normalize, { urlColumns: [], idColumns: ['id1', 'id2'] }, { inputs: [{ partitions: { '2024-01-01': rs } }], outputs: 2 });
      assert.equal(cols.metrics.columnarFiles, 1);
      assert.deepEqual(cols.outputs[0]!.rows, rows.outputs[0]!.rows);
      assert.deepEqual(cols.outputs[1]!.rows, rows.outputs[1]!.rows);
      assert.deepEqual(sameMetrics(cols.metrics), sameMetrics(rows.metrics));
    });

    it('rejects text that is not UTF-8 with the first such column\'s reason, keeping the text lossy', async () => {
      // Distinct markers (Snappy would turn a repeated one into a back-reference), each replaced
      // in the encoded file by bytes of the same length that are not UTF-8.
      let planted = 0;
      const plant = (bytes: Uint8Array): Uint8Array => {
        const b = Buffer.from(bytes);
        for (const m of marks.slice(1)) {
          const mark = Buffer.from(m);
          for (let i = b.indexOf(mark); i >= 0; i = b.indexOf(mark, i + 1)) { b[i + 1] = 0xff; b[i + 2] = 0xfe; planted++; }
        }
        return new Uint8Array(b);
      };
      const marks = ['', 'QZXV1', 'JKWP2', 'MNBH3', 'RTYU4'];
      const bad = (k: number): string => marks[k]!;
      const lossy = (k: number): string => `${marks[k]![0]!}\uFFFD\uFFFD${marks[k]!.slice(3)}`;
      const rs = [
        { url: `http://a.com/${bad(1)}`, person: 'cookie:1', ts: 1 },
        { url: `http://a.com/${bad(2)}`, person: `fax:${bad(3)}`, ts: 2 },
        { url: 'http://a.com/ok', person: `cookie:${bad(4)}`, ts: 3 },
        { url: 'ftp://x/', person: `user:${bad(1)}`, ts: 4 },
        { url: 'http://a.com/ok', person: 'cookie:2', ts: 5 },
      ];
      const r = await runOperator(normalize, {}, { inputs: [{ partitions: { '2024-01-01': rs }, schema, rawBytes: plant }], outputs: 2, columnOutputs: true });
      assert.ok(planted >= 5, `markers planted (${planted})`);
      assert.equal(r.metrics.columnarFiles, 1);
      assert.deepEqual(r.outputs[0]!.rows, [{ url: 'http://a.com/ok', person: 'cookie:2', ts: 5 }]);
      assert.deepEqual(r.outputs[1]!.rows, [
        { url: `http://a.com/${lossy(1)}`, person: 'cookie:1', ts: 1, reason: 'invalid_utf8' },
        { url: `http://a.com/${lossy(2)}`, person: `fax:${lossy(3)}`, ts: 2, reason: 'invalid_utf8' },
        { url: 'http://a.com/ok', person: `cookie:${lossy(4)}`, ts: 3, reason: 'id_invalid_utf8' },
        { url: 'ftp://x/', person: `user:${lossy(1)}`, ts: 4, reason: 'id_invalid_utf8' },
      ]);
      assert.equal(r.metrics['rejected.invalid_utf8'], 2);
      assert.equal(r.metrics['rejected.id_invalid_utf8'], 2);
    });
  });
});
