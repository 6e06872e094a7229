/**
 * RedisScheduleState: the schedule state of distributed schedulers (keys in redis/keys.ts).
 * advance() is fenced: one script writes the cursor only while sched:leader still holds this
 * process's lease value, so a deposed leader cannot move a cursor back or forward; putTriggers
 * (the data triggers' state, sched:triggers) is fenced by the same script.
 */
import type { Redis } from 'ioredis';
import { SCHED_CURSOR, SCHED_LEADER, SCHED_PAUSED, SCHED_TRIGGERS } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import { decodeTriggerState, type DagScheduleState, type ScheduleState } from './state.js';
import type { TriggerState } from './triggers.js';

const ADVANCE = new LuaScript(
  'sched-advance',
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`,
);

export class RedisScheduleState implements ScheduleState {
  constructor(
    private readonly redis: Redis,
    /** The lease value to fence writes with (null: not leader, every advance is refused). */
    private readonly token: () => string | null,
  ) {}

  async get(dag: string): Promise<DagScheduleState> {
    const [raw, paused] = await Promise.all([this.redis.hget(SCHED_CURSOR, dag), this.redis.sismember(SCHED_PAUSED, dag)]);
    return decode(raw, paused === 1);
  }

  async advance(dag: string, cursor: number, lastRunId?: string): Promise<boolean> {
    const token = this.token();
    if (token === null) return false;
    let last = lastRunId;
    if (last === undefined) last = (await this.get(dag)).lastRunId;
    const body = JSON.stringify(last === undefined ? { cursor } : { cursor, lastRunId: last });
    return Number(await ADVANCE.run(this.redis, [SCHED_LEADER, SCHED_CURSOR], [token, dag, body])) === 1;
  }

  async getTriggers(dag: string): Promise<TriggerState> {
    const raw = await this.redis.hget(SCHED_TRIGGERS, dag);
    return raw === null ? { seen: [] } : decodeTriggerState(raw);
  }

  async putTriggers(dag: string, st: TriggerState): Promise<boolean> {
    const token = this.token();
    if (token === null) return false;
    return Number(await ADVANCE.run(this.redis, [SCHED_LEADER, SCHED_TRIGGERS], [token, dag, JSON.stringify(st)])) === 1;
  }

  async resetTriggers(dag: string, st: TriggerState | null): Promise<void> {
    if (st === null) await this.redis.hdel(SCHED_TRIGGERS, dag);
    else await this.redis.hset(SCHED_TRIGGERS, dag, JSON.stringify(st));
  }

  async setPaused(dag: string, paused: boolean): Promise<void> {
    if (paused) await this.redis.sadd(SCHED_PAUSED, dag);
    else await this.redis.srem(SCHED_PAUSED, dag);
  }

  async list(): Promise<Record<string, DagScheduleState>> {
    const [all, paused] = await Promise.all([this.redis.hgetall(SCHED_CURSOR), this.redis.smembers(SCHED_PAUSED)]);
    const out: Record<string, DagScheduleState> = {};
    for (const d of [...new Set([...Object.keys(all), ...paused])].sort()) out[d] = decode(all[d] ?? null, paused.includes(d));
    return out;
  }

  async close(): Promise<void> {}
}

function decode(raw: string | null, paused: boolean): DagScheduleState {
  const out: DagScheduleState = { paused };
  if (raw === null) return out;
  const j = JSON.parse(raw) as { cursor?: number; lastRunId?: string };
  if (typeof j.cursor === 'number') out.cursor = j.cursor;
  if (typeof j.lastRunId === 'string') out.lastRunId = j.lastRunId;
  return out;
}
