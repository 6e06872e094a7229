/**
 * The fast YAML read (js-yaml, plain data only) and the full document model agree: same value for
 * every DAG file of the repository and the test fixtures, and for scalar forms where YAML
 * versions differ; the positions an issue needs still come from the document model.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readYamlDocument, readYamlSource } from '../../definitions/yaml-source.js';

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

describe('YAML fast path', () => {
  it('gives the same value as the document model for every DAG file here', () => {
    const files = [...yamlFiles('dags'), ...yamlFiles('test/fixtures')];
    assert.ok(files.length > 3);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const full = readYamlDocument(text);
      const fast = readYamlSource(text);
      assert.deepEqual(fast.issues, full.issues, f);
      assert.deepEqual(fast.value, full.value, f);
    }
  });

  it('agrees on scalars that YAML 1.1 and 1.2 read differently', () => {
    const text = 'a: 0o17\nb: 0x1F\nc: 017\nd: yes\ne: ~\nf: 1e3\ng: 2026-01-01\nh: "x"\ni: .5\nj: +12\nk: 1_000\nl: on\nm: .nan\nn: -.inf\no: 0b101\np: "<<"\n';
    assert.deepEqual(readYamlSource(text).value, readYamlDocument(text).value);
  });

  it('locates a node by path in a file read by the fast path', () => {
    const text = 'tasks:\n  - name: a\n    operator: noop\n  - name: b\n    operator: nope\n';
    const src = readYamlSource(text);
    assert.deepEqual(src.issues, []);
    assert.deepEqual(src.locate(['tasks', 1, 'operator']), { line: 5, column: 15 });
    assert.deepEqual(src.locate(['tasks', 1, 'operator'], { key: true }), { line: 5, column: 5 });
  });

  it('leaves duplicate keys, tags and forbidden keys to the document model, which reports them', () => {
    assert.equal(readYamlSource('a: 1\na: 2\n').issues[0]?.code, 'YAML_SYNTAX');
    assert.equal(readYamlSource('a: !!binary aGk=\n').issues[0]?.code, 'YAML_UNSAFE_TAG');
    assert.equal(readYamlSource('x:\n  __proto__: 1\n').issues[0]?.code, 'YAML_FORBIDDEN_KEY');
  });
});
