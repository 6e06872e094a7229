/**
 * MemoryRunStore: RunStore held in process memory. For tests, and the reference the other stores
 * are compared with in the conformance suite.
 */
import { DagctlError } from '../../core/errors.js';
import type { CostSample } from '../model.js';
import type { Effect, RunEvent } from '../engine/events.js';
import { applyEvents } from '../engine/reducer.js';
import { indexPlan, type PlanIndex, type RunState } from '../engine/state.js';
import { runExists, summarize, type RunRecord, type RunStore, type RunSummary } from '../ports.js';
import { policiesOf } from './policies.js';

interface Entry {
  record: RunRecord;
  state: RunState;
  index: PlanIndex;
}

export class MemoryRunStore implements RunStore {
  private runs = new Map<string, Entry>();
  private samples: CostSample[] = [];

  async createRun(record: RunRecord, state: RunState): Promise<void> {
    if (this.runs.has(record.runId)) throw runExists(record.runId);
    this.runs.set(record.runId, { record: structuredClone(record), state: structuredClone(state), index: indexPlan(record.plan, policiesOf(record.dag)) });
  }

  async getRecord(runId: string): Promise<RunRecord | null> {
    const e = this.runs.get(runId);
    return e === undefined ? null : structuredClone(e.record);
  }

  async getState(runId: string): Promise<RunState | null> {
    const e = this.runs.get(runId);
    return e === undefined ? null : structuredClone(e.state);
  }

  async apply(runId: string, events: RunEvent[]): Promise<Effect[]> {
    const e = this.runs.get(runId);
    if (e === undefined) throw new DagctlError('RUN_NOT_FOUND', `no run ${runId}`);
    // All or none: apply to a copy, then swap.
    const next = structuredClone(e.state);
    const fx = applyEvents(e.index, next, events);
    e.state = next;
    return fx;
  }

  async listRuns(opts: { dag?: string; limit?: number } = {}): Promise<RunSummary[]> {
    const all = [...this.runs.values()]
      .filter((e) => opts.dag === undefined || e.record.dag.name === opts.dag)
      .sort((a, b) => b.record.createdAt - a.record.createdAt || (a.record.runId < b.record.runId ? 1 : -1))
      .map((e) => summarize(e.state, e.record.createdAt, e.record.trigger));
    return all.slice(0, opts.limit ?? all.length);
  }

  async latestRunId(dag?: string): Promise<string | null> {
    const [first] = await this.listRuns(dag === undefined ? { limit: 1 } : { dag, limit: 1 });
    return first?.runId ?? null;
  }

  async appendSamples(samples: CostSample[]): Promise<void> {
    this.samples.push(...structuredClone(samples));
  }

  async history(opts: { operator?: string; limit?: number } = {}): Promise<CostSample[]> {
    const list = this.samples.filter((s) => opts.operator === undefined || s.operator === opts.operator);
    return structuredClone(opts.limit === undefined ? list : list.slice(-opts.limit));
  }

  async close(): Promise<void> {}
}
