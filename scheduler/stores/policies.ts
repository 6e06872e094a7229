/**
 * Retry policies per task, from the resolved DAG: what the reducer's PlanIndex needs.
 */
import type { DagSpec } from '../../definitions/types.js';
import type { RetryPolicy } from '../engine/state.js';

export function policiesOf(dag: DagSpec): Record<string, RetryPolicy> {
  const out: Record<string, RetryPolicy> = {};
  for (const t of dag.tasks) out[t.name] = { retries: t.retries, backoffMs: t.retryBackoffMs, backoffMaxMs: t.retryBackoffMaxMs };
  return out;
}
