/**
 * Every Redis key dagctl uses, built here and nowhere else.
 *
 * All keys of one run share the hash tag `{runId}`, so the run's Lua scripts touch a single slot
 * and work on Redis Cluster. The few global keys (run index, cost history, active runs) are only
 * ever touched by single commands, never inside a run's script.
 *
 * Scheduler keys: see SCHED_LEADER below.
 *
 * Run keys (prefix `dagctl:run:{R}:`):
 *   record   string  the RunRecord JSON (immutable)
 *   meta     hash    dag, phase, createdAt, startedAt, finishedAt, cancelRequested (0/1), seq, total
 *   cnt      hash    instance state → count (summaries and the O(1) "is the run done" check)
 *   st       hash    instance id → status JSON (InstanceStatus + pendingDeps, without `result`)
 *   res      hash    instance id → InstanceResult JSON exactly as the client sent it
 *   fa       hash    instance id → JSON array of its failed attempts (InstanceStatus.failedAttempts)
 *   plan     hash    instance id → static plan entry JSON {i, t, dn, r, n, m?, k?}
 *   order    list    instance ids in plan order
 *   rounds   hash    `<task>.<stage>.r<round>` → JSON array of instance ids (iterative stages)
 *   policy   hash    task → RetryPolicy JSON
 *   backoff  zset    ids waiting out a retry backoff (score = plan order, for deterministic ticks)
 *   active   set     ids in state queued or running (what the sweeper checks against BullMQ)
 *   sweep    string  the sweeper's short lease (one sweeper per run per interval)
 *   bundles  hash    instance id → `<attempt>|<queuedAt>|<bundle job id>`: the bundle job that
 *                    carries that dispatch of the instance (written before the job is added; the
 *                    sweeper checks that job instead of the instance's own; stale entries — another
 *                    attempt or dispatch — are ignored)
 *   page     string  the finished run's UI page (ui/server/view-cache.ts: a header line with the
 *                    run's page token, then the page JSON); expires with the run, deleted when it
 *                    goes again (RedisRunStore.keepPage / keptPage)
 *
 * Worker keys (global, single commands only):
 *   workers          zset    worker name → last heartbeat (ms): the index `dagctl workers` reads
 *   worker:<name>    string  the worker's heartbeat JSON (workers/bullmq/heartbeat.ts), expiring a
 *                            few heartbeats after the last one, so a killed worker drops out
 *
 * Speed-layer keys (serving/speed/): see speedKeys below.
 *
 * Precondition: run ids match [A-Za-z0-9._-]+ (no braces, no ':'), checked by runKeys().
 */
import { DagctlError } from '../../core/errors.js';

export const KEY_PREFIX = 'dagctl';

/** Prefix of BullMQ's own keys. Queue names are wrapped in a hash tag (see queueName). */
export const BULL_PREFIX = `${KEY_PREFIX}:bull`;

export interface RunKeys {
  record: string;
  meta: string;
  cnt: string;
  st: string;
  res: string;
  fa: string;
  plan: string;
  order: string;
  rounds: string;
  policy: string;
  backoff: string;
  active: string;
  sweep: string;
  bundles: string;
  page: string;
}

const RUN_ID = /^[A-Za-z0-9._-]{1,200}$/;

export function assertRunId(runId: string): void {
  if (!RUN_ID.test(runId)) throw new DagctlError('RUN_NOT_FOUND', `invalid run id "${runId}"`);
}

export function runKeys(runId: string): RunKeys {
  assertRunId(runId);
  const base = `${KEY_PREFIX}:run:{${runId}}:`;
  return {
    record: `${base}record`,
    meta: `${base}meta`,
    cnt: `${base}cnt`,
    st: `${base}st`,
    res: `${base}res`,
    fa: `${base}fa`,
    plan: `${base}plan`,
    order: `${base}order`,
    rounds: `${base}rounds`,
    policy: `${base}policy`,
    backoff: `${base}backoff`,
    active: `${base}active`,
    sweep: `${base}sweep`,
    bundles: `${base}bundles`,
    page: `${base}page`,
  };
}

/** The index of live workers (zset: name → last heartbeat). */
export const WORKERS_KEY = `${KEY_PREFIX}:workers`;

/** One worker's heartbeat record. */
export function workerKey(name: string): string {
  return `${KEY_PREFIX}:worker:${name}`;
}

/** The KEYS array of the apply script, in its header's order. */
export function applyScriptKeys(k: RunKeys): string[] {
  return [k.meta, k.cnt, k.st, k.res, k.plan, k.order, k.rounds, k.policy, k.backoff, k.active, k.fa];
}

/** The KEYS array of the create script, in its header's order. */
export function createScriptKeys(k: RunKeys): string[] {
  return [k.record, k.meta, k.cnt, k.st, k.res, k.plan, k.order, k.rounds, k.policy, k.backoff, k.active];
}

/** Global: every run, score = createdAt. */
export const RUNS_INDEX = `${KEY_PREFIX}:runs`;

/** Global: the runs of one DAG, score = createdAt. */
export function runsOfDagKey(dag: string): string {
  return `${KEY_PREFIX}:runs:dag:${dag}`;
}

/**
 * Global: run id → RunSummary JSON of each finished run, written when it finishes. A finished run's
 * own keys expire after the retention (redis-run-store.ts); its summary stays, so `dagctl runs`
 * keeps listing its history.
 */
export const RUN_SUMMARIES = `${KEY_PREFIX}:runs:summary`;

/** Global: runs not finished yet (what sweepers look at). */
export const ACTIVE_RUNS = `${KEY_PREFIX}:active-runs`;

/** Global: cost samples (JSON list), all operators and per operator. */
export const HISTORY = `${KEY_PREFIX}:history`;
export function historyOfKey(operator: string): string {
  return `${KEY_PREFIX}:history:op:${operator}`;
}

/**
 * BullMQ queue name for a dagctl queue. The hash tag keeps all of one queue's BullMQ keys in one
 * Cluster slot (BullMQ's scripts need that); the name has no ':' (BullMQ forbids it).
 */
export function queueName(queue: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(queue)) throw new DagctlError('QUEUE_FAILED', `invalid queue name "${queue}"`);
  return `{dagctl-${queue}}`;
}

export const DEFAULT_QUEUE = 'default';

/**
 * Deterministic BullMQ job id of one attempt: `<runId>.<instanceId>.a<attempt>`, with every ':'
 * (and anything else BullMQ or Redis might mind) replaced. Equal inputs give equal ids, so
 * re-enqueueing an attempt is a no-op while its job exists.
 */
export function jobId(runId: string, instanceId: string, attempt: number): string {
  return `${runId}.${instanceId}.a${attempt}`.replace(/[^A-Za-z0-9._=-]/g, '_');
}

/**
 * Deterministic BullMQ job id of a bundle (several instances' attempts in one job): its first
 * member's attempt id plus a member-count tag, `<runId>.<first>.a<attempt>.bundle<n>`. A member is
 * dispatched once per attempt, so its first member names a bundle uniquely; re-adding is a no-op.
 */
export function bundleJobId(runId: string, firstInstanceId: string, attempt: number, members: number): string {
  return `${jobId(runId, firstInstanceId, attempt)}.bundle${members}`;
}

/**
 * Scheduler keys (global; single commands or scripts over these keys only):
 *   sched:leader   string  `<fence>:<owner>` of the leader lease, with a TTL
 *   sched:fence    string  INCR counter: each lease acquisition gets a larger fencing token
 *   sched:cursor   hash    DAG name → JSON {cursor, lastRunId}, written only under the lease
 *   sched:paused   set     paused DAG names (`dagctl pause`)
 *   sched:triggers hash    DAG name → JSON TriggerState (data triggers), written only under the lease
 */
export const SCHED_LEADER = `${KEY_PREFIX}:sched:leader`;
export const SCHED_FENCE = `${KEY_PREFIX}:sched:fence`;
export const SCHED_CURSOR = `${KEY_PREFIX}:sched:cursor`;
export const SCHED_PAUSED = `${KEY_PREFIX}:sched:paused`;
export const SCHED_TRIGGERS = `${KEY_PREFIX}:sched:triggers`;

/**
 * Speed-layer keys of one view (serving/speed/state.ts), all under the hash tag `{speed:VIEW}` so
 * the apply and expire scripts touch one Cluster slot:
 *   offsets   hash    Kafka partition → last offset applied (the micro-batch marker, written in the
 *                     same script as the increments: a replayed batch is recognised and skipped)
 *   meta      hash    maxHour (latest hour applied), expiredBelow (hours before it were dropped:
 *                     the batch view absorbed them), ttl (seconds an hour is kept past its end)
 *   hours     zset    hour start → hour start, every hour holding realtime data
 *   pv:<H>    hash    url → pageviews in the hour starting at H (epoch seconds)
 *   hll:<H>   hash    url → the hour's HLL sketch in dagctl's format (docs/serving.md)
 */
export interface SpeedKeys {
  prefix: string;
  offsets: string;
  meta: string;
  hours: string;
  pv(hour: number): string;
  hll(hour: number): string;
}

const VIEW_NAME = /^[A-Za-z0-9._-]{1,200}$/;

export function speedKeys(view: string): SpeedKeys {
  if (!VIEW_NAME.test(view)) throw new DagctlError('PARAM_INVALID', `invalid view name "${view}" for the speed layer (expected [A-Za-z0-9._-]+)`, { view });
  const prefix = `${KEY_PREFIX}:speed:{${view}}:`;
  return {
    prefix,
    offsets: `${prefix}offsets`,
    meta: `${prefix}meta`,
    hours: `${prefix}hours`,
    pv: (hour) => `${prefix}pv:${hour}`,
    hll: (hour) => `${prefix}hll:${hour}`,
  };
}
