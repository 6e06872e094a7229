/**
 * LeaderLease: the scheduler replicas' leader lease in Redis, with fencing tokens.
 *
 * Acquire: token = INCR sched:fence, then SET sched:leader `<token>:<owner>` NX PX ttl. Renew
 * every ttl/3 with a script that extends the key only while it still holds our value. This process
 * counts itself leader only until its last successful acquire/renew + ttl (measured from before
 * the command was sent), so a leader cut off from Redis stops acting before another can start.
 * Writes made as leader (the schedule cursor) are fenced: a script checks the lease value first,
 * so a deposed leader's late write is refused (RedisScheduleState.advance returns false).
 * A leader that dies is replaced once its key expires (≤ ttl) and a follower's next try (≤ ttl/3).
 */
import type { Redis } from 'ioredis';
import { errorMessage } from '../../core/errors.js';
import { SCHED_FENCE, SCHED_LEADER } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';

const RENEW = new LuaScript('sched-renew', `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`);
const RELEASE = new LuaScript('sched-release', `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`);

export class LeaderLease {
  private value: string | null = null;
  private validUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners: Array<() => void> = [];
  private busy = false;

  constructor(
    private readonly redis: Redis,
    private readonly opts: { ttlMs: number; owner: string; log?(line: string): void; now?(): number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  isLeader(): boolean {
    return this.value !== null && this.now() < this.validUntil;
  }

  /** The lease value `<fence>:<owner>` while leader (what fenced writes compare with). */
  token(): string | null {
    return this.isLeader() ? this.value : null;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  start(): void {
    const tick = (): void => {
      void this.tick().finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, Math.max(50, Math.floor(this.opts.ttlMs / 3)));
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** One acquire-or-renew attempt (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const was = this.isLeader();
    const sentAt = this.now();
    try {
      if (this.value !== null) {
        const ok = Number(await RENEW.run(this.redis, [SCHED_LEADER], [this.value, this.opts.ttlMs])) === 1;
        if (ok) this.validUntil = sentAt + this.opts.ttlMs;
        else {
          this.opts.log?.(`scheduler: leader lease ${this.value} lost`);
          this.value = null;
        }
      }
      if (this.value === null) {
        const fence = await this.redis.incr(SCHED_FENCE);
        const value = `${fence}:${this.opts.owner}`;
        const ok = await this.redis.set(SCHED_LEADER, value, 'PX', this.opts.ttlMs, 'NX');
        if (ok === 'OK') {
          this.value = value;
          this.validUntil = sentAt + this.opts.ttlMs;
          this.opts.log?.(`scheduler: leader (fencing token ${fence})`);
        }
      }
    } catch (e) {
      this.opts.log?.(`scheduler: lease check failed: ${errorMessage(e)} (retrying)`);
    } finally {
      this.busy = false;
    }
    if (was !== this.isLeader()) for (const cb of this.listeners) cb();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const v = this.value;
    this.value = null;
    if (v !== null) await RELEASE.run(this.redis, [SCHED_LEADER], [v]).catch(() => undefined);
  }
}
