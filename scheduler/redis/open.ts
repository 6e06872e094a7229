/**
 * openRedisRunStore: the entry the CLI loads (by a variable import specifier, so embedded runs
 * never load ioredis) to get a RunStore on Redis. The store owns its connection: close() closes it.
 * CLI role: fails fast with REDIS_UNAVAILABLE when Redis cannot be reached.
 */
import { connectRedis } from './connection.js';
import { RedisRunStore } from './redis-run-store.js';

export async function openRedisRunStore(url: string, env: NodeJS.ProcessEnv = process.env): Promise<RedisRunStore> {
  return new RedisRunStore(await connectRedis(url, 'client', env), true);
}
