/**
 * paramsKey: a short, stable key of a task's parsed operator params (canonical JSON, so key order
 * and defaults spelled out or left out do not matter), recorded on planned instances and cost
 * samples. The cost model pools samples of the same operator, stage and params across tasks and
 * DAGs (scheduler/plan/cost.ts, the params level): `dagctl calibrate`'s runs of a shipped DAG
 * then predict a user's first run of a task with the same params. Pure.
 */
import { fingerprint } from '../../core/hash.js';

export function paramsKey(params: unknown): string {
  return fingerprint(params ?? {}).slice(0, 16);
}
