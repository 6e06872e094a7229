/**
 * RedisRunStore: the RunStore of distributed runs. Run state lives in Redis (layout in keys.ts,
 * every key of a run under the hash tag {runId}); events are applied by the apply Lua script,
 * the reducer's twin, so any number of processes (workers, the submitting CLI, `dagctl cancel`)
 * can apply events to the same run concurrently and each gets the effects of its own batch.
 *
 * Besides the RunStore port it offers the reads the BullMQ dispatcher and sweeper need, each in
 * one round trip: statuses of a set of instances (JobResolver.needs), the active (queued/running)
 * instances, and the runs not finished yet.
 *
 * Retention: when a run finishes, its summary goes to the summaries hash and every key of the run
 * expires after `retentionMs` (option, else DAGCTL_RUN_RETENTION as a duration, default 7 days;
 * 0 keeps them forever); `dagctl runs` lists expired runs from their summaries. A retry (reset)
 * or resume of a finished run within its retention makes its keys permanent again.
 *
 * Kept UI pages (ui/server/view-cache.ts): pageToken / keepPage / keptPage, the run's `page` key,
 * written only while the run's page token is current, expiring with the run, deleted on revival.
 *
 * Preconditions: Redis ≥ 6.2 with Lua; the connection is owned by the caller when passed in
 * (close() then leaves it open), else by the store.
 */
import { jobKeyFromEnv, withMac } from '../../workers/bullmq/job-auth.js';
import type { Redis } from 'ioredis';
import { DagctlError, errorMessage } from '../../core/errors.js';
import type { CostSample, FailedAttempt, InstanceResult, InstanceStatus } from '../model.js';
import { NON_RETRYABLE_CODES, type Effect, type RunEvent } from '../engine/events.js';
import { indexPlan, type RunState } from '../engine/state.js';
import { runExists, type RunRecord, type RunTrigger, type RunStore, type RunSummary, type WorkReclaimed } from '../ports.js';
import { policiesOf } from '../stores/policies.js';
import { parseDuration } from '../../core/duration.js';
import { ACTIVE_RUNS, HISTORY, RUN_SUMMARIES, RUNS_INDEX, applyScriptKeys, createScriptKeys, historyOfKey, runKeys, runsOfDagKey } from './keys.js';
import { LuaScript } from './script.js';
import { APPLY_LUA } from './lua/apply.js';
import { CREATE_LUA } from './lua/create.js';

const applyScript = new LuaScript('apply', APPLY_LUA);
/** The meta fields a kept page's token is made of (pageToken): any applied event moves `seq`. */
const PAGE_TOKEN_FIELDS = ['createdAt', 'seq', 'phase', 'finishedAt'] as const;
/**
 * keepPage's write: only while the run's page token (the meta fields in ARGV[3..], joined by ':'
 * as pageTokenOf does) is still ARGV[1], with the run's remaining retention as its expiry.
 * KEYS: meta, page. Returns 1 when written.
 */
const keepPageScript = new LuaScript(
  'keep-page',
  `local f = {}
for i = 3, #ARGV do f[#f + 1] = ARGV[i] end
local m = redis.call('HMGET', KEYS[1], unpack(f))
if not m[3] then return 0 end
local t = {}
for i = 1, #f do t[i] = m[i] or '' end
if table.concat(t, ':') ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl) else redis.call('SET', KEYS[2], ARGV[2]) end
return 1`,
);
const createScript = new LuaScript('create', CREATE_LUA);
const NON_RETRYABLE_ARG = [...NON_RETRYABLE_CODES].join(',');
const STATES = ['pending', 'queued', 'running', 'succeeded', 'failed', 'upstream_failed', 'skipped', 'cancelled'] as const;
/** Cost history is a capped list: calibration only needs recent samples. */
const HISTORY_CAP = 100_000;

export type Status = InstanceStatus & { pendingDeps: number };

export interface BatchResult {
  effects: Effect[];
  phase: RunState['phase'];
  cancelRequested: boolean;
  /** Statuses of the requested ids after the batch (no results, no failed attempts' records). */
  statuses: Map<string, Status>;
  /**
   * With `withDispatchStatuses`: the dispatched instances and their plan deps after the batch, with
   * results and failed attempts (as statuses() reads them), for the dispatcher to build their jobs
   * without another round trip; empty when none or too many were dispatched.
   */
  known: Map<string, Status>;
}

export type { WorkReclaimed } from '../ports.js';

export interface RunMeta {
  runId: string;
  dag: string;
  phase: RunState['phase'];
  cancelRequested: boolean;
  createdAt: number;
}

/** How long a finished run's keys stay (DAGCTL_RUN_RETENTION, a duration; '0' = forever). */
export function runRetentionMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.DAGCTL_RUN_RETENTION;
  if (text === undefined || text === '') return 7 * 24 * 3600 * 1000;
  if (text === '0') return 0;
  const ms = parseDuration(text);
  if (ms === null || ms < 0) throw new DagctlError('USAGE', `DAGCTL_RUN_RETENTION: expected a duration such as 7d or 12h (0 keeps runs forever), got "${text}"`);
  return ms;
}

export class RedisRunStore implements RunStore {
  private readonly retentionMs: number;

  constructor(
    readonly redis: Redis,
    private readonly ownsConnection = false,
    opts: { retentionMs?: number } = {},
  ) {
    this.retentionMs = opts.retentionMs ?? runRetentionMs();
  }

  async createRun(unsigned: RunRecord, state: RunState): Promise<void> {
    // With DAGCTL_JOB_KEY the stored record carries its MAC: workers refuse an edited one.
    const record = withMac(jobKeyFromEnv(), unsigned);
    const k = runKeys(record.runId);
    const index = indexPlan(record.plan, policiesOf(record.dag));
    const argv: string[] = [JSON.stringify(record)];
    const meta: string[] = ['dag', state.dag, 'phase', state.phase, 'createdAt', String(record.createdAt), 'cancelRequested', state.cancelRequested ? '1' : '0', 'seq', String(state.seq)];
    if (state.startedAt !== undefined) meta.push('startedAt', String(state.startedAt));
    if (state.finishedAt !== undefined) meta.push('finishedAt', String(state.finishedAt));
    if (record.trigger !== undefined) meta.push('trigger', JSON.stringify(record.trigger));
    argv.push(JSON.stringify(meta), String(record.plan.length));
    const failed: string[] = [];
    for (const [i, p] of record.plan.entries()) {
      const s = state.instances[p.id] ?? { state: 'pending', attempts: 0, pendingDeps: p.deps.length };
      const { result, failedAttempts, ...status } = s;
      if (failedAttempts !== undefined) failed.push(p.id, JSON.stringify(failedAttempts));
      const entry: Record<string, unknown> = { i, t: p.task, d: p.deps, dn: index.dependents.get(p.id) ?? [], r: p.round, n: p.rounds };
      if (p.iterateMetric !== undefined) entry.m = p.iterateMetric;
      if (p.rounds > 1) entry.b = `${p.task}.${p.stage}`;
      if (p.kind === 'work') entry.s = p.stageIndex;
      argv.push(p.id, s.state, JSON.stringify(status), JSON.stringify(entry), result === undefined ? '' : JSON.stringify(result), s.notBefore !== undefined ? '1' : '');
    }
    argv.push(String(index.rounds.size));
    for (const [key, ids] of index.rounds) argv.push(key, JSON.stringify(ids));
    const policies = Object.entries(index.policies);
    argv.push(String(policies.length));
    for (const [task, pol] of policies) argv.push(task, JSON.stringify(pol));
    try {
      await createScript.run(this.redis, createScriptKeys(k), argv);
    } catch (e) {
      if (errorMessage(e).includes('RUN_EXISTS')) {
        // A creator killed between the script and the global indexes left the run complete but
        // unlisted; a second create of the same id (a scheduler's deterministic tick id after a
        // failover) finishes the listing before it reports the run as existing.
        await this.listExisting(record.runId, record.dag.name);
        throw runExists(record.runId);
      }
      throw storeError(e, `cannot create run ${record.runId}`);
    }
    // An initial state carrying failed attempts (a copied run's): their records, beside the statuses.
    if (failed.length > 0) await this.redis.hset(k.fa, ...failed);
    // Global indexes: separate commands (another slot on Cluster), idempotent, so listExisting
    // can redo them.
    await this.redis
      .multi()
      .zadd(RUNS_INDEX, record.createdAt, record.runId)
      .zadd(runsOfDagKey(record.dag.name), record.createdAt, record.runId)
      .sadd(ACTIVE_RUNS, record.runId)
      .exec();
  }

  /** RunStore.listExisting: the global index entries of an existing run (createdAt from its meta; active unless finished). */
  async listExisting(runId: string, dag: string): Promise<void> {
    const meta = await this.redis.hgetall(runKeys(runId).meta);
    const createdAt = Number(meta.createdAt);
    if (!Number.isFinite(createdAt)) return;
    const m = this.redis.multi().zadd(RUNS_INDEX, createdAt, runId).zadd(runsOfDagKey(meta.dag ?? dag), createdAt, runId);
    if (meta.phase !== 'succeeded' && meta.phase !== 'failed' && meta.phase !== 'cancelled') m.sadd(ACTIVE_RUNS, runId);
    await m.exec();
  }

  async getRecord(runId: string): Promise<RunRecord | null> {
    const text = await this.getRecordText(runId);
    return text === null ? null : (JSON.parse(text) as RunRecord);
  }

  /** The record's JSON text as stored (workers hand it to their threads as is: a string clones cheaply). */
  async getRecordText(runId: string): Promise<string | null> {
    return this.redis.get(runKeys(runId).record).catch((e: unknown) => {
      throw storeError(e, `cannot read run ${runId}`);
    });
  }

  async getState(runId: string): Promise<RunState | null> {
    const k = runKeys(runId);
    const out = await this.redis.multi().hgetall(k.meta).lrange(k.order, 0, -1).hgetall(k.st).hgetall(k.res).hgetall(k.fa).exec();
    if (out === null) throw new DagctlError('REDIS_UNAVAILABLE', `cannot read run ${runId}: transaction aborted`);
    const [meta, order, st, res, fa] = out.map(([err, v]) => {
      if (err) throw storeError(err, `cannot read run ${runId}`);
      return v;
    }) as [Record<string, string>, string[], Record<string, string>, Record<string, string>, Record<string, string>];
    if (meta.phase === undefined) return null;
    const instances: RunState['instances'] = {};
    for (const id of order) {
      const raw = st[id];
      if (raw === undefined) continue;
      instances[id] = decodeStatus(raw, res[id], fa[id]);
    }
    const state: RunState = {
      runId,
      dag: meta.dag ?? '',
      phase: meta.phase as RunState['phase'],
      createdAt: Number(meta.createdAt),
      cancelRequested: meta.cancelRequested === '1',
      seq: Number(meta.seq ?? 0),
      instances,
    };
    if (meta.startedAt !== undefined) state.startedAt = Number(meta.startedAt);
    if (meta.finishedAt !== undefined) state.finishedAt = Number(meta.finishedAt);
    return state;
  }

  async apply(runId: string, events: RunEvent[]): Promise<Effect[]> {
    if (events.length === 0) return [];
    return (await this.applyBatch(runId, events)).effects;
  }

  /**
   * Applies the events and returns, from the same atomic step, the run's phase and cancel flag and
   * the status of `viewId` (a worker's `started` and its "may I run this attempt?" in one trip).
   */
  async applyAndView(runId: string, events: RunEvent[], viewId: string): Promise<{ effects: Effect[]; phase: RunState['phase']; cancelRequested: boolean; status: Status | null }> {
    const r = await this.applyBatch(runId, events, viewId === '' ? [] : [viewId]);
    return { effects: r.effects, phase: r.phase, cancelRequested: r.cancelRequested, status: r.statuses.get(viewId) ?? null };
  }

  /**
   * Applies a batch of events (several workers' jobs' `started` and completions, in the order
   * given) in one atomic step, and returns the merged effects, the run's phase and cancel flag, and
   * the statuses of `viewIds` after the batch (absent when unknown); with `withDispatchStatuses`,
   * also `known` (see BatchResult).
   */
  async applyBatch(runId: string, events: readonly RunEvent[], viewIds: readonly string[] = [], withDispatchStatuses = false): Promise<BatchResult> {
    const k = runKeys(runId);
    // Results go as ARGV of their own (see the script's header), after the view ids.
    const results: string[] = [];
    const firstResult = 4 + viewIds.length;
    let wire = '[';
    events.forEach((e, i) => (wire += (i === 0 ? '' : ',') + encodeEvent(e, results, firstResult)));
    wire += ']';
    let reply: unknown;
    try {
      reply = await applyScript.run(this.redis, applyScriptKeys(k), [wire, NON_RETRYABLE_ARG, `${viewIds.length}${withDispatchStatuses ? '+' : ''}`, ...viewIds, ...results]);
    } catch (e) {
      if (errorMessage(e).includes('RUN_NOT_FOUND')) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
      throw storeError(e, `cannot apply events to run ${runId}`);
    }
    const [dispatch, abort, wake, finished, phase, cancel, views, knownFlat] = reply as [string[], string[], string, string, string, string, string[], string[]];
    const fx: Effect[] = [];
    if (dispatch.length > 0) fx.push({ type: 'dispatch', ids: dispatch });
    if (abort.length > 0) fx.push({ type: 'abort', ids: abort });
    if (wake !== '') fx.push({ type: 'wake', at: Number(wake) });
    if (finished !== '') {
      fx.push({ type: 'finished', phase: finished as RunState['phase'] });
      await this.retire(runId);
    } else if (events.some((e) => e.type === 'reset' || e.type === 'recover' || e.type === 'start')) {
      await this.revive(runId);
    }
    const statuses = new Map<string, Status>();
    viewIds.forEach((id, i) => {
      const v = views[i];
      if (v !== undefined && v !== '') statuses.set(id, decodeStatus(v, undefined, undefined));
    });
    const known = new Map<string, Status>();
    for (let i = 0; i + 3 < knownFlat.length; i += 4) {
      const [id, st, res, fa] = [knownFlat[i] as string, knownFlat[i + 1] as string, knownFlat[i + 2] as string, knownFlat[i + 3] as string];
      known.set(id, decodeStatus(st, res === '' ? undefined : res, fa === '' ? undefined : fa));
    }
    return { effects: fx, phase: phase as RunState['phase'], cancelRequested: cancel === '1', statuses, known };
  }

  async listRuns(opts: { dag?: string; limit?: number } = {}): Promise<RunSummary[]> {
    const key = opts.dag === undefined ? RUNS_INDEX : runsOfDagKey(opts.dag);
    const ids = await this.redis.zrevrange(key, 0, opts.limit === undefined ? -1 : opts.limit - 1);
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(runKeys(id).meta).hgetall(runKeys(id).cnt);
    p.hmget(RUN_SUMMARIES, ...ids);
    const out = (await p.exec()) ?? [];
    const kept = (out[2 * ids.length]?.[1] ?? []) as Array<string | null>;
    const list: RunSummary[] = [];
    ids.forEach((runId, i) => {
      const meta = out[2 * i]?.[1] as Record<string, string> | undefined;
      const cnt = out[2 * i + 1]?.[1] as Record<string, string> | undefined;
      if (meta?.phase !== undefined && cnt !== undefined) list.push(summaryOf(runId, meta, cnt));
      else if (typeof kept[i] === 'string') list.push({ ...(JSON.parse(kept[i]) as RunSummary), expired: true });
    });
    return list;
  }

  /** A finished run: its summary kept for `runs`, its keys set to expire after the retention. */
  private async retire(runId: string): Promise<void> {
    const k = runKeys(runId);
    const r = await this.redis.multi().hgetall(k.meta).hgetall(k.cnt).exec();
    const meta = (r?.[0]?.[1] ?? {}) as Record<string, string>;
    const cnt = (r?.[1]?.[1] ?? {}) as Record<string, string>;
    const m = this.redis.multi().srem(ACTIVE_RUNS, runId);
    if (meta.phase !== undefined) m.hset(RUN_SUMMARIES, runId, JSON.stringify(summaryOf(runId, meta, cnt)));
    if (this.retentionMs > 0) for (const key of retainedKeys(runId)) m.pexpire(key, this.retentionMs);
    await m.exec();
  }

  /** Records that a finished run's work files were reclaimed (workers/reclaim.ts) and how many. */
  async markWorkReclaimed(runId: string, r: WorkReclaimed): Promise<void> {
    await this.redis.hset(runKeys(runId).meta, 'workReclaimed', JSON.stringify(r));
  }

  /** What markWorkReclaimed recorded for the run's last finish, or null (kept, or not yet). */
  async workReclaimed(runId: string): Promise<WorkReclaimed | null> {
    const v = await this.redis.hget(runKeys(runId).meta, 'workReclaimed');
    return v === null ? null : (JSON.parse(v) as WorkReclaimed);
  }

  /**
   * The change token of a run's kept page (ui/server/view-cache.ts): its createdAt, seq (moved by
   * every applied event: a reset, resume, retry or late completion), phase and finishedAt; null
   * when the run does not exist.
   */
  async pageToken(runId: string): Promise<string | null> {
    return pageTokenOf(await this.redis.hmget(runKeys(runId).meta, ...PAGE_TOKEN_FIELDS));
  }

  /** Keeps a finished run's page (opaque bytes), when `token` is still its page token (returns whether it did). */
  async keepPage(runId: string, token: string, data: Buffer): Promise<boolean> {
    const k = runKeys(runId);
    return (await keepPageScript.run(this.redis, [k.meta, k.page], [token, data, ...PAGE_TOKEN_FIELDS])) === 1;
  }

  /** The kept page's bytes (null: none) and the run's page token now (null: no run), in one round trip. */
  async keptPage(runId: string): Promise<{ token: string | null; data: Buffer | null }> {
    const k = runKeys(runId);
    const r = await this.redis.multi().hmget(k.meta, ...PAGE_TOKEN_FIELDS).getBuffer(k.page).exec();
    return { token: pageTokenOf((r?.[0]?.[1] ?? []) as Array<string | null>), data: (r?.[1]?.[1] ?? null) as Buffer | null };
  }

  /** A run going again (start, resume, retry): active, its keys no longer expire, its kept page gone. */
  private async revive(runId: string): Promise<void> {
    const m = this.redis.multi().sadd(ACTIVE_RUNS, runId).hdel(RUN_SUMMARIES, runId).hdel(runKeys(runId).meta, 'workReclaimed').del(runKeys(runId).page);
    for (const key of retainedKeys(runId)) m.persist(key);
    await m.exec();
  }

  async latestRunId(dag?: string): Promise<string | null> {
    const [id] = await this.redis.zrevrange(dag === undefined ? RUNS_INDEX : runsOfDagKey(dag), 0, 0);
    return id ?? null;
  }

  async appendSamples(samples: CostSample[]): Promise<void> {
    if (samples.length === 0) return;
    const m = this.redis.multi();
    const texts = samples.map((s) => JSON.stringify(s));
    m.rpush(HISTORY, ...texts).ltrim(HISTORY, -HISTORY_CAP, -1);
    // Grouped by pushing into each operator's list (a worker flushes thousands at a time: no copies).
    const byOp = new Map<string, string[]>();
    samples.forEach((s, i) => {
      const list = byOp.get(s.operator);
      if (list === undefined) byOp.set(s.operator, [texts[i] as string]);
      else list.push(texts[i] as string);
    });
    for (const [op, list] of byOp) m.rpush(historyOfKey(op), ...list).ltrim(historyOfKey(op), -HISTORY_CAP, -1);
    await m.exec();
  }

  async history(opts: { operator?: string; limit?: number } = {}): Promise<CostSample[]> {
    const key = opts.operator === undefined ? HISTORY : historyOfKey(opts.operator);
    const list = await this.redis.lrange(key, opts.limit === undefined ? 0 : -opts.limit, -1);
    return list.map((s) => JSON.parse(s) as CostSample);
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit().catch(() => undefined);
  }

  // ---- beyond the port: what dispatch, sweeping and the CLI need ----

  /** Statuses (with results) of the given instances, in one round trip. */
  async statuses(runId: string, ids: readonly string[]): Promise<Map<string, Status>> {
    const out = new Map<string, Status>();
    if (ids.length === 0) return out;
    const k = runKeys(runId);
    const r = await this.redis.multi().hmget(k.st, ...ids).hmget(k.res, ...ids).hmget(k.fa, ...ids).exec();
    const st = (r?.[0]?.[1] ?? []) as Array<string | null>;
    const res = (r?.[1]?.[1] ?? []) as Array<string | null>;
    const fa = (r?.[2]?.[1] ?? []) as Array<string | null>;
    ids.forEach((id, i) => {
      const raw = st[i];
      if (raw !== null && raw !== undefined) out.set(id, decodeStatus(raw, res[i] ?? undefined, fa[i] ?? undefined));
    });
    return out;
  }

  /** Phase and cancel flag of a run, or null. */
  async meta(runId: string): Promise<RunMeta | null> {
    const [dag, phase, cancel, createdAt] = await this.redis.hmget(runKeys(runId).meta, 'dag', 'phase', 'cancelRequested', 'createdAt');
    if (phase === null || phase === undefined) return null;
    return { runId, dag: dag ?? '', phase: phase as RunState['phase'], cancelRequested: cancel === '1', createdAt: Number(createdAt) };
  }

  /** Instances in state queued or running, with their statuses (no results). */
  async activeInstances(runId: string): Promise<Map<string, Status>> {
    const k = runKeys(runId);
    const ids = await this.redis.smembers(k.active);
    const out = new Map<string, Status>();
    if (ids.length === 0) return out;
    const raw = await this.redis.hmget(k.st, ...ids);
    ids.forEach((id, i) => {
      const s = raw[i];
      if (s !== null && s !== undefined) out.set(id, decodeStatus(s, undefined, undefined));
    });
    return out;
  }

  /** Whether any instance waits out a retry backoff (the sweeper then fires `tick`). */
  async hasBackoff(runId: string): Promise<boolean> {
    return (await this.redis.zcard(runKeys(runId).backoff)) > 0;
  }

  /** Runs not finished yet. */
  async activeRuns(): Promise<string[]> {
    return this.redis.smembers(ACTIVE_RUNS);
  }

  /** The run's sequence number (count of applied events), or null: a cheap "did it change?". */
  async seq(runId: string): Promise<number | null> {
    const v = await this.redis.hget(runKeys(runId).meta, 'seq');
    return v === null ? null : Number(v);
  }

  /** Drops a finished (or vanished) run from the active-runs set. */
  async forgetActive(runId: string): Promise<void> {
    await this.redis.srem(ACTIVE_RUNS, runId);
  }

  /** What a worker checks before running an attempt, in one round trip: run meta + the status. */
  async attemptView(runId: string, id: string): Promise<{ meta: RunMeta | null; status: Status | null }> {
    const k = runKeys(runId);
    const r = await this.redis.multi().hmget(k.meta, 'dag', 'phase', 'cancelRequested', 'createdAt').hget(k.st, id).exec();
    const [dag, phase, cancel, createdAt] = (r?.[0]?.[1] ?? []) as Array<string | null>;
    const raw = (r?.[1]?.[1] ?? null) as string | null;
    const meta: RunMeta | null = phase === null || phase === undefined ? null : { runId, dag: dag ?? '', phase: phase as RunState['phase'], cancelRequested: cancel === '1', createdAt: Number(createdAt) };
    return { meta, status: raw === null ? null : decodeStatus(raw, undefined, undefined) };
  }

  /**
   * Bundle membership (keys.ts `bundles`): records that these instances' current dispatch rides
   * in a bundle job. Written before the bundle is added, so a crash in between leaves an entry
   * naming a missing job — which the sweeper treats as lost and re-adds.
   */
  async recordBundles(runId: string, entries: ReadonlyArray<{ id: string; attempt: number; queuedAt: number; jobId: string }>): Promise<void> {
    if (entries.length === 0) return;
    const flat: string[] = [];
    for (const e of entries) flat.push(e.id, `${e.attempt}|${e.queuedAt}|${e.jobId}`);
    await this.redis.hset(runKeys(runId).bundles, ...flat);
  }

  /** Raw membership entries of the given instances (null: none), in one round trip. */
  async bundleEntries(runId: string, ids: readonly string[]): Promise<Array<string | null>> {
    if (ids.length === 0) return [];
    return this.redis.hmget(runKeys(runId).bundles, ...ids);
  }

  /** Drops membership entries (members re-added as single jobs), or the whole map (ids omitted). */
  async forgetBundles(runId: string, ids?: readonly string[]): Promise<void> {
    const k = runKeys(runId).bundles;
    if (ids === undefined) await this.redis.del(k);
    else if (ids.length > 0) await this.redis.hdel(k, ...ids);
  }

  /** Takes the run's sweep lease for `ms` (one sweeper per run per interval); false if held. */
  async takeSweepLease(runId: string, owner: string, ms: number): Promise<boolean> {
    return (await this.redis.set(runKeys(runId).sweep, owner, 'PX', ms, 'NX')) === 'OK';
  }
}

/**
 * RunEvent → the apply script's wire form, as JSON text. A result is appended to `results` (its
 * own ARGV, 1-based Lua index `first + position`) instead of being escaped into the event.
 */
function encodeEvent(e: RunEvent, results: string[], first: number): string {
  if (e.type === 'succeeded') {
    const { result, ...rest } = e;
    results.push(JSON.stringify(result));
    const wire: Record<string, unknown> = { ...rest, ri: first + results.length - 1, memo: result.memoized };
    if (result.prune !== undefined && result.prune.length > 0) wire.pr = result.prune;
    if (result.worker !== undefined) wire.worker = result.worker;
    return JSON.stringify(wire);
  }
  return JSON.stringify(e);
}

/** A status from its hash fields: the status JSON, its result and failed attempts (when read). */
function decodeStatus(raw: string, result: string | undefined, failed: string | undefined): Status {
  const s = JSON.parse(raw) as Status;
  if (result !== undefined) s.result = JSON.parse(result) as InstanceResult;
  if (failed !== undefined) s.failedAttempts = JSON.parse(failed) as FailedAttempt[];
  return s;
}

/**
 * The run keys retention expires (and a revival makes permanent again): all but the sweeper's lease,
 * which carries its own short expiry — made permanent, it would lock every other sweeper out.
 */
function retainedKeys(runId: string): string[] {
  const { sweep: _lease, ...kept } = runKeys(runId);
  return Object.values(kept);
}

/** PAGE_TOKEN_FIELDS' values joined by ':' (missing: ''), as keepPageScript does; null without a phase. */
function pageTokenOf(values: ReadonlyArray<string | null | undefined>): string | null {
  if (values[2] === null || values[2] === undefined) return null;
  return PAGE_TOKEN_FIELDS.map((_f, i) => values[i] ?? '').join(':');
}

function summaryOf(runId: string, meta: Record<string, string>, cnt: Record<string, string>): RunSummary {
  const counts: Record<string, number> = {};
  let n = 0;
  for (const s of STATES) {
    const c = Number(cnt[s] ?? 0);
    if (c > 0) counts[s] = c;
    n += c;
  }
  const out: RunSummary = { runId, dag: meta.dag ?? '', phase: meta.phase as RunSummary['phase'], createdAt: Number(meta.createdAt), instances: n, counts, trigger: { kind: 'manual' } };
  if (meta.startedAt !== undefined) out.startedAt = Number(meta.startedAt);
  if (meta.finishedAt !== undefined) out.finishedAt = Number(meta.finishedAt);
  if (meta.trigger !== undefined) out.trigger = JSON.parse(meta.trigger) as RunTrigger;
  return out;
}

function storeError(e: unknown, what: string): DagctlError {
  if (e instanceof DagctlError) return e;
  const msg = errorMessage(e);
  // A script error is a bug or a corrupt run, not an outage.
  if (msg.includes('Error running script') || msg.includes('ERR user_script')) return new DagctlError('RUN_STATE_INVALID', `${what}: ${msg}`, {}, { cause: e });
  return new DagctlError('REDIS_UNAVAILABLE', `${what}: ${msg}`, {}, { cause: e });
}

