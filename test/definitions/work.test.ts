/**
 * `work: keep | reclaim` (the DAG's work-file policy): validated by the schema (SCHEMA_INVALID at
 * the `work` path and line for another value), resolved into DagSpec.work, and combined with
 * `dagctl run --work` (RunOptions.work, which wins) by workers/reclaim.ts — which reclaims only a
 * succeeded run.
 */
import assert from 'node:assert/strict';
import { validateDagText } from '../../definitions/validate.js';
import { reclaimDue, workPolicy } from '../../workers/reclaim.js';
import type { RunOptions } from '../../scheduler/ports.js';

const text = (work: string | null): string => `apiVersion: dagctl/v1\nkind: Dag\nmetadata: { name: wk }\n${work === null ? '' : `work: ${work}\n`}tasks:\n  - { name: a, operator: noop }\n`;

describe('spec: work', () => {
  it('resolves `work:` into the DagSpec; absent stays absent (keep)', () => {
    assert.equal(validateDagText(text('reclaim'), '/dags/wk.yaml').dag?.work, 'reclaim');
    assert.equal(validateDagText(text('keep'), '/dags/wk.yaml').dag?.work, 'keep');
    const none = validateDagText(text(null), '/dags/wk.yaml').dag;
    assert.ok(none !== undefined);
    assert.equal('work' in none, false);
  });

  it('another value is SCHEMA_INVALID at path `work`, on its line, and gives no DagSpec', () => {
    for (const bad of ['sometimes', '1', 'true', '[reclaim]']) {
      const r = validateDagText(text(bad), '/dags/wk.yaml');
      assert.equal(r.dag, undefined, bad);
      const issue = r.issues.find((i) => i.path === 'work');
      assert.equal(issue?.code, 'SCHEMA_INVALID', bad);
      assert.equal(issue?.line, 4, bad);
    }
  });

  it('the run option overrides the DAG; only a succeeded run is reclaimed', () => {
    const opts = (work?: 'keep' | 'reclaim'): RunOptions => ({ force: false, params: {}, executor: 'bullmq', ...(work === undefined ? {} : { work }) });
    const dag = (work?: 'keep' | 'reclaim') => (validateDagText(text(work ?? null), '/dags/wk.yaml').dag ?? assert.fail('invalid'));
    assert.equal(workPolicy({ dag: dag(), options: opts() }), 'keep');
    assert.equal(workPolicy({ dag: dag('reclaim'), options: opts() }), 'reclaim');
    assert.equal(workPolicy({ dag: dag('reclaim'), options: opts('keep') }), 'keep');
    assert.equal(workPolicy({ dag: dag('keep'), options: opts('reclaim') }), 'reclaim');
    const rec = { dag: dag('reclaim'), options: opts() };
    assert.equal(reclaimDue(rec, 'succeeded'), true);
    for (const phase of ['failed', 'cancelled', 'running', 'pending'] as const) assert.equal(reclaimDue(rec, phase), false, phase);
    assert.equal(reclaimDue({ dag: dag(), options: opts() }, 'succeeded'), false);
  });
});
