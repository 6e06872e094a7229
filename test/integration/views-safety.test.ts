/**
 * Views people can trust, through the real CLI: a misspelled input is INPUT_EMPTY (exit 2) found
 * while planning; a view that would drop most of its rows is VIEW_SHRINK unless --allow-shrink; a
 * renamed DAG (its name now sorting first) is refused with DATASET_PRODUCER_CONFLICT unless it
 * takes the datasets over, and then its version is current; `dataset history` lists every
 * publication and `dataset rollback` restores one. Every refusal leaves the current version as it
 * was.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCurrent } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { addDays, runCli, viewRows, type Workspace } from './support.js';

const dagText = (name: string, extra = ''): string => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
params: { input: ./data/master/pageviews, data: ./data }
defaults: { retries: 0, timeout: 2m, retryBackoff: 100ms }
datasets:
  pageviews: { uri: "\${params.input}", partitionBy: date${extra} }
  distinct: { uri: "\${params.data}/batch/distinct" }
  over-time: { uri: "\${params.data}/views/over-time", view: true }
tasks:
  - { name: dedupe, operator: dedupe, inputs: [pageviews], outputs: [distinct], params: { key: [url, person, ts], buckets: 2 } }
  - { name: rollup, operator: rollup, inputs: [distinct], outputs: [over-time], params: { granularities: [h, d], buckets: 2 } }
`;

const failedCodes = (stdout: string): (string | null)[] =>
  (JSON.parse(stdout) as { tasks: { state: string; errorCode: string | null }[] }).tasks.filter((t) => t.state === 'failed').map((t) => t.errorCode);

interface ErrorJson { error?: { code: string; details: Record<string, unknown> } }

describe('views people can trust (CLI): empty inputs, shrink guard, producers, history and rollback', function () {
  this.timeout(300_000);
  let ws: Workspace;
  const view = (): string => `${ws.dataUri}/views/over-time`;
  const current = async (): Promise<string | undefined> => (await readCurrent(await openObjectStore(view())))?.pointer.version;
  const run = (dag: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    runCli(ws, ['run', join(ws.dir, dag), '--param', `data=${ws.dataUri}`, '--concurrency', '2', '--json', ...args]);

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-views-'));
    ws = { dir, dag: join(dir, 'zeta.yaml'), dataUri: pathToFileURL(join(dir, 'data')).href, home: join(dir, '.dagctl') };
    await writeFile(join(dir, 'zeta.yaml'), dagText('zeta-views'));
    await writeFile(join(dir, 'alpha.yaml'), dagText('alpha-views'));
    await writeFile(join(dir, 'zeta-empty-ok.yaml'), dagText('zeta-views', ', allowEmpty: true'));
    await addDays(ws, { rows: 3000, days: 4, start: '2024-03-01', seed: 7 });
    await addDays({ dataUri: `${ws.dataUri}/small` }, { rows: 200, days: 1, start: '2024-03-01', seed: 8 });
  });
  after(async () => { if (ws !== undefined) await rm(ws.dir, { recursive: true, force: true }); });

  let first: string | undefined;
  let firstRows: string[] = [];

  it('publishes a first version', async () => {
    const r = await run('zeta.yaml', []);
    assert.equal(r.code, 0, r.stderr);
    first = await current();
    assert.ok(first?.startsWith('zeta-views-'));
    firstRows = await viewRows(view());
    assert.ok(firstRows.length > 100);
  });

  it('a misspelled input path is INPUT_EMPTY while planning: exit 2, the param named, the view unchanged', async () => {
    const r = await run('zeta.yaml', ['--param', `input=${ws.dataUri}/master/pagevews`]);
    assert.equal(r.code, 2, r.stderr);
    const err = (JSON.parse(r.stdout) as ErrorJson).error;
    assert.equal(err?.code, 'INPUT_EMPTY');
    assert.equal(err?.details.dataset, 'pageviews');
    assert.equal(err?.details.uri, `${ws.dataUri}/master/pagevews`);
    assert.deepEqual(Object.keys(err?.details.params as object), ['input']);
    assert.equal(await current(), first);
    assert.deepEqual(await viewRows(view()), firstRows);
  });

  it('allowEmpty: true lets the empty input run, and the shrink guard then refuses the empty view (exit 1, VIEW_SHRINK)', async () => {
    const r = await run('zeta-empty-ok.yaml', ['--param', `input=${ws.dataUri}/master/pagevews`]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(failedCodes(r.stdout), ['VIEW_SHRINK']);
    assert.equal(await current(), first);
  });

  it('a view dropping most rows is VIEW_SHRINK; --allow-shrink publishes it', async () => {
    const small = `${ws.dataUri}/small/master/pageviews`;
    const r = await run('zeta.yaml', ['--param', `input=${small}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(failedCodes(r.stdout), ['VIEW_SHRINK']);
    assert.equal(await current(), first);
    assert.deepEqual(await viewRows(view()), firstRows);
    const ok = await run('zeta.yaml', ['--param', `input=${small}`, '--allow-shrink']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.notEqual(await current(), first);
    assert.ok((await viewRows(view())).length < firstRows.length / 2);
  });

  it('history lists the publications; rollback restores the first version as a new publication', async () => {
    const h = await runCli(ws, ['dataset', 'history', view(), '--json']);
    assert.equal(h.code, 0, h.stderr);
    const pubs = (JSON.parse(h.stdout) as { publications: { seq: number; version: string; operation: string; producer?: { dag: string; runId: string }; rows: number; files: number; current: boolean }[] }).publications;
    assert.deepEqual(pubs.map((p) => [p.seq, p.operation, p.producer?.dag, p.current]), [[1, 'publish', 'zeta-views', false], [2, 'publish', 'zeta-views', true]]);
    assert.equal(pubs[0]?.version, first);
    assert.equal(pubs[0]?.rows, firstRows.length);
    const rb = await runCli(ws, ['dataset', 'rollback', view(), '--to', '1', '--json']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(await current(), first);
    assert.deepEqual(await viewRows(view()), firstRows);
    const h2 = JSON.parse((await runCli(ws, ['dataset', 'history', view(), '--json'])).stdout) as { publications: { seq: number; operation: string; restoredFrom?: number }[] };
    assert.deepEqual(h2.publications.at(-1), { ...h2.publications.at(-1), seq: 3, operation: 'rollback', restoredFrom: 1 });
    const bad = await runCli(ws, ['dataset', 'rollback', view(), '--to', '42', '--json']);
    assert.equal(bad.code, 1);
    assert.equal((JSON.parse(bad.stdout) as ErrorJson).error?.code, 'VERSION_NOT_FOUND');
  });

  it('the renamed DAG (its name sorting first) is refused naming the producer, then publishes when it takes the datasets over', async () => {
    await addDays(ws, { rows: 600, days: 1, start: '2024-03-05', seed: 9 });
    const r = await run('alpha.yaml', []);
    assert.equal(r.code, 1, r.stderr);
    const err = (JSON.parse(r.stdout) as ErrorJson).error;
    assert.equal(err?.code, 'DATASET_PRODUCER_CONFLICT');
    assert.equal((err?.details.producer as { dag: string }).dag, 'zeta-views');
    assert.deepEqual((err?.details.conflicts as { dataset: string }[]).map((c) => c.dataset).sort(), ['distinct', 'over-time']);
    assert.equal(await current(), first);
    const ok = await run('alpha.yaml', ['--take-over', 'distinct', '--take-over', 'over-time']);
    assert.equal(ok.code, 0, ok.stderr);
    const now = await current();
    assert.ok(now?.startsWith('alpha-views-'), now);
    const rows = await viewRows(view());
    assert.ok(rows.length > firstRows.length, 'the new day is in the current view');
    const pubs = JSON.parse((await runCli(ws, ['dataset', 'history', view(), '--json'])).stdout) as { publications: { seq: number; producer?: { dag: string }; current: boolean }[] };
    assert.deepEqual(pubs.publications.at(-1), { ...pubs.publications.at(-1), seq: 4, current: true, producer: { ...pubs.publications.at(-1)?.producer, dag: 'alpha-views' } });
  });
});
