/**
 * Schemas at the boundary, over real Parquet files the test writes into a source dataset: a file
 * missing a column the operator needs (`person`), or with a declared column of another type (`ts`
 * as string), fails its normalize instance with DATASET_SCHEMA_MISMATCH naming the file and the
 * column, and nothing downstream is committed or published; a null in a declared non-null column
 * goes to rejects with a reason, counted by `run` and `status`; above maxRejectShare the instance
 * fails with REJECTS_EXCEEDED. checkFileSchema is also tested alone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDagctlError } from '../../core/errors.js';
import type { StatusView } from '../../scheduler/status-view.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { Row, Schema } from '../../storage/types.js';
import { checkFileSchema } from '../../workers/runner/contract.js';
import { validateDagText } from '../../definitions/validate.js';
import { runCli, type Workspace } from '../integration/support.js';

const dagText = (extra = ''): string => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: contracts }
defaults: { retries: 2, retryBackoff: 10ms${extra} }
datasets:
  pageviews: { uri: ./data/master/pageviews, partitionBy: date, schema: { url: string, person: string, ts: int64 } }
  normalized: { uri: ./data/batch/normalized, partitionBy: date }
  rejects: { uri: ./data/batch/rejects, partitionBy: date }
  distinct: { uri: ./data/batch/distinct }
tasks:
  - { name: normalize, operator: normalize, inputs: [pageviews], outputs: [normalized, rejects] }
  - { name: dedupe, operator: dedupe, inputs: [normalized], outputs: [distinct], params: { key: [url, person, ts], buckets: 2 } }
`;

const GOOD: Schema = [
  { name: 'url', type: 'string' },
  { name: 'person', type: 'string' },
  { name: 'ts', type: 'int64' },
];
const goodRows = (n: number, day: number): Row[] => Array.from({ length: n }, (_, i) => ({ url: `http://example.com/p${i % 7}`, person: `cookie:c${i % 5}`, ts: 1709251200 + day * 86400 + i }));

async function setup(days: { date: string; schema: Schema; rows: Row[] }[], extra = ''): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-schema-'));
  const ws: Workspace = { dir, dag: join(dir, 'dag.yaml'), dataUri: pathToFileURL(join(dir, 'data')).href, home: join(dir, '.dagctl') };
  await writeFile(ws.dag, dagText(extra));
  const store = await openObjectStore(`${ws.dataUri}/master/pageviews`);
  for (const d of days) {
    const w = new DataFileWriter({ store, codec: defaultCodec(), schema: d.schema, folder: `date=${d.date}/`, salt: d.date });
    await w.write(d.rows);
    await w.close();
  }
  return ws;
}

async function run(ws: Workspace): Promise<{ code: number | null; view: StatusView }> {
  const r = await runCli(ws, ['run', ws.dag, '--concurrency', '1', '--json']);
  return { code: r.code, view: JSON.parse(r.stdout) as StatusView };
}

async function committed(ws: Workspace, dataset: string): Promise<string[]> {
  return readdir(join(ws.dir, 'data', 'batch', dataset, '_commits')).catch(() => []);
}

describe('contracts: schemas at the boundary', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('a source file without `person` fails normalize with DATASET_SCHEMA_MISMATCH (file, column), once, and nothing downstream commits', async () => {
    const noPerson: Schema = GOOD.filter((f) => f.name !== 'person');
    const ws = await setup([
      { date: '2024-03-01', schema: GOOD, rows: goodRows(50, 0) },
      { date: '2024-03-02', schema: noPerson, rows: goodRows(50, 1).map((r) => ({ url: r.url ?? null, ts: r.ts ?? null })) },
    ]);
    dirs.push(ws.dir);
    const { code, view } = await run(ws);
    assert.equal(code, 1);
    const bad = view.tasks.find((t) => t.name === 'normalize' && t.partition === '2024-03-02');
    assert.equal(bad?.state, 'failed');
    assert.equal(bad?.errorCode, 'DATASET_SCHEMA_MISMATCH');
    assert.equal(bad?.attempts, 1, 'a contract failure is not retried');
    assert.match(bad?.error ?? '', /date=2024-03-02\/part-[^ ]+\.parquet/);
    assert.match(bad?.error ?? '', /"person"/);
    // The good day was normalized; the bad one committed nothing; dedupe never ran.
    const markers = await committed(ws, 'normalized');
    assert.ok(markers.some((m) => m.includes('2024-03-01')));
    assert.ok(!markers.some((m) => m.includes('2024-03-02')));
    assert.deepEqual(await committed(ws, 'distinct'), []);
    // dedupe's map may pipeline the good day; its reduce (which writes `distinct`) never runs.
    assert.ok(view.tasks.filter((t) => t.name === 'dedupe' && t.bucket >= 0 && t.stage !== 'map').every((t) => t.state === 'upstream_failed'));
    assert.ok(view.tasks.some((t) => t.name === 'dedupe' && t.state === 'upstream_failed'));
  });

  it('`ts` as a string fails normalize with DATASET_SCHEMA_MISMATCH (expected int64, found string)', async () => {
    const tsString: Schema = [...GOOD.filter((f) => f.name !== 'ts'), { name: 'ts', type: 'string' }];
    const ws = await setup([{ date: '2024-03-01', schema: tsString, rows: goodRows(20, 0).map((r) => ({ ...r, ts: String(r.ts) })) }]);
    dirs.push(ws.dir);
    const { code, view } = await run(ws);
    assert.equal(code, 1);
    const bad = view.tasks.find((t) => t.name === 'normalize');
    assert.equal(bad?.errorCode, 'DATASET_SCHEMA_MISMATCH');
    assert.match(bad?.error ?? '', /"ts" expected int64, found string/);
    assert.deepEqual(await committed(ws, 'normalized'), []);
  });

  it('a null `ts` goes to rejects with a reason, counted in run and status', async () => {
    const nullableTs: Schema = [...GOOD.filter((f) => f.name !== 'ts'), { name: 'ts', type: 'int64', nullable: true }];
    const rows = goodRows(40, 0).map((r, i) => (i % 10 === 3 ? { ...r, ts: null } : r));
    const ws = await setup([{ date: '2024-03-01', schema: nullableTs, rows }]);
    dirs.push(ws.dir);
    const { code, view } = await run(ws);
    assert.equal(code, 0);
    const norm = view.taskSummary.find((t) => t.name === 'normalize');
    assert.equal(norm?.rejected, 4);
    assert.deepEqual(norm?.rejectReasons, { 'null_value:ts': 4 });
    const status = JSON.parse((await runCli(ws, ['status', view.runId, '--json'])).stdout) as StatusView;
    assert.equal(status.taskSummary.find((t) => t.name === 'normalize')?.rejected, 4);
    const text = (await runCli(ws, ['status', view.runId])).stdout;
    assert.match(text, /rejects: normalize 4 row/);
  });

  it('above maxRejectShare the instance fails with REJECTS_EXCEEDED and commits nothing', async () => {
    const nullableTs: Schema = [...GOOD.filter((f) => f.name !== 'ts'), { name: 'ts', type: 'int64', nullable: true }];
    const rows = goodRows(40, 0).map((r, i) => (i % 2 === 0 ? { ...r, ts: null } : r));
    const ws = await setup([{ date: '2024-03-01', schema: nullableTs, rows }], ', maxRejectShare: 0.25');
    dirs.push(ws.dir);
    const { code, view } = await run(ws);
    assert.equal(code, 1);
    const bad = view.tasks.find((t) => t.name === 'normalize');
    assert.equal(bad?.errorCode, 'REJECTS_EXCEEDED');
    assert.equal(bad?.attempts, 1);
    assert.deepEqual(await committed(ws, 'normalized'), []);
    assert.deepEqual(await committed(ws, 'rejects'), []);
  });

  it('validate: an input whose declared schema lacks (or retypes) a column the operator needs is INPUT_COLUMNS_MISSING', () => {
    const text = (schema: string): string =>
      `apiVersion: dagctl/v1\nkind: Dag\nmetadata: { name: v }\ndatasets:\n  pv: { uri: /m/pv, schema: ${schema} }\n  out: { uri: /b/out }\ntasks:\n  - { name: n, operator: normalize, inputs: [pv], outputs: [out] }\n`;
    const codes = (schema: string) => validateDagText(text(schema), '/dags/v.yaml').issues.filter((i) => i.severity === 'error').map((i) => [i.code, i.line, i.path]);
    assert.deepEqual(codes('{ url: string, person: string, ts: int64 }'), []);
    assert.deepEqual(codes('{ url: string, person: "string?" }'), []);
    assert.deepEqual(codes('{ url: string, ts: int64 }'), [['INPUT_COLUMNS_MISSING', 8, 'tasks[0].inputs[0]']]);
    assert.deepEqual(codes('{ url: string, person: int64 }'), [['INPUT_COLUMNS_MISSING', 8, 'tasks[0].inputs[0]']]);
  });

  it('checkFileSchema: missing and retyped columns are coded with file, column, expected and found; extra columns pass', () => {
    const c = { dataset: 'pv', uri: 'file:///m/pv', columns: GOOD, notNull: ['ts'] };
    assert.doesNotThrow(() => checkFileSchema(c, 'a.parquet', [...GOOD, { name: 'extra', type: 'double', nullable: true }]));
    const cases: [Schema, string, string | null][] = [
      [GOOD.filter((f) => f.name !== 'person'), 'person', null],
      [[...GOOD.slice(0, 2), { name: 'ts', type: 'string' }], 'ts', 'string'],
      [[...GOOD.slice(0, 2), { name: 'ts', type: 'int32' }], 'ts', 'int32'],
    ];
    for (const [found, column, type] of cases) {
      assert.throws(
        () => checkFileSchema(c, 'date=2024-03-01/a.parquet', found),
        (e: unknown) => isDagctlError(e, 'DATASET_SCHEMA_MISMATCH') && e.details.column === column && e.details.found === type && e.details.file === 'file:///m/pv/date=2024-03-01/a.parquet',
      );
    }
  });
});
