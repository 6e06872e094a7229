/**
 * The UI's pure parts: the DAG graph layering (every edge goes to a later layer; checked over
 * random DAGs), live patches (exactly the changed rows), run pages against the run state (an
 * independent count), URL masking, and the access rules (token, Host, CSRF, Origin).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { applyEvents } from '../../scheduler/engine/reducer.js';
import { indexPlan, initialState } from '../../scheduler/engine/state.js';
import { policiesOf } from '../../scheduler/stores/policies.js';
import type { DatasetSpec } from '../../definitions/types.js';
import { checkBind, checkRequest, type RequestFacts } from '../../ui/server/security.js';
import { buildRunView, dagGraph, diffRun, maskUrl, planNumbers, rowKeys } from '../../ui/server/views.js';
import { simulateMakespan } from '../../scheduler/plan/makespan.js';
import { dagOf, diamond, noopTask, recordOf } from '../helpers/dags.js';

const NO_ACTIONS = { cancel: false, retry: false, reason: 'test' };

describe('ui views', () => {
  it('lays out a DAG in layers: every edge goes left to right, nodes of a layer do not overlap', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(20), { maxLength: 3 }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(12), { maxLength: 12 }), (depLists, outputsOf) => {
        // task i may depend on earlier tasks only (a DAG); some tasks output a dataset read by a later one
        const tasks = depLists.map((deps, i) => noopTask(`t${i}`, { dependsOn: [...new Set(deps.filter((d) => d < i).map((d) => `t${d}`))] }));
        const datasets: Record<string, DatasetSpec> = {};
        outputsOf.forEach((o, k) => {
          const from = o % tasks.length;
          const to = (o + 1 + k) % tasks.length;
          if (to <= from) return;
          const name = `d${k}`;
          datasets[name] = { name, uri: `mem://x/${name}`, format: 'parquet', view: false };
          tasks[from]?.outputs.push(name);
          tasks[to]?.inputs.push(name);
        });
        const dag = { ...dagOf('g', tasks), datasets };
        const g = dagGraph(dag);
        const at = new Map(g.nodes.map((n) => [n.id, n]));
        for (const e of g.edges) assert.ok((at.get(e.from)?.layer ?? -1) < (at.get(e.to)?.layer ?? -1), `${e.from} -> ${e.to}`);
        const seen = new Set(g.nodes.map((n) => `${n.x},${n.y}`));
        assert.equal(seen.size, g.nodes.length);
        assert.equal(g.nodes.filter((n) => n.kind === 'task').length, tasks.length);
        assert.equal(g.nodes.filter((n) => n.kind === 'dataset').length, Object.keys(datasets).length);
        for (const n of g.nodes) assert.ok(n.x < g.width && n.y < g.height);
      }),
    );
  });

  it('builds a run page from the state and patches only the rows that changed', () => {
    const dag = diamond();
    const record = recordOf(dag, 'r1', 1000);
    const index = indexPlan(record.plan, policiesOf(dag));
    const state = initialState('r1', dag.name, record.plan, 1000);
    applyEvents(index, state, [{ type: 'start', at: 2000 }]);
    const v1 = buildRunView('local', record, state, 2500, NO_ACTIONS, { predictedMs: 3, predictedWorkers: 4 });
    assert.equal(v1.instances.length, record.plan.length);
    assert.equal(v1.phase, 'running');
    const a = v1.instances.find((r) => r.id === 'a.main');
    assert.equal(a?.state, 'queued');
    applyEvents(index, state, [{ type: 'started', id: 'a.main', attempt: 1, at: 2100, worker: 'w1' }]);
    const v2 = buildRunView('local', record, state, 2600, NO_ACTIONS, { predictedMs: 3, predictedWorkers: 4 });
    const patch = diffRun(rowKeys(v1), v2);
    assert.deepEqual(patch.instances.map((r) => r.id), ['a.main']);
    assert.equal(patch.instances[0]?.state, 'running');
    assert.equal(patch.instances[0]?.worker, 'w1');
    assert.equal(patch.instances[0]?.startMs, 100);
    assert.equal(patch.instances[0]?.durationMs, null, 'a running instance has no final duration');
    assert.equal(diffRun(rowKeys(v2), buildRunView('local', record, state, 2700, NO_ACTIONS, { predictedMs: 3, predictedWorkers: 4 })).instances.length, 0);
    // per-state counts agree with an independent count over the state
    const counts: Record<string, number> = {};
    for (const s of Object.values(state.instances)) counts[s.state] = (counts[s.state] ?? 0) + 1;
    assert.deepEqual(v2.counts, counts);
  });

  it('plan numbers match the list-scheduling makespan and answer a deadline', () => {
    const dag = dagOf('w', [noopTask('a', { params: { buckets: 10 } }), noopTask('b', { dependsOn: ['a'] })]);
    const plan = recordOf(dag, 'p').plan;
    const p = planNumbers(plan, 3, 5);
    assert.equal(p.makespanMs, Math.round(simulateMakespan(plan, 3).makespanMs));
    assert.equal(p.instances, plan.length);
    assert.ok(p.deadline?.feasible);
    assert.ok((p.deadline?.makespanMs ?? Infinity) <= 5);
    assert.equal(planNumbers(plan, 3, 1).deadline?.feasible, false);
  });

  it('masks passwords in URLs', () => {
    assert.equal(maskUrl('redis://user:s3cret@h:6379/2'), 'redis://user:***@h:6379/2');
    assert.ok(!maskUrl('rediss://:pa%40ss@h:1').includes('pa'));
    assert.equal(maskUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  });
});

describe('ui access rules', () => {
  const base: RequestFacts = { method: 'GET', path: '/api/home', host: '127.0.0.1:8080', origin: undefined, authorization: undefined, tokenCookie: undefined, csrfHeader: undefined, csrfCookie: undefined, contentType: undefined };
  const csrf = 'c'.repeat(32);
  const code = (v: ReturnType<typeof checkRequest>): string => (v.ok ? 'ok' : v.code);

  it('binds loopback freely and any other address only with a token', () => {
    checkBind('127.0.0.1', undefined);
    checkBind('::1', undefined);
    checkBind('localhost', undefined);
    assert.throws(() => checkBind('0.0.0.0', undefined), (e) => isDagctlError(e, 'UI_FORBIDDEN'));
    assert.throws(() => checkBind('192.168.1.5', ''), (e) => isDagctlError(e, 'UI_FORBIDDEN'));
    checkBind('0.0.0.0', 't'.repeat(16));
    assert.throws(() => checkBind('0.0.0.0', 'short'), (e) => isDagctlError(e, 'USAGE'));
  });

  it('without a token serves loopback host names only (DNS rebinding)', () => {
    assert.equal(code(checkRequest(base, { token: undefined, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...base, host: 'localhost:8080' }, { token: undefined, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...base, host: 'evil.example:8080' }, { token: undefined, csrf })), 'UI_FORBIDDEN');
    assert.equal(code(checkRequest({ ...base, host: undefined }, { token: undefined, csrf })), 'UI_FORBIDDEN');
  });

  it('with a token requires it (bearer or cookie), except for the probes', () => {
    const token = 'T'.repeat(20);
    assert.equal(code(checkRequest({ ...base, host: 'ui.example' }, { token, csrf })), 'UI_UNAUTHORIZED');
    assert.equal(code(checkRequest({ ...base, host: 'ui.example', authorization: `Bearer ${token}` }, { token, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...base, host: 'ui.example', tokenCookie: token }, { token, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...base, host: 'ui.example', tokenCookie: `${token}x` }, { token, csrf })), 'UI_UNAUTHORIZED');
    assert.equal(code(checkRequest({ ...base, path: '/healthz', host: 'ui.example' }, { token, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...base, path: '/metrics', host: 'ui.example' }, { token, csrf })), 'UI_UNAUTHORIZED');
  });

  it('takes actions only with the CSRF header and cookie, a JSON body and a same-origin Origin', () => {
    const post: RequestFacts = { ...base, method: 'POST', path: '/api/runs/x/cancel', csrfHeader: csrf, csrfCookie: csrf, contentType: 'application/json', origin: 'http://127.0.0.1:8080' };
    assert.equal(code(checkRequest(post, { token: undefined, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...post, origin: undefined }, { token: undefined, csrf })), 'ok');
    assert.equal(code(checkRequest({ ...post, csrfHeader: undefined }, { token: undefined, csrf })), 'UI_FORBIDDEN');
    assert.equal(code(checkRequest({ ...post, csrfCookie: undefined }, { token: undefined, csrf })), 'UI_FORBIDDEN');
    assert.equal(code(checkRequest({ ...post, csrfHeader: 'd'.repeat(32) }, { token: undefined, csrf })), 'UI_FORBIDDEN');
    assert.equal(code(checkRequest({ ...post, origin: 'http://evil.example' }, { token: undefined, csrf })), 'UI_FORBIDDEN');
    assert.equal(code(checkRequest({ ...post, origin: 'null' }, { token: undefined, csrf })), 'UI_FORBIDDEN');
    assert.equal(code(checkRequest({ ...post, contentType: 'text/plain' }, { token: undefined, csrf })), 'UI_FORBIDDEN');
  });
});
