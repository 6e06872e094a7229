/**
 * Live run pages: one watch per run with subscribers (server-sent event streams). While a run has
 * subscribers its watch polls the run store every `pollMs`, or twice the last read's time when that
 * is longer (a store with a cheap sequence number — Redis — is asked for that first, and read in
 * full only when it moved). A new subscriber gets a
 * `snapshot` event (the whole run page); afterwards every change is a `patch` event holding the
 * header, the task rows and only the instance rows that changed. A failing read is sent as an
 * `error` event and retried at the next poll. close() ends every stream.
 */
import { errorCode, errorMessage } from '../../core/errors.js';
import type { RunRecord } from '../../scheduler/ports.js';
import type { UiRun } from '../api-types.js';
import type { RunSource } from './sources.js';
import { diffRun, rowKeys, type RowKeys } from './views.js';

export interface Subscriber {
  send(event: string, data: unknown): void;
  end(): void;
}

export interface LiveDeps {
  pollMs: number;
  /**
   * Reads the run's state and builds its page; 'same' when the state's sequence is still
   * `sinceSeq` (nothing to build), null when the run is gone.
   */
  view(source: RunSource, record: RunRecord, sinceSeq: number | null): Promise<UiRun | 'same' | null>;
}

interface Watch {
  source: RunSource;
  record: RunRecord;
  subs: Set<Subscriber>;
  fresh: Set<Subscriber>;
  last: UiRun | null;
  keys: RowKeys;
  timer: NodeJS.Timeout | null;
  busy: boolean;
}

export class LiveHub {
  private readonly watches = new Map<string, Watch>();
  private closed = false;
  /** Counters for /metrics. */
  polls = 0;
  events = 0;

  constructor(private readonly deps: LiveDeps) {}

  get subscribers(): number {
    let n = 0;
    for (const w of this.watches.values()) n += w.subs.size;
    return n;
  }

  subscribe(source: RunSource, record: RunRecord, sub: Subscriber): () => void {
    const key = `${source.id}\u0000${record.runId}`;
    let w = this.watches.get(key);
    if (w === undefined) {
      w = { source, record, subs: new Set(), fresh: new Set(), last: null, keys: new Map(), timer: null, busy: false };
      this.watches.set(key, w);
    }
    const watch = w;
    watch.subs.add(sub);
    watch.fresh.add(sub);
    if (watch.timer === null && !watch.busy) void this.poll(key, watch);
    return () => {
      watch.subs.delete(sub);
      watch.fresh.delete(sub);
      if (watch.subs.size === 0) {
        if (watch.timer !== null) clearTimeout(watch.timer);
        watch.timer = null;
        this.watches.delete(key);
      }
    };
  }

  private async poll(key: string, w: Watch): Promise<void> {
    w.timer = null;
    if (this.closed || w.subs.size === 0) return;
    w.busy = true;
    const t0 = Date.now();
    try {
      this.polls++;
      let changed = w.last === null;
      if (!changed && w.source.seq !== undefined) {
        const seq = await w.source.seq(w.record.runId);
        changed = seq !== w.last?.seq;
      } else if (!changed) {
        changed = true; // no cheap counter: read and compare the view
      }
      if (changed) {
        const view = await this.deps.view(w.source, w.record, w.last?.seq ?? null);
        if (view !== null && view !== 'same') {
          const prev = w.last;
          const patch = diffRun(w.keys, view);
          w.last = view;
          w.keys = rowKeys(view);
          const moved = prev === null || prev.seq !== view.seq || patch.instances.length > 0 || prev.phase !== view.phase;
          for (const s of w.subs) {
            if (w.fresh.has(s)) continue;
            if (moved) this.send(s, 'patch', patch);
          }
        }
      }
      if (w.last !== null) {
        for (const s of w.fresh) this.send(s, 'snapshot', w.last);
        w.fresh.clear();
      }
    } catch (e) {
      for (const s of w.subs) this.send(s, 'error', { error: { code: errorCode(e), message: errorMessage(e) } });
    } finally {
      w.busy = false;
      // A slow read (a big run replayed from a local journal) spaces the next one out: at most half
      // of the time goes to reading.
      const wait = Math.max(this.deps.pollMs, 2 * (Date.now() - t0));
      if (!this.closed && w.subs.size > 0 && this.watches.get(key) === w) w.timer = setTimeout(() => void this.poll(key, w), wait);
    }
  }

  private send(s: Subscriber, event: string, data: unknown): void {
    this.events++;
    s.send(event, data);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) {
      if (w.timer !== null) clearTimeout(w.timer);
      for (const s of w.subs) s.end();
    }
    this.watches.clear();
  }
}
