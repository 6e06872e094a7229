/**
 * The scheduler's own state per DAG, behind a small port: the cursor (the last tick handled — run
 * or skipped), the last run it created, and whether the DAG is paused (`dagctl pause`).
 *
 *   LocalScheduleState  files under <home>/schedules/: <dag>.json (cursor, written by the one
 *                       embedded scheduler, tmp + rename), <dag>.triggers.json (the data triggers'
 *                       TriggerState, likewise) and <dag>.paused (a marker the CLI
 *                       creates/removes), so pause never races a cursor write.
 *   RedisScheduleState  scheduler/schedule/redis-state.ts: fenced by the leader lease.
 *
 * Data triggers (triggers.ts) keep their TriggerState through getTriggers/putTriggers.
 * advance() and putTriggers() return false when the write was refused because this process is no longer the leader
 * (fencing); the local store always accepts.
 */
import { mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DagctlError } from '../../core/errors.js';
import { writeFileAtomic } from '../stores/local-run-store.js';
import type { TriggerState } from './triggers.js';

export interface DagScheduleState {
  /** Last tick handled (ms); undefined before the scheduler first saw the DAG. */
  cursor?: number;
  lastRunId?: string;
  paused: boolean;
}

export interface ScheduleState {
  get(dag: string): Promise<DagScheduleState>;
  advance(dag: string, cursor: number, lastRunId?: string): Promise<boolean>;
  setPaused(dag: string, paused: boolean): Promise<void>;
  getTriggers(dag: string): Promise<TriggerState>;
  putTriggers(dag: string, st: TriggerState): Promise<boolean>;
  /**
   * An operator's write of the trigger state (`dagctl trigger-reset`), not fenced: `null` removes
   * it (every commit is new again). For a state the scheduler is not writing: one it stopped on
   * with TRIGGER_LATE_COMMIT.
   */
  resetTriggers(dag: string, st: TriggerState | null): Promise<void>;
  /** Every DAG with any state. */
  list(): Promise<Record<string, DagScheduleState>>;
  close(): Promise<void>;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
function checkName(dag: string): void {
  if (!NAME.test(dag)) throw new DagctlError('USAGE', `"${dag}" is not a DAG name`);
}

export class LocalScheduleState implements ScheduleState {
  private readonly dir: string;
  constructor(home: string) {
    this.dir = join(home, 'schedules');
  }

  async get(dag: string): Promise<DagScheduleState> {
    checkName(dag);
    const out: DagScheduleState = { paused: await exists(join(this.dir, `${dag}.paused`)) };
    try {
      const j = JSON.parse(await readFile(join(this.dir, `${dag}.json`), 'utf8')) as { cursor?: number; lastRunId?: string };
      if (typeof j.cursor === 'number') out.cursor = j.cursor;
      if (typeof j.lastRunId === 'string') out.lastRunId = j.lastRunId;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new DagctlError('RUN_STATE_INVALID', `cannot read the schedule state of ${dag}: ${String(e)}`);
    }
    return out;
  }

  async advance(dag: string, cursor: number, lastRunId?: string): Promise<boolean> {
    checkName(dag);
    await mkdir(this.dir, { recursive: true });
    const prev = await this.get(dag);
    const body: { cursor: number; lastRunId?: string } = { cursor };
    const last = lastRunId ?? prev.lastRunId;
    if (last !== undefined) body.lastRunId = last;
    await writeFileAtomic(join(this.dir, `${dag}.json`), JSON.stringify(body));
    return true;
  }

  async getTriggers(dag: string): Promise<TriggerState> {
    checkName(dag);
    try {
      return decodeTriggerState(await readFile(join(this.dir, `${dag}.triggers.json`), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { seen: [] };
      throw new DagctlError('RUN_STATE_INVALID', `cannot read the trigger state of ${dag}: ${String(e)}`);
    }
  }

  async putTriggers(dag: string, st: TriggerState): Promise<boolean> {
    checkName(dag);
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, `${dag}.triggers.json`), JSON.stringify(st));
    return true;
  }

  async resetTriggers(dag: string, st: TriggerState | null): Promise<void> {
    checkName(dag);
    if (st === null) await rm(join(this.dir, `${dag}.triggers.json`), { force: true });
    else await this.putTriggers(dag, st);
  }

  async setPaused(dag: string, paused: boolean): Promise<void> {
    checkName(dag);
    await mkdir(this.dir, { recursive: true });
    if (paused) await writeFile(join(this.dir, `${dag}.paused`), '');
    else await rm(join(this.dir, `${dag}.paused`), { force: true });
  }

  async list(): Promise<Record<string, DagScheduleState>> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      return {};
    }
    const dags = new Set(names.map((n) => n.replace(/\.(json|paused)$/, '')).filter((n) => NAME.test(n)));
    const out: Record<string, DagScheduleState> = {};
    for (const d of [...dags].sort()) out[d] = await this.get(d);
    return out;
  }

  async close(): Promise<void> {}

  /**
   * The embedded scheduler's lock (<home>/schedules/scheduler.lock, holding its pid): one embedded
   * scheduler per home, since it drives its runs in-process. A lock whose pid is gone is stale and
   * taken over. Returns the release function; SCHEDULER_LOCKED when a live process holds it.
   */
  async lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, 'scheduler.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return async () => {
          await rm(path, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
          throw new DagctlError('SCHEDULER_LOCKED', `another embedded scheduler (pid ${pid}) uses ${this.dir}: stop it, or use --redis for replicas`, { pid, lock: path });
        }
        await rm(path, { force: true }); // stale
      }
    }
    throw new DagctlError('SCHEDULER_LOCKED', `cannot take ${path}`, { lock: path });
  }
}

/** A stored TriggerState (JSON); a malformed one is RUN_STATE_INVALID, never read as empty. */
export function decodeTriggerState(raw: string): TriggerState {
  const j = JSON.parse(raw) as Partial<TriggerState>;
  if (!Array.isArray(j.seen) || !j.seen.every((x) => typeof x === 'string')) throw new DagctlError('RUN_STATE_INVALID', 'trigger state without a `seen` list');
  const out: TriggerState = { seen: j.seen };
  if (typeof j.lastFireAt === 'number') out.lastFireAt = j.lastFireAt;
  if (j.marks !== undefined) {
    // Dropping marks would give every folded commit a second run: refuse instead.
    if (j.marks === null || typeof j.marks !== 'object' || !Object.values(j.marks).every((x) => Number.isInteger(x))) throw new DagctlError('RUN_STATE_INVALID', 'trigger state with a `marks` that is not {partition: offset}');
    out.marks = j.marks;
    out.folded = typeof j.folded === 'number' ? j.folded : 0;
  }
  if (j.floors !== undefined) {
    // Dropping floors would give every covered commit a second run: refuse instead.
    const ok = j.floors !== null && typeof j.floors === 'object' && Object.values(j.floors).every((f) => f !== null && typeof f === 'object' && Number.isFinite(f.before) && Number.isInteger(f.count));
    if (!ok) throw new DagctlError('RUN_STATE_INVALID', 'trigger state with a `floors` that is not {dataset: {before, count}}');
    out.floors = j.floors;
    out.folded = typeof j.folded === 'number' ? j.folded : 0;
  }
  if (j.inflight !== undefined) out.inflight = j.inflight;
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}
