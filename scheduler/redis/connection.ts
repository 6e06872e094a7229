/**
 * Redis connections (ioredis) for dagctl: from a URL (redis:// or rediss:// for TLS, with
 * username/password and db), for two roles:
 *   - 'client': CLI commands — fail fast with REDIS_UNAVAILABLE when Redis cannot be reached;
 *   - 'worker': long-running processes (workers, followers, BullMQ) — commands wait for a
 *     reconnect forever (maxRetriesPerRequest: null, as BullMQ requires), so a Redis restart
 *     pauses work instead of failing it.
 * TLS extras come from the environment: DAGCTL_REDIS_TLS_CA (PEM file) and
 * DAGCTL_REDIS_TLS_INSECURE=1 (skip certificate verification; tests only).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { DagctlError, errorMessage } from '../../core/errors.js';

export type RedisRole = 'client' | 'worker';

export function redisUrlFrom(explicit: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return explicit ?? env.DAGCTL_REDIS_URL;
}

export function redisOptions(url: string, role: RedisRole, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DagctlError('REDIS_UNAVAILABLE', `invalid Redis URL "${redact(url)}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new DagctlError('REDIS_UNAVAILABLE', `Redis URL must start with redis:// or rediss:// (got ${parsed.protocol}//)`);
  }
  const opts: RedisOptions = {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    connectionName: `dagctl-${role}`,
    lazyConnect: false,
  };
  if (parsed.username !== '') opts.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') opts.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '') opts.db = Number(db);
  if (parsed.protocol === 'rediss:') {
    // SNI carries host names only (RFC 6066): an IP address is verified against the certificate's IP SANs.
    const tls: NonNullable<RedisOptions['tls']> = isIP(parsed.hostname) === 0 ? { servername: parsed.hostname } : {};
    if (env.DAGCTL_REDIS_TLS_CA) tls.ca = readFileSync(env.DAGCTL_REDIS_TLS_CA);
    if (env.DAGCTL_REDIS_TLS_INSECURE === '1') tls.rejectUnauthorized = false;
    opts.tls = tls;
  }
  if (role === 'worker') {
    opts.maxRetriesPerRequest = null;
    opts.enableReadyCheck = true;
    // Reconnect forever with a capped backoff: a restarted Redis is picked up again.
    opts.retryStrategy = (times) => Math.min(50 * times, 2000);
  } else {
    opts.maxRetriesPerRequest = 2;
    opts.connectTimeout = 5000;
    opts.retryStrategy = (times) => (times > 5 ? null : Math.min(100 * times, 1000));
  }
  return opts;
}

/**
 * The same options in the shape BullMQ's `connection` wants (its RedisOptions types retryStrategy
 * without ioredis' `null`; ours is always a function).
 */
export function bullConnection(url: string, role: RedisRole, env: NodeJS.ProcessEnv = process.env): Omit<RedisOptions, 'retryStrategy'> & { retryStrategy?: (times: number) => number | null } {
  const { retryStrategy, ...rest } = redisOptions(url, role, env);
  const out: Omit<RedisOptions, 'retryStrategy'> & { retryStrategy?: (times: number) => number | null } = rest;
  if (typeof retryStrategy === 'function') out.retryStrategy = (times) => retryStrategy(times) ?? null;
  return out;
}

/**
 * Opens a connection and waits until it is ready. Fails with REDIS_AUTH_FAILED (wrong user or
 * password), REDIS_TLS_UNTRUSTED (the server's certificate is not trusted) or REDIS_UNAVAILABLE —
 * never just ioredis' "Connection is closed", which hides the cause in an 'error' event.
 */
export async function connectRedis(url: string, role: RedisRole, env: NodeJS.ProcessEnv = process.env): Promise<Redis> {
  const redis = new Redis({ ...redisOptions(url, role, env), lazyConnect: true });
  // ioredis emits 'error' on every failed reconnect (without a listener Node would crash); the
  // first one names the cause that connect()'s own rejection leaves out.
  let cause: unknown = null;
  redis.on('error', (e) => (cause ??= e));
  try {
    await withTimeout(redis.connect(), role === 'client' ? 8000 : 30_000);
  } catch (e) {
    redis.disconnect();
    throw connectError(url, cause ?? e);
  }
  return redis;
}

const TLS_TRUST = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** The coded error for a failed connection, from the underlying cause (pure). */
export function connectError(url: string, cause: unknown): DagctlError {
  const msg = errorMessage(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(msg)) {
    return new DagctlError('REDIS_AUTH_FAILED', `Redis at ${redact(url)} refused the credentials: ${msg} (check the user and password in the URL)`, { url: redact(url) }, { cause });
  }
  if (typeof code === 'string' && TLS_TRUST.has(code)) {
    return new DagctlError('REDIS_TLS_UNTRUSTED', `Redis at ${redact(url)}: the server's TLS certificate is not trusted (${code}: ${msg}); point DAGCTL_REDIS_TLS_CA at the CA that signed it`, { url: redact(url), tlsCode: code }, { cause });
  }
  return new DagctlError('REDIS_UNAVAILABLE', `cannot connect to Redis at ${redact(url)}: ${msg}`, { url: redact(url) }, { cause });
}

/**
 * Warns (through `warn`) when Redis may evict keys: dagctl's run state and BullMQ's queues must
 * never be evicted, so maxmemory-policy must be noeviction. Reads INFO (CONFIG is often disabled
 * on managed Redis). Returns the policy, or null when it cannot be read.
 */
export async function checkEvictionPolicy(redis: Redis, warn: (message: string) => void): Promise<string | null> {
  let policy: string | null = null;
  try {
    const info = await redis.info('memory');
    policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
  } catch {
    return null;
  }
  if (policy !== null && policy !== 'noeviction') {
    warn(`Redis maxmemory-policy is "${policy}", not "noeviction": run state and queued jobs may be evicted under memory pressure`);
  }
  return policy;
}

export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Maps ioredis connection failures to REDIS_UNAVAILABLE; DagctlErrors pass through. */
export function redisError(e: unknown, what: string): DagctlError {
  if (e instanceof DagctlError) return e;
  return new DagctlError('REDIS_UNAVAILABLE', `${what}: ${errorMessage(e)}`, {}, { cause: e });
}
