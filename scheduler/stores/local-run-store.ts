/**
 * LocalRunStore: the embedded default RunStore, durable on the local filesystem under
 * DAGCTL_HOME (default ./.dagctl). Survives a crash of the process driving the run.
 *
 * Layout: runs/<runId>/record.json   the RunRecord (written once)
 *         runs/<runId>/events.jsonl  the journal: one line per applied batch {seq, events}
 *         runs/<runId>/state.json    a snapshot {state} taken between batches (tmp + rename)
 *         runs/<runId>/cancel-request a cancel asked for by another process (`dagctl ui`); the
 *                                     driving process watches for it (watchCancelRequest)
 *         runs/<runId>/work-reclaimed.json what the driving process reclaimed of the run's work
 *                                     files after it succeeded (markWorkReclaimed; `dagctl status`)
 *         history.jsonl              cost samples, appended
 * apply() writes the batch to the journal and fsyncs before the reducer applies it in memory, so
 * an acknowledged batch is never lost; concurrent apply() calls share one write and one fsync
 * (group commit). Loading replays the journal after the snapshot; a torn last line (a crash
 * mid-write, never acknowledged) is ignored.
 *
 * createRun is exclusive: a second create of the same run id throws (isRunExists), so a tick's
 * deterministic run id makes exactly one run.
 *
 * One process drives a run at a time: the one holding runs/<runId>/lock (lockDriver: a lock file
 * with the holder's pid, host and command; stale only when that pid is dead on this host). A
 * second driver (`dagctl run --resume` of a live run) gets RUN_LOCKED naming the holder. Other
 * processes (status, runs) only read.
 */
import { mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DagctlError } from '../../core/errors.js';
import { lockHolder, tryFileLock } from '../../storage/local/lock.js';
import type { CostSample } from '../model.js';
import type { Effect, RunEvent } from '../engine/events.js';
import { applyEvents, mergeEffects } from '../engine/reducer.js';
import { indexPlan, type PlanIndex, type RunState } from '../engine/state.js';
import { runExists, summarize, type RunRecord, type RunStore, type RunSummary, type WorkReclaimed } from '../ports.js';
import { policiesOf } from './policies.js';

interface Live {
  record: RunRecord;
  state: RunState;
  index: PlanIndex;
  journal: FileHandle;
  sinceSnapshot: number;
  lastSnapshotAt: number;
  queue: Array<{ events: RunEvent[]; resolve: (fx: Effect[]) => void; reject: (e: unknown) => void }>;
  flushing: boolean;
}

const SNAPSHOT_EVERY_EVENTS = 5000;
const SNAPSHOT_EVERY_MS = 2000;

export interface DriverInfo {
  state: 'alive' | 'gone' | 'unknown';
  pid?: number;
  host?: string;
  since?: string;
}

export class LocalRunStore implements RunStore {
  private live = new Map<string, Live>();
  private opening = new Map<string, Promise<Live>>();

  constructor(readonly home: string) {}

  private runDir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new DagctlError('RUN_NOT_FOUND', `invalid run id "${runId}"`);
    return join(this.home, 'runs', runId);
  }

  async createRun(record: RunRecord, state: RunState): Promise<void> {
    const dir = this.runDir(record.runId);
    await mkdir(join(this.home, 'runs'), { recursive: true });
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A directory without a record is a create that died half-way: finish it.
      if ((await readJson<RunRecord>(join(dir, 'record.json'))) !== null) throw runExists(record.runId);
    }
    // State first, record last: the record's presence is what makes the run exist.
    await writeAtomic(join(dir, 'state.json'), JSON.stringify(state));
    await writeAtomic(join(dir, 'record.json'), JSON.stringify(record));
  }

  /** Takes the run's driver lock for this process, or throws RUN_LOCKED naming the live holder. Returns the release. */
  async lockDriver(runId: string, info: Record<string, unknown> = {}): Promise<() => Promise<void>> {
    const lockPath = join(this.runDir(runId), 'lock');
    const r = await tryFileLock(lockPath, { staleMs: Infinity, bodyGraceMs: 10_000, info });
    if (r.ok) return r.release;
    const { pid, host, at } = r.holder;
    const since = new Date(at).toISOString();
    throw new DagctlError(
      'RUN_LOCKED',
      `run ${runId} is being driven by pid ${pid} on host ${host} (since ${since}); wait for it to finish or stop that process — the lock of a dead process is taken over by --resume`,
      { runId, pid, host, since, lockPath, holder: r.holder.info ?? {} },
    );
  }

  /**
   * The run's driver as its lock file tells: `alive` (its process runs here), `gone` (no lock, or
   * its pid is dead on this host: the run makes no progress until `--resume`), or `unknown` (a
   * process on another host).
   */
  async driver(runId: string): Promise<DriverInfo> {
    const h = await lockHolder(join(this.runDir(runId), 'lock'));
    if (h === null) return { state: 'gone' };
    const who = { pid: h.holder.pid, host: h.holder.host, since: new Date(h.holder.at).toISOString() };
    return { state: h.alive === null ? 'unknown' : h.alive ? 'alive' : 'gone', ...who };
  }

  /**
   * Asks the process driving this run to cancel it: writes runs/<runId>/cancel-request, which that
   * process's watchCancelRequest sees (or, if it died, `dagctl run --resume` sees at once).
   * Idempotent; RUN_NOT_FOUND for an unknown run.
   */
  async requestCancel(runId: string): Promise<void> {
    if ((await this.getRecord(runId)) === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} under ${this.home}`, { runId });
    await writeAtomic(join(this.runDir(runId), 'cancel-request'), JSON.stringify({ at: Date.now() }));
  }

  async cancelRequested(runId: string): Promise<boolean> {
    return exists(join(this.runDir(runId), 'cancel-request'));
  }

  /** Records that the run's work files were reclaimed (workers/reclaim.ts), replacing an earlier record. */
  async markWorkReclaimed(runId: string, r: WorkReclaimed): Promise<void> {
    await writeAtomic(join(this.runDir(runId), 'work-reclaimed.json'), JSON.stringify(r));
  }

  /** What markWorkReclaimed recorded last, or null (kept, or not yet). */
  async workReclaimed(runId: string): Promise<WorkReclaimed | null> {
    return readJson<WorkReclaimed>(join(this.runDir(runId), 'work-reclaimed.json'));
  }

  async getRecord(runId: string): Promise<RunRecord | null> {
    const l = this.live.get(runId);
    if (l !== undefined) return l.record;
    return readJson<RunRecord>(join(this.runDir(runId), 'record.json'));
  }

  /** The state as of the last acknowledged batch (replays the journal; works from any process). */
  async getState(runId: string): Promise<RunState | null> {
    const l = this.live.get(runId);
    if (l !== undefined) return structuredClone(l.state);
    // The record (megabytes for a big run) is read only when the journal has batches to replay:
    // a finished run's snapshot is its whole state.
    const r = await this.load(runId, null);
    return r === null ? null : r.state;
  }

  /**
   * The snapshot with the journal's newer batches applied; `record` (read here when not given and
   * there is something to replay) indexes the plan for the replay. Null when the run does not exist.
   */
  private async load(runId: string, given: RunRecord | null): Promise<{ state: RunState; index: PlanIndex | null } | null> {
    const dir = this.runDir(runId);
    // The record's presence is what makes the run exist (createRun writes it last).
    if (given === null && !(await exists(join(dir, 'record.json')))) return null;
    const snap = await readJson<RunState>(join(dir, 'state.json'));
    if (snap === null) throw new DagctlError('RUN_STATE_INVALID', `run ${runId} has no state`);
    let text = '';
    try {
      text = await readFile(join(dir, 'events.jsonl'), 'utf8');
    } catch {
      // no journal yet
    }
    const state = snap;
    let index: PlanIndex | null = null;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let batch: { seq: number; events: RunEvent[] };
      try {
        batch = JSON.parse(line) as { seq: number; events: RunEvent[] };
      } catch {
        break; // torn tail
      }
      if (batch.seq < state.seq) continue;
      if (index === null) {
        const record = given ?? (await this.getRecord(runId));
        if (record === null) return null;
        index = indexPlan(record.plan, policiesOf(record.dag));
      }
      applyEvents(index, state, batch.events);
    }
    return { state, index };
  }

  private async ensureLive(runId: string): Promise<Live> {
    const l = this.live.get(runId);
    if (l !== undefined) return l;
    let p = this.opening.get(runId);
    if (p === undefined) {
      p = (async () => {
        const record = await this.getRecord(runId);
        if (record === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} under ${this.home}`);
        const loaded = await this.load(runId, record);
        if (loaded === null) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} under ${this.home}`);
        const { state } = loaded;
        const index = loaded.index ?? indexPlan(record.plan, policiesOf(record.dag));
        const journal = await open(join(this.runDir(runId), 'events.jsonl'), 'a');
        const live: Live = { record, state, index, journal, sinceSnapshot: 0, lastSnapshotAt: Date.now(), queue: [], flushing: false };
        this.live.set(runId, live);
        return live;
      })();
      this.opening.set(runId, p);
    }
    try {
      return await p;
    } finally {
      this.opening.delete(runId);
    }
  }

  async apply(runId: string, events: RunEvent[]): Promise<Effect[]> {
    const live = await this.ensureLive(runId);
    return new Promise<Effect[]>((resolve, reject) => {
      live.queue.push({ events, resolve, reject });
      if (!live.flushing) void this.flush(live);
    });
  }

  /** Group commit: everything queued while the previous fsync ran goes out in one write. */
  private async flush(live: Live): Promise<void> {
    live.flushing = true;
    try {
      while (live.queue.length > 0) {
        const batch = live.queue.splice(0, live.queue.length);
        const events = batch.flatMap((b) => b.events);
        try {
          await live.journal.appendFile(JSON.stringify({ seq: live.state.seq, events }) + '\n');
          await live.journal.datasync();
        } catch (e) {
          const err = new DagctlError('RUN_STATE_INVALID', `cannot write the run journal: ${String(e)}`);
          for (const b of batch) b.reject(err);
          continue;
        }
        // Per-caller effects: apply each caller's events in order on the live state.
        for (const b of batch) {
          try {
            b.resolve(mergeEffects(applyEvents(live.index, live.state, b.events)));
          } catch (e) {
            b.reject(e);
          }
        }
        live.sinceSnapshot += events.length;
        const done = live.state.phase === 'succeeded' || live.state.phase === 'failed' || live.state.phase === 'cancelled';
        if (done || live.sinceSnapshot >= SNAPSHOT_EVERY_EVENTS || Date.now() - live.lastSnapshotAt > SNAPSHOT_EVERY_MS) {
          await this.snapshot(live);
        }
      }
    } finally {
      live.flushing = false;
    }
  }

  private async snapshot(live: Live): Promise<void> {
    const dir = this.runDir(live.record.runId);
    await writeAtomic(join(dir, 'state.json'), JSON.stringify(live.state));
    // The snapshot covers the whole journal: start a fresh one (the old one stays valid if we die here,
    // since replay skips batches older than the snapshot's seq).
    await live.journal.close();
    await rm(join(dir, 'events.jsonl'), { force: true });
    live.journal = await open(join(dir, 'events.jsonl'), 'a');
    live.sinceSnapshot = 0;
    live.lastSnapshotAt = Date.now();
  }

  async listRuns(opts: { dag?: string; limit?: number } = {}): Promise<RunSummary[]> {
    let ids: string[] = [];
    try {
      ids = await readdir(join(this.home, 'runs'));
    } catch {
      return [];
    }
    const out: RunSummary[] = [];
    for (const id of ids) {
      const record = await readJson<RunRecord>(join(this.home, 'runs', id, 'record.json'));
      if (record === null || (opts.dag !== undefined && record.dag.name !== opts.dag)) continue;
      const state = await this.getState(id);
      if (state !== null) out.push(summarize(state, record.createdAt, record.trigger));
    }
    out.sort((a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : -1));
    return out.slice(0, opts.limit ?? out.length);
  }

  async latestRunId(dag?: string): Promise<string | null> {
    // Cheap path: run ids start with a sortable timestamp, so only the newest records are read.
    let ids: string[] = [];
    try {
      ids = await readdir(join(this.home, 'runs'));
    } catch {
      return null;
    }
    let best: { id: string; at: number } | null = null;
    for (const id of ids) {
      const record = await readJson<RunRecord>(join(this.home, 'runs', id, 'record.json'));
      if (record === null || (dag !== undefined && record.dag.name !== dag)) continue;
      if (best === null || record.createdAt > best.at || (record.createdAt === best.at && id > best.id)) best = { id, at: record.createdAt };
    }
    return best?.id ?? null;
  }

  async appendSamples(samples: CostSample[]): Promise<void> {
    if (samples.length === 0) return;
    await mkdir(this.home, { recursive: true });
    const fh = await open(join(this.home, 'history.jsonl'), 'a');
    try {
      await fh.appendFile(samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    } finally {
      await fh.close();
    }
  }

  async history(opts: { operator?: string; limit?: number } = {}): Promise<CostSample[]> {
    let text = '';
    try {
      text = await readFile(join(this.home, 'history.jsonl'), 'utf8');
    } catch {
      return [];
    }
    const out: CostSample[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const s = JSON.parse(line) as CostSample;
        if (opts.operator === undefined || s.operator === opts.operator) out.push(s);
      } catch {
        // torn line from a crash
      }
    }
    return opts.limit === undefined ? out : out.slice(-opts.limit);
  }

  /**
   * Lets go of one run this process applied events to: waits for its queued batches, snapshots it
   * when batches came since the last snapshot (a finished run's last batch already wrote one),
   * closes its journal and forgets it, so later reads see the files (another process may change
   * the run from then on) and a long-lived process (the scheduler) keeps no finished run in memory.
   */
  async release(runId: string): Promise<void> {
    const live = this.live.get(runId);
    if (live === undefined) return;
    while (live.flushing || live.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    if (live.sinceSnapshot > 0) await this.snapshot(live);
    await live.journal.close();
    this.live.delete(runId);
  }

  /**
   * Releases every live run (release: each snapshotted only when batches came since its last
   * snapshot — a finished run's last batch wrote one, which a second write with its fsync would
   * only repeat at the end of every `dagctl run`).
   */
  async close(): Promise<void> {
    for (const runId of [...this.live.keys()]) await this.release(runId);
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DagctlError('RUN_STATE_INVALID', `cannot read ${path}: ${String(e)}`);
  }
}

/**
 * A signal that aborts once a cancel request for the run appears (checked now, then every pollMs;
 * the timer does not keep the process alive), or when `also` aborts. stop() ends the watching.
 */
export function watchCancelRequest(store: LocalRunStore, runId: string, pollMs = 500, also?: AbortSignal): { signal: AbortSignal; stop(): void } {
  const ac = new AbortController();
  // `also` aborts the returned signal too (one signal for the driver; AbortSignal.any needs Node 20.3).
  const onAlso = (): void => ac.abort();
  if (also?.aborted === true) ac.abort();
  else also?.addEventListener('abort', onAlso, { once: true });
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const check = (): void => {
    void store.cancelRequested(runId).then((yes) => {
      if (stopped) return;
      if (yes) ac.abort();
      else {
        timer = setTimeout(check, pollMs);
        timer.unref();
      }
    });
  };
  check();
  return {
    signal: ac.signal,
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      also?.removeEventListener('abort', onAlso);
    },
  };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await writeAtomic(path, text);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
