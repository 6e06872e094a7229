/**
 * Semantic rules and resolution: cycle messages, zod paths inside operator params, lenient
 * structure, warnings that do not block, and the resolved DagSpec (defaults, durations, operator
 * param defaults, producers, URIs, source hash).
 */
import assert from 'node:assert/strict';
import { sha256Hex } from '../../core/hash.js';
import { cyclicComponents } from '../../definitions/scc.js';
import { validateDagText } from '../../definitions/validate.js';
import { dagText } from './support/dag-text.js';
import { testOperators } from './support/operators.js';

const check = (body: string) => validateDagText(dagText(body), '/dags/rules.yaml', { operators: testOperators });

describe('spec: semantic rules', () => {
  it('names a cycle as a -> b -> c -> a, through data and dependsOn edges', () => {
    const r = check(
      [
        'datasets: { x: { uri: x }, y: { uri: y }, z: { uri: z } }',
        'tasks:',
        '  - { name: a, operator: test-io, inputs: [y], outputs: [x] }',
        '  - { name: b, operator: test-io, inputs: [x] }',
        '  - { name: c, operator: test-io, inputs: [z], outputs: [y], dependsOn: [b] }',
        '',
      ].join('\n'),
    );
    const cycles = r.issues.filter((i) => i.code === 'CYCLE');
    assert.equal(cycles.length, 1);
    assert.equal(cycles[0]?.message, 'a -> b -> c -> a');
    assert.equal(cycles[0]?.path, 'tasks[0].name');
  });

  it('reports one cycle per strongly connected component', () => {
    const r = check('tasks:\n  - { name: a, operator: noop, dependsOn: [b] }\n  - { name: b, operator: noop, dependsOn: [a] }\n  - { name: c, operator: noop, dependsOn: [d] }\n  - { name: d, operator: noop, dependsOn: [c] }\n');
    assert.deepEqual(r.issues.filter((i) => i.code === 'CYCLE').map((i) => i.message), ['a -> b -> a', 'c -> d -> c']);
  });

  it('finds cycles in 10,000-node graphs without deep recursion', () => {
    const n = 10_000;
    const succ = Array.from({ length: n }, (_, i) => [(i + 1) % n]);
    assert.deepEqual(cyclicComponents(n, succ).map((c) => c.length), [n]);
    const chain = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : []));
    assert.deepEqual(cyclicComponents(n, chain), []);
  });

  it('reports operator param issues at their full path', () => {
    const r = check('tasks:\n  - name: a\n    operator: noop\n    params: { sleepMs: 1.5, extra: 1 }\n');
    assert.deepEqual(r.issues.map((i) => [i.code, i.path]), [
      ['OPERATOR_PARAMS_INVALID', 'tasks[0].params.sleepMs'],
      ['OPERATOR_PARAMS_INVALID', 'tasks[0].params.extra'],
    ]);
  });

  it('checks operator arity against min/max', () => {
    const r = check('datasets: { a: { uri: a }, b: { uri: b }, c: { uri: c } }\ntasks:\n  - { name: t, operator: test-io, inputs: [a], outputs: [b, c] }\n  - { name: u, operator: test-io, inputs: [a], outputs: [] }\n');
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
    const bad = check('datasets: { a: { uri: a }, b: { uri: b }, c: { uri: c }, d: { uri: d } }\ntasks:\n  - { name: t, operator: test-io, inputs: [a], outputs: [b, c, d] }\n');
    assert.deepEqual(bad.issues.map((i) => [i.code, i.path]), [['OPERATOR_ARITY', 'tasks[0].outputs']]);
  });

  it('keeps checking well-formed tasks when another task is malformed', () => {
    const r = check('tasks:\n  - { name: a, operator: noop, retries: x }\n  - { name: b, operator: nope, dependsOn: [a] }\n');
    assert.deepEqual(r.issues.map((i) => [i.code, i.path]), [
      ['SCHEMA_INVALID', 'tasks[0].retries'],
      ['UNKNOWN_OPERATOR', 'tasks[1].operator'],
    ]);
  });

  it('gives warnings that do not block the DagSpec', () => {
    const r = check('datasets:\n  raw: { uri: raw }\n  spare: { uri: spare, retention: 2 }\ntasks:\n  - { name: a, operator: noop, inputs: [raw] }\n');
    assert.deepEqual(r.issues.map((i) => [i.code, i.severity]), [['UNUSED_DATASET', 'warning'], ['RETENTION_WITHOUT_VIEW', 'warning']]);
    assert.ok(r.dag !== undefined);
  });
});

describe('spec: resolved DagSpec', () => {
  const text = dagText(
    [
      'defaults: { retries: 4, timeout: 1h30m, retryBackoff: 250, retryBackoffMax: 2m }',
      'datasets:',
      '  logs: { uri: "file://./logs", format: text, partitionBy: date }',
      '  out: { uri: "s3://bucket/out", view: true, retention: 3 }',
      'tasks:',
      '  - { name: load, operator: test-io, inputs: [logs], outputs: [out], timeout: 45s, queue: big }',
      '  - { name: after, operator: noop, dependsOn: [load], params: { sleepMs: 5 } }',
      '',
    ].join('\n'),
  );

  it('applies defaults, durations, operator param defaults, producers and URIs', () => {
    const r = validateDagText(text, 'sub/dag.yaml', { operators: testOperators, baseDir: '/repo/dags' });
    assert.deepEqual(r.issues, []);
    const dag = r.dag;
    assert.ok(dag !== undefined);
    assert.equal(dag.sourceHash, sha256Hex(text));
    assert.deepEqual(dag.datasets.logs, { name: 'logs', uri: 'file:///repo/dags/logs', format: 'text', partitionBy: 'date', view: false });
    assert.deepEqual(dag.datasets.out, { name: 'out', uri: 's3://bucket/out', format: 'parquet', view: true, retention: 3, producer: 'load' });
    const [load, after] = dag.tasks;
    assert.deepEqual(load, {
      name: 'load', operator: 'test-io', inputs: ['logs'], outputs: ['out'], dependsOn: [], params: { factor: 1 },
      retries: 4, timeoutMs: 45_000, retryBackoffMs: 250, retryBackoffMaxMs: 120_000, queue: 'big',
    });
    assert.deepEqual(after?.params, { sleepMs: 5, cpuMs: 0, failTimes: 0, allocMb: 0, onThread: false });
    assert.equal(after?.timeoutMs, 5_400_000);
  });

  it('resolves relative URIs against the DAG file directory by default', () => {
    const r = validateDagText(text, '/somewhere/dags/x.yaml', { operators: testOperators });
    assert.equal(r.dag?.datasets.logs?.uri, 'file:///somewhere/dags/logs');
    assert.equal(r.dag?.sourceFile, '/somewhere/dags/x.yaml');
  });
});

describe('spec: deadline', () => {
  const text = (deadline: string): string => `apiVersion: dagctl/v1\nkind: Dag\nmetadata: { name: dl }\ndeadline: ${deadline}\ntasks:\n  - { name: a, operator: noop }\n`;

  it('resolves `deadline:` to deadlineMs, and each run records now + deadline unless --deadline gave one', async () => {
    const r = validateDagText(text('2h'), '/dags/dl.yaml');
    assert.equal(r.dag?.deadlineMs, 2 * 3600_000);
    const { createRunRecord } = await import('../../scheduler/create-run.js');
    const ctx = { sources: {}, sourceRoots: {}, history: [] };
    const dag = r.dag;
    assert.equal(createRunRecord({ dag, text: '', ctx, options: { force: false, params: {}, executor: 'embedded' }, now: 1000, runId: 'dl-1' }).record.options.deadlineAt, 1000 + 2 * 3600_000);
    assert.equal(createRunRecord({ dag, text: '', ctx, options: { force: false, params: {}, executor: 'embedded', deadlineAt: 5000 }, now: 1000, runId: 'dl-2' }).record.options.deadlineAt, 5000);
  });

  it('a deadline that is not a positive duration is BAD_DURATION at its line', () => {
    for (const bad of ['soon', '0s']) {
      const issue = validateDagText(text(bad), '/dags/dl.yaml').issues.find((i) => i.code === 'BAD_DURATION');
      assert.equal(issue?.path, 'deadline', bad);
      assert.equal(issue?.line, 4);
    }
  });
});
