/**
 * A cross-process mutex made of one lock file created with O_EXCL (open 'wx'): creating it is
 * atomic on local filesystems, so at most one process holds the lock at a time. The holder writes
 * { pid, host, token, at } into it and removes it when done.
 *
 * Stale-lock recovery: a lock is stale when its holder is a dead process on this host, or when it
 * is older than `staleMs` (the critical sections it guards take milliseconds). A breaker renames
 * the stale file to a unique name first (only one breaker can win the rename), then checks that
 * what it renamed is the stale lock it inspected (same token); if it took a fresh lock by mistake
 * it links it back. Waiters poll with jittered backoff and give up after `timeoutMs` with
 * STORAGE_LOCK_TIMEOUT.
 *
 * tryFileLock takes the same lock without waiting, for long-held locks (a run's driver): with
 * `staleMs: Infinity` only a dead holder on this host is stale (a body-less file after
 * `bodyGraceMs`); otherwise it returns the live holder, whose `info` says who it is.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { DagctlError } from '../../core/errors.js';

export interface LockOptions {
  staleMs?: number;
  timeoutMs?: number;
}

export interface LockBody {
  pid: number;
  host: string;
  token: string;
  at: number;
  /** What the holder is doing (e.g. its command line), for messages naming it. */
  info?: Record<string, unknown>;
}

export type TryLockResult = { ok: true; release: () => Promise<void> } | { ok: false; holder: LockBody };

/** Takes the lock now or returns its live holder (stale locks are broken first; see banner). */
export async function tryFileLock(lockPath: string, opts: { staleMs?: number; bodyGraceMs?: number; info?: Record<string, unknown> } = {}): Promise<TryLockResult> {
  const staleMs = opts.staleMs ?? 30_000;
  const token = randomBytes(12).toString('hex');
  const body: LockBody = { pid: process.pid, host: hostname(), token, at: Date.now(), ...(opts.info !== undefined ? { info: opts.info } : {}) };
  for (let tries = 0; ; tries++) {
    try {
      await fs.writeFile(lockPath, JSON.stringify(body), { flag: 'wx' });
      return { ok: true, release: () => release(lockPath, token) };
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
    }
    if (tries === 0) {
      await breakIfStale(lockPath, staleMs, opts.bodyGraceMs);
      continue;
    }
    const holder = await readLock(lockPath);
    if (holder !== undefined) return { ok: false, holder };
    const st = await fs.stat(lockPath).catch(() => undefined);
    if (st === undefined && tries < 3) continue; // released meanwhile: try again
    return { ok: false, holder: { pid: -1, host: 'unknown (lock file being written)', token: '', at: st?.mtimeMs ?? Date.now() } };
  }
}

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const token = await acquire(lockPath, opts.staleMs ?? 30_000, opts.timeoutMs ?? 30_000);
  try {
    return await fn();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, staleMs: number, timeoutMs: number): Promise<string> {
  const token = randomBytes(12).toString('hex');
  const body: LockBody = { pid: process.pid, host: hostname(), token, at: Date.now() };
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      await fs.writeFile(lockPath, JSON.stringify(body), { flag: 'wx' });
      return token;
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw e;
    }
    await breakIfStale(lockPath, staleMs);
    if (Date.now() > deadline) throw new DagctlError('STORAGE_LOCK_TIMEOUT', `timed out waiting for lock ${lockPath}`, { lockPath, timeoutMs });
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const held = await readLock(lockPath);
  // Only remove our own lock: if it was broken as stale and retaken, it is someone else's now.
  if (held?.token === token) await fs.rm(lockPath, { force: true });
}

async function breakIfStale(lockPath: string, staleMs: number, bodyGraceMs: number = staleMs): Promise<void> {
  let seen = await readLock(lockPath);
  if (seen === undefined) {
    // Released meanwhile, a holder still writing its body, or a holder that died before writing
    // it: only the last case is stale, recognisable by the file's age.
    const st = await fs.stat(lockPath).catch(() => undefined);
    if (st === undefined || Date.now() - st.mtimeMs <= bodyGraceMs) return;
    seen = { pid: -1, host: '', token: '', at: st.mtimeMs };
  } else if (!isStale(seen, staleMs)) {
    return;
  }
  const aside = `${lockPath}.broken-${randomBytes(6).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return; // another breaker won
    throw e;
  }
  const taken = await readLock(aside);
  if (taken !== undefined && taken.token !== seen.token) {
    // We moved a fresh lock taken after our inspection: put it back (fails only if yet another
    // process took the lock in between, in which case the fresh holder's release is a no-op).
    await fs.link(aside, lockPath).catch(() => undefined);
  }
  await fs.rm(aside, { force: true });
}

/**
 * Who holds a lock now, without taking it: null when there is no (readable) lock file; `alive` is
 * false when the holder's pid is gone on this host, null when it lives on another host.
 */
export async function lockHolder(lockPath: string): Promise<{ holder: LockBody; alive: boolean | null } | null> {
  const holder = await readLock(lockPath);
  if (holder === undefined) return null;
  if (holder.host !== hostname()) return { holder, alive: null };
  return { holder, alive: !isStale(holder, Infinity) };
}

function isStale(l: LockBody, staleMs: number): boolean {
  if (Date.now() - l.at > staleMs) return true;
  if (l.host !== hostname()) return false;
  try {
    process.kill(l.pid, 0);
    return false;
  } catch (e) {
    return isCode(e, 'ESRCH');
  }
}

async function readLock(p: string): Promise<LockBody | undefined> {
  try {
    const v = JSON.parse(await fs.readFile(p, 'utf8')) as Partial<LockBody>;
    if (typeof v.pid === 'number' && typeof v.token === 'string' && typeof v.at === 'number' && typeof v.host === 'string') return v as LockBody;
    return undefined;
  } catch {
    return undefined;
  }
}

export function isCode(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && (e).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
