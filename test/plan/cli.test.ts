/**
 * `dagctl cost steady-state` and `dagctl plan`: JSON shapes, exit codes (0; 1 for an unmeetable
 * deadline; 2 for bad input or an invalid DAG).
 */
import assert from 'node:assert/strict';
import { runCli } from '../definitions/support/cli-io.js';

interface CostJson {
  before: { hours: number | null };
  after: { hours: number | null };
  converges: boolean;
  elasticity: number | null;
}

describe('cli: cost steady-state', () => {
  it('prints before/after T* as JSON', async () => {
    const r = await runCli(['cost', 'steady-state', '--overhead', '3.33h', '--p', '0.8889', '--cluster-scale', '2', '--json']);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.stdout) as CostJson;
    assert.ok(Math.abs((j.before.hours ?? 0) - 30) < 0.1 && Math.abs((j.after.hours ?? 0) - 6) < 0.1);
    assert.equal(j.converges, true);
    assert.ok(Math.abs((j.elasticity ?? 0) - 8) < 0.01);
  });

  it('exits 0 with converges: false when the loop diverges', async () => {
    const r = await runCli(['cost', 'steady-state', '--overhead', '1h', '--p', '0.95', '--failure-rate', '0.1', '--json']);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.stdout) as CostJson;
    assert.equal(j.converges, false);
    assert.equal(j.after.hours, null);
  });

  it('exits 2 with COST_INVALID on bad input', async () => {
    for (const argv of [['--overhead', 'soon', '--p', '0.5'], ['--overhead', '1h', '--p', 'x'], ['--overhead', '1h'], ['--overhead', '1h', '--p', '0.5', '--failure-rate', '1']]) {
      const r = await runCli(['cost', 'steady-state', ...argv, '--json']);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'COST_INVALID');
    }
  });
});

describe('cli: plan', () => {
  const DAG = 'test/fixtures/valid/noop-chain.yaml';

  it('plans a valid DAG as JSON', async () => {
    const r = await runCli(['plan', DAG, '--workers', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { dag: string; report: { instances: number; tasks: { task: string }[]; makespan: { workers: number } } };
    assert.equal(j.dag, 'noop-chain');
    assert.deepEqual(j.report.tasks.map((t) => t.task), ['start', 'fan', 'left', 'right', 'join']);
    assert.ok(j.report.instances >= 5);
    assert.equal(j.report.makespan.workers, 2);
  });

  it('exits 1 when no worker count meets the deadline, 2 on bad options or an invalid DAG', async () => {
    assert.equal((await runCli(['plan', DAG, '--deadline', '1ms'])).code, 1);
    assert.equal((await runCli(['plan', DAG, '--deadline', '1h'])).code, 0);
    assert.equal((await runCli(['plan', DAG, '--workers', '0'])).code, 2);
    assert.equal((await runCli(['plan', DAG, '--deadline', 'soon'])).code, 2);
    assert.equal((await runCli(['plan', 'test/fixtures/invalid/cycle-depends.yaml'])).code, 2);
  });
});
