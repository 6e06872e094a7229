/**
 * The registry's built-ins are light descriptors whose implementations load on the first run
 * (operators/lazy.ts): each registered operator carries exactly its implementation's metadata
 * (same params schema object, version, cost, arity and stages), runs through the lazily imported
 * implementation with the same result, and a failed import is retried instead of cached. A child
 * process that validates a DAG naming every built-in never imports an implementation module.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getOperator, operatorNames } from '../../operators/registry.js';
import { lazyOperator } from '../../operators/lazy.js';
import { normalize } from '../../operators/normalize/normalize.js';
import { dedupe } from '../../operators/dedupe/dedupe.js';
import { equivComponents } from '../../operators/equiv-components/equiv-components.js';
import { rollup } from '../../operators/rollup/rollup.js';
import { bloomJoin } from '../../operators/bloom-join.js';
import { partialRecompute } from '../../operators/partial-recompute/partial-recompute.js';
import { parseAccessLog } from '../../operators/parse-access-log/parse-access-log.js';
import { readRecords } from '../../operators/read-records.js';
import { sql } from '../../operators/sql.js';
import { exec } from '../../operators/exec/exec.js';
import { noop } from '../../operators/noop.js';
import type { AnyOperator, StageContext } from '../../operators/types.js';
import { runOperator } from './harness.js';

const IMPLEMENTATIONS: AnyOperator[] = [normalize, dedupe, equivComponents, rollup, bloomJoin, partialRecompute, parseAccessLog, readRecords, sql, exec, noop] as AnyOperator[];

describe('operators: lazy built-ins (descriptor + implementation on first run)', () => {
  it('every registered built-in has its implementation\'s metadata', () => {
    assert.deepEqual(operatorNames(), IMPLEMENTATIONS.map((o) => o.name).sort());
    for (const impl of IMPLEMENTATIONS) {
      const reg = getOperator(impl.name);
      assert.ok(reg !== undefined, impl.name);
      assert.equal(reg.params, impl.params, `${impl.name}: the same params schema`);
      assert.equal(reg.version, impl.version);
      assert.deepEqual(reg.cost, impl.cost);
      assert.deepEqual([reg.inputs, reg.outputs], [impl.inputs, impl.outputs]);
      for (const inputs of [impl.inputs.min, impl.inputs.max]) {
        const p = impl.params.safeParse({});
        if (p.success) assert.deepEqual(reg.stages(p.data, { inputs }), impl.stages(p.data, { inputs }), impl.name);
      }
    }
  });

  it('runs through the lazily imported implementation with the same result', async () => {
    const reg = getOperator('normalize')!;
    const rows = [{ url: 'HTTP://Foo.com/a?utm_source=x', person: 'cookie:1', ts: 1 }];
    const viaRegistry = await runOperator(reg, {}, { inputs: [{ rows }] });
    const direct = await runOperator(normalize as AnyOperator, {}, { inputs: [{ rows }] });
    assert.deepEqual(viaRegistry.outputs[0]!.rows, direct.outputs[0]!.rows);
    assert.equal(viaRegistry.outputs[0]!.rows[0]!.url, 'http://foo.com/a');
  });

  it('imports once, and retries an import that failed', async () => {
    let loads = 0;
    const op = lazyOperator<unknown>({ ...(noop as AnyOperator) }, async () => {
      loads++;
      if (loads === 1) throw new Error('first import fails');
      return { ...(noop as AnyOperator), run: () => Promise.resolve({ metrics: { ran: 1 } }) };
    });
    const ctx = {} as StageContext<unknown>;
    await assert.rejects(op.run(ctx), /first import fails/);
    assert.deepEqual(await op.run(ctx), { metrics: { ran: 1 } });
    assert.deepEqual(await op.run(ctx), { metrics: { ran: 1 } });
    assert.equal(loads, 2);
  });

  it('validating a DAG that names every built-in imports no implementation', () => {
    const dist = fileURLToPath(new URL('../../', import.meta.url));
    const impls = ['normalize/normalize', 'dedupe/dedupe', 'equiv-components/equiv-components', 'rollup/rollup', 'bloom-join', 'partial-recompute/partial-recompute', 'parse-access-log/parse-access-log', 'read-records', 'sql', 'exec/exec'];
    // A module resolve hook (on the loader thread) reports every URL resolved; the child validates
    // a draft naming each operator, then prints the implementation modules that were resolved.
    const hook = `export async function resolve(s, c, next) { const r = await next(s, c); globalThis.port?.postMessage(r.url); return r; } export function initialize(d) { globalThis.port = d.port; }`;
    const child = `
      import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const seen = [];
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (u) => seen.push(u)); port1.unref();
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { port: port2 }, transferList: [port2] });
      const { validateDagText } = await import(${JSON.stringify(`${dist}definitions/validate.js`)});
      const names = ${JSON.stringify(['noop', 'normalize', 'dedupe', 'equiv-components', 'rollup', 'bloom-join', 'partial-recompute', 'parse-access-log', 'read-records', 'sql', 'exec'])};
      const text = JSON.stringify({ apiVersion: 'dagctl/v1', kind: 'Dag', metadata: { name: 'all' }, tasks: names.map((n) => ({ name: 't-' + n, operator: n })) });
      const r = validateDagText(text, 'all.json');
      await new Promise((ok) => setTimeout(ok, 50));
      const impls = ${JSON.stringify(impls)}.filter((m) => seen.some((u) => u.endsWith('/operators/' + m + '.js')));
      console.log(JSON.stringify({ issues: r.issues.length, sawRegistry: seen.some((u) => u.endsWith('/operators/registry.js')), impls }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { issues: number; sawRegistry: boolean; impls: string[] };
    assert.ok(out.issues > 0, 'the draft was validated (its tasks lack params and datasets)');
    assert.equal(out.sawRegistry, true, 'the hook saw the registry load');
    assert.deepEqual(out.impls, []);
  });
});
