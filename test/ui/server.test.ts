/**
 * `dagctl ui`'s server over real HTTP and real embedded runs (LocalRunStore under a temp
 * DAGCTL_HOME, driven by the embedded executor): the JSON API, live events, probes, the access
 * rules end to end (token, CSRF, read-only), errors with stable codes, and the CLI refusing a
 * non-loopback bind without a token. Redis: a password in the URL never reaches a page or the API.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { UiDag, UiHome, UiRun, UiView } from '../../ui/api-types.js';
import { publishVersion } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { createUiServer, type UiServer } from '../../ui/server/app.js';
import { localSource, redisSource } from '../../ui/server/sources.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { LocalScheduleState } from '../../scheduler/schedule/state.js';
import { main } from '../../cli/main.js';
import { BIN } from '../distributed/cluster.js';
import { REDIS_URL, requireRedis, testRedis } from '../distributed/redis-env.js';
import { createRun, drive, holdDagYaml, tempDir } from './support.js';
import { until } from '../helpers/until.js';

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as T };
}

/** The page's CSRF token and cookie, as a browser gets them. */
async function csrfOf(base: string): Promise<{ csrf: string; cookie: string }> {
  const page = await fetch(base);
  return { csrf: /name="dagctl-csrf" content="([^"]+)"/.exec(await page.text())?.[1] ?? '', cookie: (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

describe('ui server', function () {
  this.timeout(60_000);
  let home: string;
  let server: UiServer;
  let base: string;
  let runId: string;

  before(async () => {
    home = await tempDir('dagctl-ui-home-');
    const store = new LocalRunStore(home);
    const record = await createRun(store, home, holdDagYaml('ui-api', home, { buckets: 4, failBucket: 2 }));
    runId = record.runId;
    const final = await drive(store, record);
    assert.equal(final.phase, 'failed');
    await store.close();
    await createRun(store, home, holdDagYaml('ui-scheduled', home, { schedule: '{ cron: "30 2 * * *", timezone: Europe/Berlin }' }));
    server = await createUiServer({ sources: [localSource(home)] });
    base = (await server.listen(0, '127.0.0.1')).url;
  });

  after(async () => {
    await server?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('lists DAGs and runs with predicted vs actual', async () => {
    const { status, body } = await json<UiHome>(`${base}api/home`);
    assert.equal(status, 200);
    const local = body.stores.find((s) => s.id === 'local');
    assert.ok(local !== undefined && local.error === null);
    const run = local.runs.find((r) => r.runId === runId);
    assert.equal(run?.phase, 'failed');
    assert.equal(run?.instances, 6);
    assert.ok((run?.predictedMs ?? -1) >= 0);
    assert.ok(run?.durationMs !== null);
    assert.deepEqual(local.dags.map((d) => d.name).sort(), ['ui-api', 'ui-scheduled']);
  });

  it('serves a run page with every instance, its error and why the rest did not run', async () => {
    const { status, body } = await json<UiRun>(`${base}api/runs/${runId}`);
    assert.equal(status, 200);
    assert.equal(body.instances.length, 6);
    const bad = body.instances.find((r) => r.id === 'fan.main.b002');
    assert.equal(bad?.state, 'failed');
    assert.equal(bad?.errorCode, 'TASK_FAILED');
    assert.equal(body.instances.find((r) => r.id === 'hold.main')?.state, 'upstream_failed');
    assert.deepEqual(body.tasks.map((t) => t.name), ['fan', 'hold', 'after']);
    assert.equal(body.actions.cancel, false, 'a finished run');
    assert.equal(body.actions.retry, true, 'a finished embedded run is retried by a detached `dagctl run --resume`');
    assert.equal(body.actions.reason, null);
    const missing = await json<{ error: { code: string } }>(`${base}api/runs/nope-1`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'RUN_NOT_FOUND');
  });

  it('shows a DAG\'s schedule and its next tick (none for an unscheduled DAG)', async () => {
    const before = Date.now();
    const { body } = await json<UiDag>(`${base}api/dags/ui-scheduled`);
    assert.equal(body.schedule?.spec, 'cron 30 2 * * *');
    assert.equal(body.schedule?.timezone, 'Europe/Berlin');
    const next = Date.parse(body.schedule?.nextTick ?? '');
    assert.ok(next > before && next - before <= 25 * 3600_000, `next tick ${body.schedule?.nextTick}`);
    // 02:30 on Berlin's clock, whatever the UTC offset that day (an independent reading via Intl).
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next);
    assert.equal(berlin, '02:30');
    assert.equal((await json<UiDag>(`${base}api/dags/ui-api`)).body.schedule, null);
  });

  it('serves a DAG page: graph, recorded text, plan numbers for N workers and a deadline', async () => {
    const { body } = await json<UiDag>(`${base}api/dags/ui-api?workers=1&deadline=1h`);
    assert.match(body.text, /name: ui-api/);
    assert.deepEqual(body.graph.nodes.map((n) => n.id).sort(), ['dataset:logs', 'task:after', 'task:fan', 'task:hold']);
    assert.deepEqual(body.issues, []);
    assert.equal(body.plan.workers, 1);
    assert.equal(body.plan.deadline?.feasible, true);
    assert.equal(body.plan.deadline?.workers, 1);
    const bad = await json<{ error: { code: string } }>(`${base}api/dags/ui-api?deadline=soon`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'USAGE');
  });

  it('validates the recorded DAG text again against today\'s operators', async () => {
    // A run recorded with an operator this build does not have (as after an upgrade removed it).
    const store = new LocalRunStore(home);
    const rec = await createRun(store, home, holdDagYaml('ui-old', home));
    await store.close();
    const file = join(home, 'runs', rec.runId, 'record.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { dagText: string };
    saved.dagText = saved.dagText.replace('name: hold\n    operator: noop', 'name: hold\n    operator: retired-op');
    await writeFile(file, JSON.stringify(saved));
    const { body } = await json<UiDag>(`${base}api/dags/ui-old`);
    assert.deepEqual(body.issues?.map((i) => [i.code, i.severity, i.path]), [['UNKNOWN_OPERATOR', 'error', 'tasks[1].operator']]);
  });

  it('lists a view\'s published versions, newest first, and which one is current', async () => {
    const store = new LocalRunStore(home);
    const yaml = holdDagYaml('ui-views', home).replace('datasets:\n', `datasets:\n  daily:\n    uri: ${home}/daily\n    format: parquet\n    view: true\n`);
    await createRun(store, home, yaml);
    await store.close();
    const ds = await openObjectStore(`${home}/daily`);
    const file = (n: number) => ({ path: `part-${n}.parquet`, rows: 10 * n, bytes: 100 * n, sha256: 'x'.repeat(64) });
    await publishVersion(ds, { version: 'v001', dataset: 'daily', files: [file(1)], monotonic: true });
    await publishVersion(ds, { version: 'v002', dataset: 'daily', files: [file(1), file(2)], monotonic: true });
    const { body } = await json<UiView>(`${base}api/views/ui-views/daily`);
    assert.equal(body.current, 'v002');
    assert.deepEqual(body.versions.map((v) => [v.version, v.rows, v.files, v.current]), [['v002', 30, 2, true], ['v001', 10, 1, false]]);
    const dag = await json<UiDag>(`${base}api/dags/ui-views`);
    assert.deepEqual(dag.body.views, ['daily']);
    // the declared-but-unwritten view is reported, as `dagctl validate` does
    assert.deepEqual(dag.body.issues?.map((i) => i.code).sort(), ['UNUSED_DATASET', 'VIEW_PRODUCED_BY_NONE']);
    const missing = await json<{ error: { code: string } }>(`${base}api/views/ui-views/logs`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'DATASET_NOT_FOUND');

    // Rollback (CSRF-checked POST): the same code as `dagctl dataset rollback`.
    const { csrf, cookie } = await csrfOf(base);
    const post = (to: string): Promise<{ status: number; body: { restored?: string; alreadyCurrent?: boolean; error?: { code: string } } }> =>
      json(`${base}api/views/ui-views/daily/rollback`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie }, body: JSON.stringify({ to }) });
    assert.equal((await post('v001')).body.error?.code, 'VERSION_VACUUMED', 'its files are not in storage: refused, nothing published');
    assert.equal((await json<UiView>(`${base}api/views/ui-views/daily`)).body.current, 'v002');
    await writeFile(join(home, 'daily', 'part-1.parquet'), 'x');
    const back = await post('v001');
    assert.deepEqual([back.status, back.body.restored, back.body.alreadyCurrent], [200, 'v001', false]);
    assert.equal((await json<UiView>(`${base}api/views/ui-views/daily`)).body.current, 'v001');
    assert.equal((await post('v999')).body.error?.code, 'VERSION_NOT_FOUND');
  });

  it('pauses and unpauses a DAG\'s schedule, as `dagctl pause|unpause` do', async () => {
    assert.equal((await json<UiDag>(`${base}api/dags/ui-scheduled`)).body.schedule?.paused, false);
    const { csrf, cookie } = await csrfOf(base);
    const set = (paused: unknown): Promise<{ status: number; body: { paused?: boolean; error?: { code: string } } }> =>
      json(`${base}api/dags/ui-scheduled/pause`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie }, body: JSON.stringify({ paused }) });
    assert.deepEqual((await set(true)).body.paused, true);
    assert.equal((await new LocalScheduleState(home).get('ui-scheduled')).paused, true, 'the state `dagctl scheduler` reads');
    assert.equal((await json<UiDag>(`${base}api/dags/ui-scheduled`)).body.schedule?.paused, true);
    assert.equal((await set('yes')).body.error?.code, 'USAGE');
    assert.deepEqual((await set(false)).body.paused, false);
    assert.equal((await new LocalScheduleState(home).get('ui-scheduled')).paused, false);
    const noCsrf = await json<{ error: { code: string } }>(`${base}api/dags/ui-scheduled/pause`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"paused":true}' });
    assert.equal(noCsrf.body.error.code, 'UI_FORBIDDEN');
    assert.equal((await new LocalScheduleState(home).get('ui-scheduled')).paused, false);
  });

  it('streams a snapshot of the run over server-sent events', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}api/runs/${runId}/events`, { signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body?.getReader();
    let text = '';
    while (!/event: snapshot\ndata: .*\n\n/.test(text)) {
      const { value, done } = (await reader?.read()) ?? { done: true, value: undefined };
      if (done === true) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    const data = /event: snapshot\ndata: (.*)\n/.exec(text)?.[1];
    assert.ok(data !== undefined, text);
    assert.equal((JSON.parse(data) as UiRun).runId, runId);
  });

  it('answers the probes and serves metrics', async () => {
    assert.equal((await fetch(`${base}healthz`)).status, 200);
    assert.equal((await fetch(`${base}readyz`)).status, 200);
    assert.match(await (await fetch(`${base}metrics`)).text(), /^dagctl_ui_requests_total\{kind="api"\} \d+$/m);
  });

  it('refuses actions without the CSRF token; a finished run cannot be cancelled', async () => {
    const page = await fetch(base);
    const csrf = /name="dagctl-csrf" content="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^dagctl_csrf=/);
    const noToken = await json<{ error: { code: string } }>(`${base}api/runs/${runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noToken.status, 403);
    assert.equal(noToken.body.error.code, 'UI_FORBIDDEN');
    const foreign = await json<{ error: { code: string } }>(`${base}api/runs/${runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie, origin: 'http://evil.example' }, body: '{}' });
    assert.equal(foreign.body.error.code, 'UI_FORBIDDEN');
    const ok = await json<{ error: { code: string } }>(`${base}api/runs/${runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie }, body: '{}' });
    assert.equal(ok.status, 409);
    assert.equal(ok.body.error.code, 'RUN_ACTION_UNSUPPORTED');
    const noTask = await json<{ error: { code: string } }>(`${base}api/runs/${runId}/retry`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie }, body: '{"from":"nope"}' });
    assert.equal(noTask.body.error.code, 'TASK_NOT_FOUND');
  });

  it('retries a cancelled embedded run from a task: reset under its driver lock, driven to the end by a detached `dagctl run --resume`', async function () {
    this.timeout(120_000);
    const barrier = join(home, 'barrier-retry');
    const store = new LocalRunStore(home);
    const record = await createRun(store, home, `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ui-retry }
tasks:
  - { name: first, operator: noop, params: { buckets: 2 } }
  - { name: held, operator: noop, dependsOn: [first], params: { barrier: ${barrier} } }
  - { name: last, operator: noop, dependsOn: [held] }
`);
    // The run is cancelled while its `held` attempt waits at the barrier the test owns.
    const ac = new AbortController();
    const running = drive(store, record, ac.signal);
    await until('a task at the barrier', 30_000, async () => (await readdir(join(barrier, 'arrived')).catch(() => [])).length > 0);
    ac.abort();
    const cancelled = await running;
    await store.close();
    assert.equal(cancelled.phase, 'cancelled');
    const firstDone = Object.entries(cancelled.instances).filter(([id, s]) => id.startsWith('first') && s.state === 'succeeded').length;
    assert.equal(firstDone, 2);

    const page = await fetch(`${base}runs/${record.runId}`);
    const csrf = /name="dagctl-csrf" content="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const view = await json<UiRun>(`${base}api/runs/${record.runId}`);
    assert.deepEqual([view.body.phase, view.body.actions.retry], ['cancelled', true]);
    await writeFile(join(barrier, 'open'), '');
    const r = await json<{ dispatched: number }>(`${base}api/runs/${record.runId}/retry`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie }, body: '{"from":"held"}' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.dispatched, 1); // held (first succeeded and stays done; last waits for held)
    const reader = new LocalRunStore(home);
    await until('the run succeeded', 90_000, async () => (await reader.getState(record.runId))?.phase === 'succeeded');
    const final = (await reader.getState(record.runId))!;
    assert.deepEqual(Object.values(final.instances).map((s) => s.state), Object.values(final.instances).map(() => 'succeeded'));
    // The UI shows the retried run, not its cached cancelled view.
    assert.equal((await json<UiRun>(`${base}api/runs/${record.runId}`)).body.phase, 'succeeded');
    await reader.close();
  });

  it('with --token: pages need it, ?token= sets an HttpOnly cookie and drops it from the URL', async () => {
    const token = 'tok-'.repeat(6);
    const s = await createUiServer({ sources: [localSource(home)], token, readOnly: true });
    const url = (await s.listen(0, '127.0.0.1')).url;
    try {
      assert.equal((await json<{ error: { code: string } }>(`${url}api/home`)).body.error.code, 'UI_UNAUTHORIZED');
      assert.equal((await fetch(`${url}api/home`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await fetch(`${url}healthz`)).status, 200);
      const r = await fetch(`${url}runs/${runId}?token=${token}`, { redirect: 'manual' });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), `/runs/${runId}`);
      const setCookie = r.headers.get('set-cookie') ?? '';
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Strict/);
      const page = await fetch(`${url}runs/${runId}`, { headers: { cookie: setCookie.split(';')[0] ?? '' } });
      const html = await page.text();
      assert.equal(page.status, 200);
      assert.ok(!html.includes(token), 'the token is never echoed in a page');
      // read-only: actions refused even with a valid CSRF token
      const csrf = /name="dagctl-csrf" content="([^"]+)"/.exec(html)?.[1] ?? '';
      const csrfCookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      for (const [path, body] of [[`runs/${runId}/retry`, '{}'], ['dags/ui-scheduled/pause', '{"paused":true}'], ['views/ui-views/daily/rollback', '{"to":"v002"}']]) {
        const act = await json<{ error: { code: string } }>(`${url}api/${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-dagctl-csrf': csrf, cookie: csrfCookie }, body });
        assert.equal(act.body.error.code, 'UI_READ_ONLY', path);
      }
      const run = await json<UiRun>(`${url}api/runs/${runId}`, { headers: { authorization: `Bearer ${token}` } });
      assert.match(run.body.actions.reason ?? '', /read-only/);
    } finally {
      await s.close();
    }
  });

  it('`dagctl ui` serves until SIGTERM, printing where it listens', async () => {
    const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', '--read-only'], { env: { ...process.env, DAGCTL_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    try {
      let out = '';
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
        });
        child.once('exit', (code) => reject(new Error(`dagctl ui exited ${code}`)));
      });
      const info = JSON.parse(line) as { url: string; port: number; stores: string[]; redis: string | null };
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.deepEqual(info.stores, ['local']);
      assert.equal((await fetch(`${info.url}healthz`)).status, 200);
      const run = await json<UiRun>(`${info.url}api/runs/${runId}`);
      assert.match(run.body.actions.reason ?? '', /read-only/);
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('the CLI refuses to bind a non-loopback address without a token', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    err.on('data', (d: Buffer) => (text += d.toString()));
    const code = await main(['ui', '--host', '0.0.0.0', '--port', '0'], { stdout: out, stderr: err, env: { DAGCTL_HOME: home }, cwd: home, interrupted: new AbortController().signal });
    assert.equal(code, 1);
    assert.match(text, /UI_FORBIDDEN/);
  });
});

describe('ui server on Redis', function () {
  this.timeout(60_000);
  requireRedis(this);

  it('never shows the password of the Redis URL', async () => {
    const admin = await testRedis();
    const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
    const user = `ui-${process.pid}`;
    await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
    const u = new URL(REDIS_URL ?? '');
    u.username = user;
    u.password = password;
    const home = await tempDir('dagctl-ui-redis-');
    const source = await redisSource(u.toString(), process.env);
    const s = await createUiServer({ sources: [localSource(home), source] });
    const url = (await s.listen(0, '127.0.0.1')).url;
    try {
      const homeText = await (await fetch(`${url}api/home`)).text();
      const body = JSON.parse(homeText) as UiHome;
      const redis = body.stores.find((x) => x.id === 'redis');
      assert.equal(redis?.error, null);
      assert.match(redis?.label ?? '', new RegExp(`${user}:\\*\\*\\*@`));
      for (const path of ['api/home', '', 'metrics', 'readyz']) assert.ok(!(await (await fetch(url + path)).text()).includes(password), path);
    } finally {
      await s.close();
      await source.close();
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
      await rm(home, { recursive: true, force: true });
    }
  });
});
