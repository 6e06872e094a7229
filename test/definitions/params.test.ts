/**
 * ${params.x} interpolation and --param overrides: typed whole-string references, embedded ones,
 * the $${ escape, unresolved references, and overrides that must name declared params and match
 * their types.
 */
import assert from 'node:assert/strict';
import { validateDagText } from '../../definitions/validate.js';
import { parseParamArgs } from '../../definitions/params.js';
import { isDagctlError } from '../../core/errors.js';
import { dagText } from './support/dag-text.js';

const TEXT = dagText(
  [
    'params: { n: 3, root: data, label: x, flag: true }',
    'datasets:',
    '  raw: { uri: "/srv/${params.root}/raw-${params.n}" }',
    'tasks:',
    '  - name: a',
    '    operator: noop',
    '    description: "cost $${not.a.param} for ${params.label}/${params.flag}"',
    '    inputs: [raw]',
    '    params: { buckets: "${params.n}" }',
    '',
  ].join('\n'),
);

describe('spec: params', () => {
  it('interpolates whole references with their type and embedded ones as text', () => {
    const r = validateDagText(TEXT, '/dags/x.yaml');
    assert.deepEqual(r.issues, []);
    assert.equal(r.dag?.tasks[0]?.params.buckets, 3);
    assert.equal(r.dag?.datasets.raw?.uri, 'file:///srv/data/raw-3');
  });

  it('applies overrides with the declared type', () => {
    const r = validateDagText(TEXT, '/dags/x.yaml', { paramOverrides: { n: '12', root: 'other' } });
    assert.deepEqual(r.issues, []);
    assert.equal(r.dag?.tasks[0]?.params.buckets, 12);
    assert.equal(r.dag?.params.n, 12);
    assert.equal(r.dag?.datasets.raw?.uri, 'file:///srv/other/raw-12');
  });

  it('reports unknown and ill-typed overrides', () => {
    const r = validateDagText(TEXT, '/dags/x.yaml', { paramOverrides: { nn: '1', n: 'three', flag: 'yes' } });
    assert.deepEqual(r.issues.map((i) => [i.code, i.path]).sort(), [
      ['PARAM_OVERRIDE_INVALID', 'params.flag'],
      ['PARAM_OVERRIDE_INVALID', 'params.n'],
      ['UNKNOWN_PARAM_OVERRIDE', 'params.nn'],
    ]);
    assert.equal(r.dag, undefined);
  });

  it('reports unresolved references at their path', () => {
    const r = validateDagText(dagText('tasks:\n  - name: a\n    operator: noop\n    description: "${params.nope} and ${other}"\n'), 'x.yaml');
    assert.deepEqual(r.issues.map((i) => [i.code, i.path, i.line]), [
      ['UNRESOLVED_PARAM', 'tasks[0].description', 8],
      ['UNRESOLVED_PARAM', 'tasks[0].description', 8],
    ]);
  });

  it('warns about unused params without blocking', () => {
    const r = validateDagText(dagText('params: { spare: 1 }\ntasks:\n  - { name: a, operator: noop }\n'), 'x.yaml');
    assert.deepEqual(r.issues.map((i) => [i.code, i.severity]), [['UNUSED_PARAM', 'warning']]);
    assert.ok(r.dag !== undefined);
  });

  it('parses k=v arguments, rejecting malformed ones', () => {
    assert.deepEqual(parseParamArgs(['a=1', 'b=x=y', 'c=']), { a: '1', b: 'x=y', c: '' });
    assert.throws(() => parseParamArgs(['novalue']), (e) => isDagctlError(e, 'PARAM_INVALID'));
    assert.throws(() => parseParamArgs(['=v']), (e) => isDagctlError(e, 'PARAM_INVALID'));
  });
});
