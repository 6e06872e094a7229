/**
 * `dagctl validate` and `dagctl schema`: human lines with file:line:col, --json shape, the AND of
 * validity over several files, exit codes 0/2, --param overrides, and --out.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from './support/cli-io.js';

const VALID = 'test/fixtures/valid/noop-chain.yaml';
const INVALID = 'test/fixtures/invalid/unknown-dataset.yaml';

interface ValidateJson {
  valid: boolean;
  issues: { code: string; message: string; file: string; line: number; column: number; path: string }[];
}

describe('cli: validate', () => {
  it('exits 0 on a valid file', async () => {
    const r = await runCli(['validate', VALID]);
    assert.equal(r.code, 0);
  });

  it('prints file:line:col: error CODE path: message and exits 2', async () => {
    const r = await runCli(['validate', INVALID]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, new RegExp(`^${INVALID.replace(/\./g, '\\.')}:11:19: error UNKNOWN_DATASET tasks\\[0\\]\\.inputs\\[1\\]: `, 'm'));
  });

  it('--json over several files: valid is the AND, issues are concatenated', async () => {
    const r = await runCli(['validate', VALID, INVALID, 'test/fixtures/invalid/cycle-depends.yaml', '--json']);
    assert.equal(r.code, 2);
    const j = JSON.parse(r.stdout) as ValidateJson;
    assert.equal(j.valid, false);
    assert.deepEqual(j.issues.map((i) => [i.file, i.code]), [[INVALID, 'UNKNOWN_DATASET'], ['test/fixtures/invalid/cycle-depends.yaml', 'CYCLE']]);
    for (const i of j.issues) for (const k of ['code', 'message', 'file', 'line', 'column', 'path']) assert.ok(k in i, k);
    const ok = JSON.parse((await runCli(['validate', VALID, '--json'])).stdout) as ValidateJson;
    assert.deepEqual(ok, { valid: true, issues: [] });
  });

  it('passes --param overrides through and reports bad ones', async () => {
    assert.equal((await runCli(['validate', VALID, '--param', 'buckets=3'])).code, 0);
    const r = await runCli(['validate', VALID, '--param', 'bukets=3', '--json']);
    assert.equal(r.code, 2);
    assert.deepEqual((JSON.parse(r.stdout) as ValidateJson).issues.map((i) => i.code), ['UNKNOWN_PARAM_OVERRIDE']);
    assert.equal((await runCli(['validate', VALID, '--param', 'nokv'])).code, 2);
  });

  it('reports unreadable files as issues and needs at least one file', async () => {
    const r = await runCli(['validate', 'test/fixtures/does-not-exist.yaml', '--json']);
    assert.equal(r.code, 2);
    assert.deepEqual((JSON.parse(r.stdout) as ValidateJson).issues.map((i) => i.code), ['FILE_READ_FAILED']);
    assert.equal((await runCli(['validate'])).code, 2);
  });
});

describe('cli: validate across files', () => {
  it('the shipped example DAGs produce no dataset twice', async () => {
    const r = await runCli(['validate', 'dags/superwebanalytics.yaml', 'dags/access-log.yaml', 'dags/birthday-inference.yaml', '--json']);
    assert.equal(r.code, 0, r.stdout);
  });

  it('one dataset URI produced by two DAGs is DATASET_PRODUCED_BY_TWO_DAGS in each file, unless taken over', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-xdag-'));
    try {
      const dag = (name: string, extra = ''): string => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
datasets:
  src: { uri: ./src }
  view: { uri: ./views/shared, view: true${extra} }
tasks:
  - { name: roll, operator: rollup, inputs: [src], outputs: [view] }
`;
      await writeFile(path.join(dir, 'a.yaml'), dag('one'));
      await writeFile(path.join(dir, 'b.yaml'), dag('two'));
      await writeFile(path.join(dir, 'c.yaml'), dag('three', ', takeOver: true'));
      const r = await runCli(['validate', 'a.yaml', 'b.yaml', '--json'], dir);
      assert.equal(r.code, 2);
      const j = JSON.parse(r.stdout) as ValidateJson;
      assert.deepEqual(j.issues.map((i) => [i.code, i.file, i.path]), [['DATASET_PRODUCED_BY_TWO_DAGS', 'a.yaml', 'datasets.view'], ['DATASET_PRODUCED_BY_TWO_DAGS', 'b.yaml', 'datasets.view']]);
      // c takes the dataset over: only a is reported; a file validated alone is never reported.
      const t = JSON.parse((await runCli(['validate', 'a.yaml', 'c.yaml', '--json'], dir)).stdout) as ValidateJson;
      assert.deepEqual(t.issues.map((i) => i.file), ['a.yaml']);
      assert.equal((await runCli(['validate', 'a.yaml'], dir)).code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cli: schema', () => {
  it('prints the JSON Schema and writes it with --out', async () => {
    const r = await runCli(['schema']);
    assert.equal(r.code, 0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(printed.type, 'object');
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-schema-'));
    try {
      const w = await runCli(['schema', '--out', 'dag.schema.json'], dir);
      assert.equal(w.code, 0);
      assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'dag.schema.json'), 'utf8')), printed);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
