/**
 * Views are Delta Lake tables, read by a foreign engine: delta-rs (Python `deltalake` from PyPI,
 * provisioned by scripts/provision/deltalake.sh, which prints DAGCTL_DELTALAKE_PYTHON). A real DAG
 * (test/integration/support.ts) publishes its view three times over growing data; delta-rs reads
 * the current version and each earlier one by time travel, compared row for row with dagctl's own
 * reading of the same publication. A rollback is a new Delta version (RESTORE) equal to the
 * restored one; vacuum never deletes a file of the current Delta snapshot. A corrupt log entry
 * refuses the next publication (DELTA_LOG_INVALID naming the file), leaving the view unchanged;
 * `dataset verify` names a file the log lists but storage lacks.
 * A partial-recompute view merges on read with Delta deletion vectors (inline, table features
 * reader 3 / writer 7), and delta-rs reads each version exactly as dagctl and the full recompute.
 * Without DAGCTL_DELTALAKE_PYTHON the suite skips — or fails when CI is set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generate } from '../../gen/generate.js';
import { deltaCheckpointKey, deltaCommitKey, readDeltaSnapshot } from '../../storage/dataset/delta-log.js';
import { history } from '../../storage/dataset/history.js';
import { manifestKey, parseJson } from '../../storage/dataset/layout.js';
import { readCurrent, readPublished } from '../../storage/dataset/publish.js';
import type { DagctlError } from '../../core/errors.js';
import { readRows } from '../../storage/dataset/read.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { Manifest, Row } from '../../storage/types.js';
import { addDays, runCli, viewRows, workspace, type Workspace } from './support.js';

const PYTHON = process.env.DAGCTL_DELTALAKE_PYTHON;

/**
 * Prints {"version": latest, "rows": {"<v>": [canonical row JSON, ...]}} for the asked versions
 * ("current" too). Read through delta-rs's DataFusion scan (QueryBuilder), which applies deletion
 * vectors (its pyarrow dataset path refuses tables with the deletionVectors feature).
 */
const READER = `
import json, sys
import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder
uri, versions = sys.argv[1], sys.argv[2:]
def canon(t):
    out = []
    for r in t.to_pylist():
        out.append(json.dumps({k: (v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in r.items()}, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return sorted(out)
res = {"version": DeltaTable(uri).version(), "rows": {}}
for v in versions:
    t = DeltaTable(uri) if v == "current" else DeltaTable(uri, version=int(v))
    res["rows"][v] = canon(pa.table(QueryBuilder().register("t", t).execute("select * from t").read_all()))
print(json.dumps(res))
`;

interface DeltaRead { version: number; rows: Record<string, string[]> }

function readWithDeltaRs(path: string, versions: string[]): Promise<DeltaRead> {
  return new Promise((res, rej) => {
    const child = spawn(PYTHON!, ['-c', READER, path, ...versions], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(JSON.parse(out) as DeltaRead) : rej(new Error(`delta-rs reader exited ${String(code)}: ${err}`))));
  });
}

/** The same canonical form as the Python reader: sorted keys, bytes as hex. */
function canon(r: Row): string {
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(r).sort()) {
    const v = r[k];
    o[k] = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? Number(v) : v;
  }
  return JSON.stringify(o);
}

describe('views are Delta Lake tables (delta-rs from PyPI reads them)', function () {
  this.timeout(300_000);
  let ws: Workspace;
  const view = (): string => `${ws.dataUri}/views/over-time`;
  const viewPath = (): string => fileURLToPath(view());
  const run = (): Promise<{ code: number | null; stdout: string; stderr: string }> => runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
  /** dagctl's reading of publication `seq` (its manifest's files). */
  const dagctlRows = async (seq: number): Promise<string[]> => {
    const store = await openObjectStore(view());
    const pub = (await history(store)).find((e) => e.seq === seq);
    assert.ok(pub !== undefined, `publication ${seq}`);
    const m = parseJson<Manifest>(await store.get(manifestKey(pub.version)), pub.version);
    const out: string[] = [];
    for await (const b of readRows(store, m.files, defaultCodec())) for (const r of b) out.push(canon(r));
    return out.sort();
  };

  before(async function () {
    if (PYTHON === undefined || PYTHON === '') {
      if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
        throw new Error('DAGCTL_DELTALAKE_PYTHON is not set but CI is: run `eval "$(scripts/provision/deltalake.sh start)"` first');
      }
      this.skip();
    }
    ws = await workspace({ rows: 1500, days: 2, seed: 11 });
  });
  after(async () => { if (ws !== undefined) await rm(ws.dir, { recursive: true, force: true }); });

  it('three publications: delta-rs reads the current version and each earlier one by time travel, as dagctl does', async () => {
    for (const [i, start] of ['', '2024-03-05', '2024-03-07'].entries()) {
      if (start !== '') await addDays(ws, { rows: 800, days: 1, start, seed: 20 + i });
      const r = await run();
      assert.equal(r.code, 0, r.stderr);
    }
    const snap = await readDeltaSnapshot(await openObjectStore(view()));
    assert.equal(snap?.version, 2);
    assert.equal(snap?.seq, 3);
    const read = await readWithDeltaRs(viewPath(), ['current', '0', '1', '2']);
    assert.equal(read.version, 2);
    const expected = [await dagctlRows(1), await dagctlRows(2), await dagctlRows(3)];
    assert.ok(expected[0]!.length > 100 && expected[2]!.length > expected[0]!.length, 'the view grew');
    assert.notDeepEqual(expected[1], expected[2]);
    assert.deepEqual(read.rows.current, expected[2]);
    for (const v of [0, 1, 2]) assert.deepEqual(read.rows[String(v)], expected[v], `Delta version ${v} = publication ${v + 1}`);
  });

  it('a rollback is a new Delta version (RESTORE) equal to the restored publication', async () => {
    const rb = await runCli(ws, ['dataset', 'rollback', view(), '--to', '1', '--json']);
    assert.equal(rb.code, 0, rb.stderr);
    const log = (await readFile(join(viewPath(), deltaCommitKey(3)), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, { operation?: string; dagctl?: { seq?: number; restoredFrom?: number } }>);
    const info = log.find((a) => a.commitInfo !== undefined)?.commitInfo;
    assert.equal(info?.operation, 'RESTORE');
    assert.deepEqual([info?.dagctl?.seq, info?.dagctl?.restoredFrom], [4, 1]);
    const read = await readWithDeltaRs(viewPath(), ['current', '2']);
    assert.equal(read.version, 3);
    assert.deepEqual(read.rows.current, await dagctlRows(1));
    assert.deepEqual(read.rows['2'], await dagctlRows(3), 'time travel still reads the version before the rollback');
  });

  it('vacuum never deletes a file of the current Delta snapshot', async () => {
    const v = await runCli(ws, ['dataset', 'vacuum', view(), '--keep', '1', '--older-than', '0s', '--json']);
    assert.equal(v.code, 0, v.stderr);
    const report = JSON.parse(v.stdout) as { deletedFiles: string[] };
    assert.ok(report.deletedFiles.length > 0, 'vacuum removed the files of dropped versions');
    const snap = await readDeltaSnapshot(await openObjectStore(view()));
    for (const f of snap!.files.keys()) assert.ok(!report.deletedFiles.includes(f), `vacuum deleted ${f}, which the current Delta snapshot lists`);
    const read = await readWithDeltaRs(viewPath(), ['current']);
    assert.deepEqual(read.rows.current, await dagctlRows(4));
    const ok = await runCli(ws, ['dataset', 'verify', view(), '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { uri: view(), log: true, version: 3, seq: 4, currentSeq: 4, behind: false, files: snap!.files.size });
    // A file the log lists but storage lacks: `dataset verify` names it.
    const copy = join(ws.dir, 'lost-file');
    await cp(viewPath(), copy, { recursive: true });
    const lost = [...snap!.files.keys()].sort()[0]!;
    await rm(join(copy, lost));
    const bad = await runCli(ws, ['dataset', 'verify', pathToFileURL(copy).href, '--json']);
    assert.notEqual(bad.code, 0);
    const err = (JSON.parse(bad.stdout) as { error?: { code: string; details: Record<string, unknown> } }).error;
    assert.deepEqual([err?.code, err?.details.file], ['DELTA_LOG_INVALID', lost]);
  });

  it('past 10 versions delta-rs reads the checkpoint: the commits before it deleted, it still reads the current version', async () => {
    const store = await openObjectStore(view());
    const pubs = (await history(store)).length;
    for (let i = pubs; i < 12; i++) {
      await addDays(ws, { rows: 100, days: 1, start: `2024-04-${String(i + 1).padStart(2, '0')}`, seed: 100 + i });
      const r = await run();
      assert.equal(r.code, 0, r.stderr);
    }
    const snap = await readDeltaSnapshot(store);
    assert.equal(snap?.version, 11);
    assert.ok((await store.head(deltaCheckpointKey(9))) !== null, 'a checkpoint at version 9');
    // A reader that needs the checkpoint: the commits it covers are gone.
    const copy = join(ws.dir, 'checkpointed');
    await cp(viewPath(), copy, { recursive: true });
    for (let v = 0; v < 9; v++) await rm(join(copy, deltaCommitKey(v)));
    const read = await readWithDeltaRs(copy, ['current']);
    assert.equal(read.version, 11);
    assert.deepEqual(read.rows.current, await dagctlRows(12));
    const mine = await readDeltaSnapshot(await openObjectStore(pathToFileURL(copy).href));
    assert.deepEqual([...mine!.files.keys()].sort(), [...snap.files.keys()].sort(), 'dagctl reads the checkpoint too');
  });

  it('a corrupt Delta log entry refuses the next publication: DELTA_LOG_INVALID naming the file, the view unchanged', async () => {
    const store = await openObjectStore(view());
    const before = (await readCurrent(store))?.pointer.version;
    const key = deltaCommitKey(11); // the latest commit (the checkpoint of version 9 covers the earlier ones)
    await writeFile(join(viewPath(), key), '{"add": {"path": "part-1.parquet", "si');
    await addDays(ws, { rows: 300, days: 1, start: '2024-03-09', seed: 40 });
    const r = await run();
    assert.notEqual(r.code, 0);
    const out = `${r.stdout}\n${r.stderr}`;
    assert.match(out, /DELTA_LOG_INVALID/);
    assert.ok(out.includes(key), 'the error names the corrupt file');
    assert.equal((await readPublished(store))?.pointer.version, before, '_CURRENT unchanged');
    // dagctl's readers take the files from the log: a corrupt entry is an error naming it, never a partial read.
    const err = await readCurrent(store).then(() => null, (e: DagctlError) => e);
    assert.equal(err?.code, 'DELTA_LOG_INVALID');
    assert.equal(err?.details.file, key);
  });
});

describe('a partial-recompute view merges on read with Delta deletion vectors (delta-rs reads it)', function () {
  this.timeout(300_000);
  let dir: string | undefined;
  before(function () {
    if (PYTHON === undefined || PYTHON === '') {
      if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') throw new Error('DAGCTL_DELTALAKE_PYTHON is not set but CI is');
      this.skip();
    }
  });
  after(async () => { if (dir !== undefined) await rm(dir, { recursive: true, force: true }); });

  it('viewUpdate=merge-on-read: versions with deletion vectors; delta-rs = dagctl = full recompute, each version by time travel', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-delta-mor-'));
    const data = pathToFileURL(join(dir, 'data')).href;
    const ws: Workspace = { dir, dag: join(dir, 'bday.yaml'), dataUri: data, home: join(dir, '.dagctl') };
    const dag = await readFile(resolve('dags/birthday-inference.yaml'), 'utf8');
    assert.ok(!dag.includes('delta: false'), 'the example view has a Delta log');
    await writeFile(ws.dag, dag);
    const gen = async (uri: string, seed: number, start: string, rows: number): Promise<void> => {
      await generate('ages', { store: await openObjectStore(uri), rows, seed, start, days: 1, persons: 800 });
    };
    await gen(`${data}/master/ages`, 3, '2024-01-01', 6000);
    for (const [i, b] of ['A', 'B', 'C'].entries()) await gen(`${data}/incoming/${b}`, 10 + i, `2024-02-0${1 + i}`, 150);
    const view = `${data}/views/birthdays`;
    const versions: string[][] = [];
    const dagctlRead = async (): Promise<string[]> => {
      const store = await openObjectStore(view);
      const cur = await readCurrent(store);
      const mine: string[] = [];
      for await (const b of readRows(store, cur!.manifest.files, defaultCodec())) for (const r of b) mine.push(canon(r));
      return mine.sort();
    };
    for (const [i, b] of ['A', 'B', 'C'].entries()) {
      if (i > 0) await gen(`${data}/master/ages`, 10 + i - 1, `2024-02-0${i}`, 150);
      const r = await runCli(ws, ['run', ws.dag, '--param', `data=${data}`, '--param', `batch=${data}/incoming/${b}`, '--param', 'mode=partial', '--param', 'viewUpdate=merge-on-read', '--param', 'buckets=3', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const tasks = (JSON.parse(r.stdout) as { tasks: { name: string; stage: string; metrics?: Record<string, number> }[] }).tasks.filter((t) => t.name === 'birthdays-partial' && t.stage === 'plan');
      if (i > 0) {
        assert.equal(tasks.reduce((a, t) => a + (t.metrics?.partial ?? 0), 0), 1, 'the run was partial');
        assert.ok(tasks.reduce((a, t) => a + (t.metrics?.mergeOnRead ?? 0), 0) > 0, 'merged on read');
        const cur = await readCurrent(await openObjectStore(view));
        assert.ok(cur!.manifest.files.some((f) => (f.deletes?.count ?? 0) > 0), 'the version lists files with deletion vectors');
        const commit = await readFile(join(fileURLToPath(view), deltaCommitKey(i)), 'utf8');
        assert.match(commit, /"deletionVector":\{"storageType":"i"/);
      }
      versions.push(await dagctlRead());
      assert.deepEqual(await viewRows(view), await viewRows(`${data}/views/birthdays-full`), `run ${b}: merge-on-read = full recompute`);
    }
    const read = await readWithDeltaRs(fileURLToPath(view), ['current', '0', '1', '2']);
    assert.equal(read.version, 2);
    assert.deepEqual(read.rows.current, versions[2]);
    for (const v of [0, 1, 2]) assert.deepEqual(read.rows[String(v)], versions[v], `Delta version ${v}`);
    assert.notDeepEqual(versions[1], versions[2]);
  });
});
