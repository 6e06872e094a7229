/**
 * YAML safety: tags outside plain data, prototype-reaching keys, alias bombs and syntax errors are
 * issues (with positions), and nothing in a hostile file reaches Object.prototype.
 */
import assert from 'node:assert/strict';
import { validateDagText } from '../../definitions/validate.js';
import { readYamlSource } from '../../definitions/yaml-source.js';
import { dagText } from './support/dag-text.js';

const codes = (text: string): string[] => validateDagText(text, 'x.yaml').issues.map((i) => i.code);

describe('spec: YAML safety', () => {
  it('rejects language and unknown tags, allows core ones', () => {
    for (const tag of ['!!js/function', '!!python/object', '!custom', '!!binary', '!!set', '!!timestamp', '!<tag:example.com:x>']) {
      assert.deepEqual(codes(dagText(`tasks:\n  - name: a\n    operator: noop\n    description: ${tag} x\n`)), ['YAML_UNSAFE_TAG'], tag);
    }
    const ok = validateDagText(dagText('tasks:\n  - name: !!str a\n    operator: noop\n    retries: !!int 3\n'), 'x.yaml');
    assert.deepEqual(ok.issues, []);
    assert.equal(ok.dag?.tasks[0]?.retries, 3);
  });

  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`rejects the key ${key} anywhere, at its position`, () => {
      const text = dagText(`tasks:\n  - name: a\n    operator: noop\n    params:\n      nested: { ${key}: { polluted: true } }\n`);
      const r = validateDagText(text, 'x.yaml');
      assert.deepEqual(r.issues.map((i) => [i.code, i.line, i.path]), [['YAML_FORBIDDEN_KEY', 9, `tasks[0].params.nested.${key}`]]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  it('reports syntax errors with a position and stops there', () => {
    const r = validateDagText('apiVersion: dagctl/v1\nkind: [Dag\n', 'x.yaml');
    assert.ok(r.issues.length >= 1);
    assert.ok(r.issues.every((i) => i.code === 'YAML_SYNTAX' && i.line >= 1));
  });

  it('bounds alias expansion (billion laughs)', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 8; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const src = readYamlSource(text);
    assert.equal(src.value, undefined);
    assert.deepEqual([...new Set(src.issues.map((i) => i.code))], ['YAML_SYNTAX']);
  });

  it('JSON fast path: duplicate keys, forbidden keys and positions match the YAML path', () => {
    const lines = ['{', '  "apiVersion": "dagctl/v1",', '  "kind": "Dag",', '  "metadata": { "name": "j" },', '  "tasks": [', '    { "name": "a", "operator": "noop", "retries": "x" }', '  ]', '}'];
    const r = validateDagText(lines.join('\n'), 'x.json');
    assert.deepEqual(r.issues.map((i) => [i.code, i.path, i.line, i.column]), [['SCHEMA_INVALID', 'tasks[0].retries', 6, 51]]);
    const dup = validateDagText('{"apiVersion":"dagctl/v1","kind":"Dag","metadata":{"name":"j","n\\u0061me":"k"},"tasks":[]}', 'x.json');
    assert.deepEqual(dup.issues.map((i) => i.code), ['YAML_SYNTAX']);
    const nested = validateDagText('{"a":[{"b":1},{"b":2}],"c":{"d":{"e":1},"e":2}}', 'x.json');
    assert.ok(nested.issues.every((i) => i.code !== 'YAML_SYNTAX'), 'same key in sibling objects is fine');
    const proto = validateDagText('{"apiVersion":"dagctl/v1",\n"params":{"__proto__":{"x":1}}}', 'x.json');
    assert.deepEqual(proto.issues.map((i) => [i.code, i.path, i.line]), [['YAML_FORBIDDEN_KEY', 'params.__proto__', 2]]);
  });

  it('reads JSON files as well', () => {
    const r = validateDagText('{"apiVersion":"dagctl/v1","kind":"Dag","metadata":{"name":"j"},"tasks":[{"name":"a","operator":"noop","retries":-1}]}', 'x.json');
    assert.deepEqual(r.issues.map((i) => [i.code, i.path, i.line]), [['SCHEMA_INVALID', 'tasks[0].retries', 1]]);
  });
});
