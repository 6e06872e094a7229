/**
 * Jobs workers can verify: with DAGCTL_JOB_KEY set (≥ 16 characters, the same in every `dagctl`
 * that submits or works on a Redis; a Kubernetes Secret), every BullMQ job payload and every run
 * record stored in Redis carries an HMAC-SHA256 of its canonical JSON (core/hash.ts), and a worker
 * refuses a job or record whose MAC is missing or wrong — so someone who can write Redis but does
 * not hold the key cannot redirect a worker's reads or writes (docs/security.md).
 *
 * Pure apart from reading the key from the environment given. Without a key nothing is signed
 * or checked (the worker logs that at start).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DagctlError } from '../../core/errors.js';
import { canonicalJson } from '../../core/hash.js';

export const JOB_KEY_ENV = 'DAGCTL_JOB_KEY';

/** The HMAC key from `env`, null when unset; USAGE when set but shorter than 16 characters. */
export function jobKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | null {
  const v = env[JOB_KEY_ENV];
  if (v === undefined || v === '') return null;
  if (v.length < 16) throw new DagctlError('USAGE', `${JOB_KEY_ENV} must be at least 16 characters`);
  return Buffer.from(v, 'utf8');
}

/** The MAC of `value` without its own `mac` field. */
export function macOf(key: Buffer, value: object): string {
  const { mac: _ignored, ...rest } = value as Record<string, unknown>;
  void _ignored;
  return createHmac('sha256', key).update(canonicalJson(rest)).digest('hex');
}

/** `value` with its `mac` field set. */
export function withMac<T extends object>(key: Buffer | null, value: T): T {
  return key === null ? value : { ...value, mac: macOf(key, value) };
}

/** Whether `value` carries the right MAC (always true without a key). */
export function macOk(key: Buffer | null, value: object): boolean {
  if (key === null) return true;
  const mac = (value as { mac?: unknown }).mac;
  if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return false;
  return timingSafeEqual(Buffer.from(mac, 'hex'), Buffer.from(macOf(key, value), 'hex'));
}
