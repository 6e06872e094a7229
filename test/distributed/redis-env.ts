/**
 * Test environment for the distributed tests: the Redis URL from DAGCTL_TEST_REDIS_URL (set by
 * `eval "$(scripts/provision/redis.sh start)"`). Without it the suites skip — unless CI is set, in
 * which case they FAIL: CI must never pass by silently not testing.
 */
import { Redis } from 'ioredis';
import { connectRedis } from '../../scheduler/redis/connection.js';

export const REDIS_URL = process.env.DAGCTL_TEST_REDIS_URL;

/** Call at the top of a describe(): skips (locally) or fails (CI) without Redis. */
export function requireRedis(ctx: Mocha.Suite): void {
  ctx.beforeAll(function () {
    if (REDIS_URL !== undefined && REDIS_URL !== '') return;
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
      throw new Error('DAGCTL_TEST_REDIS_URL is not set but CI is: run `eval "$(scripts/provision/redis.sh start)"` first');
    }
    this.skip();
  });
}

export function redisUrl(): string {
  if (REDIS_URL === undefined || REDIS_URL === '') throw new Error('DAGCTL_TEST_REDIS_URL is not set');
  return REDIS_URL;
}

/** A connection to the test server, optionally to another logical database (isolated tests). */
export async function testRedis(db?: number): Promise<Redis> {
  const url = new URL(redisUrl());
  if (db !== undefined) url.pathname = `/${db}`;
  return connectRedis(url.toString(), 'worker');
}

/** A run id unique across test processes. */
export function uniqueRunId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
