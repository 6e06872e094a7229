/**
 * Text stays faithful: a URL or id whose bytes are not UTF-8 goes to rejects with a reason
 * (invalid_utf8 / id_invalid_utf8) instead of being kept with U+FFFD in place of its bytes, and a
 * mangled scheme such as `http//example.com` is rejected (bad_scheme), not read as a page on host
 * `http`. End to end over a real Parquet file whose url column holds invalid UTF-8 bytes; and
 * one whose other string column does: normalize rejects the row as `invalid_utf8:<column>`, any
 * other operator's read fails with PARQUET_INVALID_UTF8 naming the file, column and row (not retried).
 * A value's leading U+FEFF is part of it: every TextDecoder of the sources that decodes values is
 * made with ignoreBOM (only decoders of whole documents — JSON, text files — may strip a BOM).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { normalizeIdentifier } from '../../operators/lib/text/identifiers.js';
import { DEFAULT_TRACKING_PARAMS, urlNormalizer } from '../../operators/lib/text/url.js';
import type { StatusView } from '../../scheduler/status-view.js';
import { duckRows, sqlPath } from '../storage/helpers.js';
import { runCli, type Workspace } from '../integration/support.js';

const norm = urlNormalizer({ stripParams: DEFAULT_TRACKING_PARAMS, foldWww: false, trailingSlash: 'keep', dropQuery: false, defaultScheme: 'http' });

/** Files whose TextDecoders decode whole documents (JSON, text files, control blobs), where a BOM at the start may go. */
const WHOLE_DOCUMENT_DECODERS = new Set([
  'ui/server/app.ts', 'storage/dataset/layout.ts', 'storage/dataset/delta-log.ts', 'storage/dataset/read.ts',
  'ingest/records.ts', 'operators/partial-recompute/partial-recompute.ts',
]);

describe('contracts: text stays faithful', function () {
  this.timeout(60_000);

  it('every TextDecoder that decodes values keeps a leading U+FEFF (ignoreBOM)', async () => {
    const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
    const sources: string[] = [];
    for (const d of await readdir(root, { withFileTypes: true })) {
      if (!d.isDirectory() || ['node_modules', 'dist', 'test'].includes(d.name) || d.name.startsWith('.')) continue;
      for (const p of await readdir(join(root, d.name), { recursive: true })) if (p.endsWith('.ts') && !p.endsWith('.d.ts')) sources.push(`${d.name}/${p}`);
    }
    assert.ok(sources.includes('storage/parquet/utf8.ts'), root);
    const bad: string[] = [];
    for (const p of sources) {
      if (WHOLE_DOCUMENT_DECODERS.has(p)) continue;
      for (const m of (await readFile(join(root, p), 'utf8')).matchAll(/new TextDecoder\(([^)]*)\)/g)) if (!m[1]!.includes('ignoreBOM: true')) bad.push(`${p}: ${m[0]}`);
    }
    assert.deepEqual(bad, []);
    assert.equal(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode('\uFEFFab')), '\uFEFFab');
  });

  it('rejects mangled schemes instead of normalizing them to host "http"', () => {
    for (const bad of ['http//example.com', 'https//example.com/a', 'HTTP//example.com', 'http:/example.com/x', 'https:/example.com']) {
      assert.deepEqual(norm(bad), { ok: false, reason: 'bad_scheme' }, bad);
    }
    // What stays accepted: scheme-less hosts, and real URLs.
    assert.deepEqual(norm('example.com/about'), { ok: true, url: 'http://example.com/about' });
    assert.deepEqual(norm('http://example.com'), { ok: true, url: 'http://example.com/' });
    assert.deepEqual(norm('httpbin.org/get'), { ok: true, url: 'http://httpbin.org/get' });
  });

  it('rejects text that lost its bytes (U+FFFD) with invalid_utf8 / id_invalid_utf8', () => {
    assert.deepEqual(norm('http://example.com/\uFFFD\uFFFD'), { ok: false, reason: 'invalid_utf8' });
    assert.deepEqual(normalizeIdentifier('cookie:ab\uFFFD', { stripUserZeros: true }), { ok: false, reason: 'id_invalid_utf8' });
    // Percent-encoded and real non-ASCII text stays.
    assert.deepEqual(norm('http://example.com/caf%C3%A9'), { ok: true, url: 'http://example.com/caf%C3%A9' });
    assert.deepEqual(norm('http://example.com/café'), { ok: true, url: 'http://example.com/caf%C3%A9' });
  });

  it('end to end: invalid UTF-8 bytes in a Parquet url column go to rejects with reason invalid_utf8', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-utf8-'));
    try {
      const ws: Workspace = { dir, dag: join(dir, 'dag.yaml'), dataUri: pathToFileURL(join(dir, 'data')).href, home: join(dir, '.dagctl') };
      await writeFile(
        ws.dag,
        `apiVersion: dagctl/v1
kind: Dag
metadata: { name: utf8 }
datasets:
  pageviews: { uri: ./data/master/pageviews, partitionBy: date }
  normalized: { uri: ./data/batch/normalized, partitionBy: date }
  rejects: { uri: ./data/batch/rejects, partitionBy: date }
tasks:
  - { name: normalize, operator: normalize, inputs: [pageviews], outputs: [normalized, rejects] }
`,
      );
      const bad = new Uint8Array([...Buffer.from('http://example.com/'), 0xff, 0xfe, 0x41]);
      const bytes = parquetWriteBuffer({
        columnData: [
          { name: 'url', data: [bad, 'http://example.com/ok', 'http//example.com/x'], type: 'STRING' },
          { name: 'person', data: ['cookie:1', 'cookie:2', 'cookie:3'], type: 'STRING' },
          { name: 'ts', data: [1n, 2n, 3n], type: 'INT64' },
        ],
      });
      await mkdir(join(dir, 'data', 'master', 'pageviews', 'date=2024-03-01'), { recursive: true });
      await writeFile(join(dir, 'data', 'master', 'pageviews', 'date=2024-03-01', 'part-00000-ext.parquet'), Buffer.from(bytes));
      const r = await runCli(ws, ['run', ws.dag, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const view = JSON.parse(r.stdout) as StatusView;
      assert.deepEqual(view.taskSummary.find((t) => t.name === 'normalize')?.rejectReasons, { invalid_utf8: 1, bad_scheme: 1 });
      // Read back with DuckDB (an independent reader): one row kept, two rejected with reasons.
      const kept = await duckRows(`select url from read_parquet(${sqlPath(join(dir, 'data', 'batch', 'normalized', '**', '*.parquet'))})`);
      assert.deepEqual(kept.map((x) => x.url), ['http://example.com/ok']);
      const rejected = await duckRows(`select reason from read_parquet(${sqlPath(join(dir, 'data', 'batch', 'rejects', '**', '*.parquet'))}) order by reason`);
      assert.deepEqual(rejected.map((x) => x.reason), ['bad_scheme', 'invalid_utf8']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('end to end: invalid UTF-8 in another column: normalize rejects the row naming it; any other operator fails with PARQUET_INVALID_UTF8 (file, column, row), once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-utf8-'));
    try {
      const ws: Workspace = { dir, dag: join(dir, 'dag.yaml'), dataUri: pathToFileURL(join(dir, 'data')).href, home: join(dir, '.dagctl') };
      await writeFile(
        ws.dag,
        `apiVersion: dagctl/v1
kind: Dag
metadata: { name: utf8-other }
datasets:
  pageviews: { uri: ./data/master/pageviews, partitionBy: date }
  normalized: { uri: ./data/batch/normalized, partitionBy: date }
  rejects: { uri: ./data/batch/rejects, partitionBy: date }
  distinct: { uri: ./data/batch/distinct }
tasks:
  - { name: normalize, operator: normalize, inputs: [pageviews], outputs: [normalized, rejects] }
  - { name: raw-dedupe, operator: dedupe, inputs: [pageviews], outputs: [distinct], params: { key: [url, person, ts], buckets: 2 } }
`,
      );
      const bad = new Uint8Array([...Buffer.from('ref-'), 0xc3, 0x28]);
      const bytes = parquetWriteBuffer({
        columnData: [
          { name: 'url', data: ['http://example.com/a', 'http://example.com/b', 'http://example.com/c'], type: 'STRING' },
          { name: 'person', data: ['cookie:1', 'cookie:2', 'cookie:3'], type: 'STRING' },
          { name: 'ts', data: [1n, 2n, 3n], type: 'INT64' },
          { name: 'referrer', data: ['r0', bad, 'r2'], type: 'STRING' },
        ],
      });
      await mkdir(join(dir, 'data', 'master', 'pageviews', 'date=2024-03-01'), { recursive: true });
      await writeFile(join(dir, 'data', 'master', 'pageviews', 'date=2024-03-01', 'part-00000-ext.parquet'), Buffer.from(bytes));
      const r = await runCli(ws, ['run', ws.dag, '--json']);
      assert.equal(r.code, 1, r.stderr);
      const view = JSON.parse(r.stdout) as StatusView;
      assert.deepEqual(view.taskSummary.find((t) => t.name === 'normalize')?.rejectReasons, { 'invalid_utf8:referrer': 1 });
      const failed = view.tasks.filter((t) => t.state === 'failed');
      assert.ok(failed.length > 0 && failed.every((t) => t.name === 'raw-dedupe' && t.errorCode === 'PARQUET_INVALID_UTF8' && t.attempts === 1), JSON.stringify(failed));
      assert.ok(failed.every((t) => (t.error ?? '').includes('date=2024-03-01/part-00000-ext.parquet') && (t.error ?? '').includes('"referrer", row 1')), JSON.stringify(failed));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
