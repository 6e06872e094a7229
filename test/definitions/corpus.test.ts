/**
 * The fixture corpus: every invalid DAG in test/fixtures/invalid reports exactly the codes its
 * header expects (and at the positions it names); every DAG in test/fixtures/valid resolves.
 */
import assert from 'node:assert/strict';
import { ISSUE_CODES } from '../../definitions/issues.js';
import { validateDagText } from '../../definitions/validate.js';
import { readFixtures } from './support/fixtures.js';
import { testOperators } from './support/operators.js';

describe('spec: invalid fixture corpus', () => {
  const fixtures = readFixtures('invalid');

  it('has at least 30 fixtures, each declaring known codes', () => {
    assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
    for (const f of fixtures) {
      assert.ok(f.expect.length > 0, `${f.name} has no # expect: header`);
      for (const c of f.expect) assert.ok((ISSUE_CODES as readonly string[]).includes(c), `${f.name}: unknown code ${c}`);
    }
  });

  for (const f of fixtures) {
    it(f.name, () => {
      const r = validateDagText(f.text, f.file, { operators: testOperators });
      const codes = [...new Set(r.issues.map((i) => i.code))].sort();
      assert.deepEqual(codes, [...new Set(f.expect)].sort());
      assert.equal(r.dag, undefined);
      for (const i of r.issues) {
        assert.equal(i.file, f.file);
        assert.ok(i.line >= 1 && i.column >= 1, `${i.code} at ${i.line}:${i.column}`);
      }
      for (const a of f.at) {
        const hit = r.issues.find((i) => i.code === a.code && i.line === a.line && i.column === a.column);
        assert.ok(hit, `${a.code} expected at ${a.line}:${a.column}, got ${JSON.stringify(r.issues.map((i) => [i.code, i.line, i.column]))}`);
      }
    });
  }
});

describe('spec: valid fixtures', () => {
  for (const f of readFixtures('valid')) {
    it(f.name, () => {
      const r = validateDagText(f.text, f.file);
      assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
      assert.ok(r.dag !== undefined);
      assert.ok(r.dag.tasks.length >= 1);
    });
  }
});
