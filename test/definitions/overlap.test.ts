/**
 * Datasets never overlap: the URI canonicaliser (definitions/canonical-uri.ts) with a property test, the
 * DATASET_OVERLAP rule over many spellings of one location (local and S3, with file:line), symlinks
 * on disk resolved by loadDag, and the task runner's write guard (SOURCE_WRITE_REFUSED).
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { canonicalizeUri, overlap } from '../../definitions/canonical-uri.js';
import { loadDag } from '../../definitions/load.js';
import { validateDagText } from '../../definitions/validate.js';
import type { DagSpec } from '../../definitions/types.js';
import { assertOutsideSources } from '../../workers/runner/write-guard.js';
import { dagText } from './support/dag-text.js';
import { testOperators } from './support/operators.js';

const FILE = '/dags/overlap.yaml';

function dag(source: string, out: string): string {
  return dagText(['datasets:', '  pageviews:', `    uri: "${source}"`, '  out:', `    uri: "${out}"`, 'tasks:', '  - { name: t, operator: test-io, inputs: [pageviews], outputs: [out] }', ''].join('\n'));
}
const overlapIssues = (text: string) => validateDagText(text, FILE, { operators: testOperators }).issues.filter((i) => i.code === 'DATASET_OVERLAP');

describe('spec: datasets never overlap', () => {
  const local: [string, string][] = [
    ['trailing slash', '/data/master/pageviews/'],
    ['file:// with ..', 'file:///data/master/../master/pageviews'],
    ['scheme case, duplicate slashes and .', 'FILE:///data//master/./pageviews'],
    ['relative to the DAG file', '../data/master/pageviews'],
    ['file://localhost and percent-encoding', 'file://localhost/data/master/page%76iews'],
    ['nested inside the source', 'file:///data/master/pageviews/date=2024-01-01'],
    ['around the source', '/data/master/'],
  ];
  for (const [what, spelling] of local) {
    it(`rejects an output aliasing a local source: ${what}`, () => {
      const issues = overlapIssues(dag('/data/master/pageviews', spelling));
      assert.deepEqual(issues.map((i) => [i.code, i.file, i.line, i.path]), [['DATASET_OVERLAP', FILE, 9, 'datasets.out.uri']]);
    });
  }

  const s3: [string, string][] = [
    ['trailing slash', 's3://lake/master/pageviews/'],
    ['scheme case and duplicate slashes', 'S3://lake//master//pageviews'],
    ['bucket case and .', 's3://LAKE/master/./pageviews'],
    ['..', 's3://lake/master/tmp/../pageviews'],
    ['nested inside the source', 's3://lake/master/pageviews/date=2024-01-01/'],
    ['around the source', 's3://lake/master'],
  ];
  for (const [what, spelling] of s3) {
    it(`rejects an output aliasing an S3 source: ${what}`, () => {
      const issues = overlapIssues(dag('s3://lake/master/pageviews', spelling));
      assert.deepEqual(issues.map((i) => [i.code, i.line]), [['DATASET_OVERLAP', 9]]);
    });
  }

  it('accepts distinct locations: siblings with a common name prefix, other buckets, other schemes, key case', () => {
    for (const [src, out] of [
      ['/data/master/pageviews', '/data/master/pageviews2'],
      ['/data/master/pageviews', '/data/batch/pageviews'],
      ['s3://lake/master/pageviews', 's3://lake2/master/pageviews'],
      ['s3://lake/master/pageviews', 's3://lake/master/Pageviews'],
      ['/lake/master/pageviews', 's3://lake/master/pageviews'],
    ] as const) {
      const r = validateDagText(dag(src, out), FILE, { operators: testOperators });
      assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), [], `${src} vs ${out}`);
      assert.ok(r.dag !== undefined);
    }
  });

  it('rejects two outputs that overlap each other, and allows two overlapping sources', () => {
    const text = dagText(
      ['datasets:', '  a: { uri: /m/a }', '  b: { uri: /m/a/b }', '  x: { uri: /out/x }', '  y: { uri: "file:///out/x/" }', 'tasks:', '  - { name: t, operator: test-io, inputs: [a, b], outputs: [x, y] }', ''].join('\n'),
    );
    assert.deepEqual(overlapIssues(text).map((i) => i.path), ['datasets.y.uri']);
  });

  it('resolved specs carry canonical URIs', () => {
    const r = validateDagText(dag('S3://Lake//master/pageviews/', 'file:///data//out/./x/'), FILE, { operators: testOperators });
    assert.equal(r.dag?.datasets.pageviews?.uri, 's3://lake/master/pageviews');
    assert.equal(r.dag?.datasets.out?.uri, 'file:///data/out/x');
  });

  it('resolves symlinks on disk at validation time (loadDag)', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'dagctl-overlap-'));
    try {
      await mkdir(path.join(root, 'master', 'pageviews'), { recursive: true });
      await symlink(path.join(root, 'master'), path.join(root, 'alias'));
      const file = path.join(root, 'dag.yaml');
      // The output does not exist yet, below a symlink to the source's parent.
      await writeFile(file, dag(path.join(root, 'master', 'pageviews'), path.join(root, 'alias', 'pageviews', 'new')));
      const r = await loadDag(file, { operators: testOperators });
      assert.deepEqual(r.issues.filter((i) => i.severity === 'error').map((i) => [i.code, i.line]), [['DATASET_OVERLAP', 9]]);
      // Without the disk (pure validation) the spelling differs and nothing is found: the I/O step matters.
      assert.deepEqual(overlapIssues(dag(path.join(root, 'master', 'pageviews'), path.join(root, 'alias', 'pageviews', 'new'))), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('the task runner refuses to write under a source (SOURCE_WRITE_REFUSED), e.g. after the run record was edited', () => {
    const spec: DagSpec = {
      name: 'd',
      params: {},
      sourceHash: 'x',
      sourceFile: '/dags/d.yaml',
      datasets: {
        pageviews: { name: 'pageviews', uri: 'file:///data/master/pageviews', format: 'parquet', view: false },
        out: { name: 'out', uri: 'file:///data/batch/out', format: 'parquet', view: false, producer: 't' },
      },
      tasks: [],
    };
    assert.doesNotThrow(() => assertOutsideSources(spec, ['file:///data/batch/out', 'file:///data/batch/out/_work/t'], 'i'));
    for (const target of ['file:///data/master/pageviews/', 'file:///data/master/x/../pageviews/date=2024-01-01', '/data/master', 'file:///data//master/pageviews']) {
      assert.throws(() => assertOutsideSources(spec, [target], 'i'), (e: unknown) => isDagctlError(e, 'SOURCE_WRITE_REFUSED'), target);
    }
  });
});

describe('spec: URI canonicaliser (property)', () => {
  const seg = fc.stringMatching(/^[A-Za-z0-9_=-]{1,6}$/);
  const segs = fc.array(seg, { minLength: 1, maxLength: 5 });
  const bucket = fc.stringMatching(/^[a-z0-9]{3,8}$/);
  /** A random spelling of the same path: extra slashes, `.` and `x/..` detours, a trailing slash. */
  const spell = (parts: string[], noise: number[]): string => {
    const out: string[] = [];
    parts.forEach((p, i) => {
      const n = noise[i % noise.length] ?? 0;
      if (n & 1) out.push('.');
      if (n & 2) out.push('zz', '..');
      out.push(p);
      if (n & 4) out.push('');
    });
    return out.join('/') + ((noise[0] ?? 0) & 8 ? '/' : '');
  };
  const noise = fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 5 });
  const key = (uri: string): string => {
    const r = canonicalizeUri(uri, '/base/dir');
    assert.ok(r.ok, uri);
    return r.uri;
  };

  it('no two spellings of one local location compare unequal', () => {
    fc.assert(
      fc.property(segs, noise, noise, fc.integer({ min: 0, max: 3 }), (parts, n1, n2, form) => {
        const abs = `/${parts.join('/')}`;
        const spellings = [
          abs,
          `/${spell(parts, n1)}`,
          `file:///${spell(parts, n2)}`,
          `${form & 1 ? 'FILE' : 'file'}://localhost/${spell(parts, n1)}`,
          `file://${encodeURI(abs)}`,
          path.relative('/base/dir', abs) || '.',
        ];
        const keys = new Set(spellings.map(key));
        assert.equal(keys.size, 1, spellings.join(' | '));
      }),
    );
  });

  it('no two spellings of one S3 location compare unequal', () => {
    fc.assert(
      fc.property(bucket, segs, noise, noise, (b, parts, n1, n2) => {
        const spellings = [`s3://${b}/${parts.join('/')}`, `S3://${b.toUpperCase()}/${spell(parts, n1)}`, `s3://${b}//${spell(parts, n2)}/`];
        assert.equal(new Set(spellings.map(key)).size, 1, spellings.join(' | '));
      }),
    );
  });

  it('distinct locations stay distinct, and overlap only on whole segments', () => {
    fc.assert(
      fc.property(segs, segs, fc.boolean(), (a, b, s3) => {
        const uri = (p: string[]): string => (s3 ? `s3://lake/${p.join('/')}` : `/${p.join('/')}`);
        const ra = canonicalizeUri(uri(a), '/');
        const rb = canonicalizeUri(uri(b), '/');
        assert.ok(ra.ok && rb.ok);
        const same = a.join('/') === b.join('/');
        assert.equal(ra.uri === rb.uri, same);
        const prefix = (x: string[], y: string[]): boolean => x.length <= y.length && x.every((s, i) => y[i] === s);
        const expected = same ? 'equal' : prefix(b, a) ? 'inside' : prefix(a, b) ? 'around' : null;
        assert.equal(overlap(ra.location, rb.location), expected);
      }),
    );
  });

  it('rejects what names no location: unknown schemes, bad escapes, S3 keys climbing above the bucket', () => {
    for (const bad of ['http://x/y', 'file:///a%zz', 's3://b/../x', 's3:///x', '', 'memory://x']) assert.equal(canonicalizeUri(bad, '/').ok, false, bad);
  });
});
