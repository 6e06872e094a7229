/**
 * The run state machine: every transition of a run and its instances happens here, and nowhere
 * else. Deterministic — no I/O, no clock (time comes in events), no randomness.
 *
 * `applyEvent` mutates the given state in place (run stores apply thousands of events a second,
 * and copying a 10,000-instance state per event would be quadratic) and returns the effects;
 * `reduce` is the copying wrapper for callers that want a fresh state.
 *
 * Rules:
 *   - an instance is dispatched (pending → queued) when all its deps are succeeded or skipped and
 *     its retry backoff has elapsed; the run stops dispatching once a cancel is requested;
 *   - started: queued → running; a stale attempt's events are ignored (replay-safe);
 *   - succeeded: → succeeded, or skipped (memoized) when the result says so; the last instance of
 *     an iterative round whose metric sums to 0 marks every later round skipped (converged);
 *   - failed: retried with exponential backoff (base × 2^(attempt−1), capped) while attempts ≤
 *     retries and the code is retryable; else failed, and every transitive dependent that has not
 *     finished becomes upstream_failed; each failure is recorded in the instance's failedAttempts
 *     (error, code, log tail; the last MAX_FAILED_ATTEMPTS, kept across resets);
 *   - cancel: pending/queued → cancelled, running → abort effect (their report finishes them);
 *   - the run finishes when every instance is terminal: cancelled if a cancel was requested, else
 *     failed if any instance failed or was upstream_failed, else succeeded.
 */
import { DONE_OK, MAX_FAILED_ATTEMPTS, TERMINAL_STATES, type InstanceStatus } from '../model.js';
import { NON_RETRYABLE_CODES, type Effect, type RunEvent } from './events.js';
import { roundKey, type PlanIndex, type RunState } from './state.js';

type Status = InstanceStatus & { pendingDeps: number };

export function reduce(index: PlanIndex, state: RunState, event: RunEvent): { state: RunState; effects: Effect[] } {
  const next = structuredClone(state);
  const effects = applyEvent(index, next, event);
  return { state: next, effects };
}

export function applyEvents(index: PlanIndex, state: RunState, events: readonly RunEvent[]): Effect[] {
  const effects: Effect[] = [];
  for (const e of events) effects.push(...applyEvent(index, state, e));
  return mergeEffects(effects);
}

export function applyEvent(index: PlanIndex, state: RunState, event: RunEvent): Effect[] {
  const fx = new Effects();
  state.seq++;
  if (state.phase === 'succeeded' || state.phase === 'failed' || state.phase === 'cancelled') {
    if (event.type !== 'reset') return [];
  }
  switch (event.type) {
    case 'start': {
      if (state.phase === 'pending') {
        state.phase = 'running';
        state.startedAt = event.at;
      }
      for (const id of index.order) dispatchIfReady(index, state, id, event.at, fx);
      break;
    }
    case 'recover': {
      if (state.phase === 'pending') {
        state.phase = 'running';
        state.startedAt = event.at;
      }
      for (const id of index.order) {
        const s = get(state, id);
        if (s.state === 'queued' || s.state === 'running') {
          // The attempt was lost with the process: run it again, without charging a retry.
          s.state = 'pending';
          s.attempts = Math.max(0, s.attempts - 1);
          delete s.queuedAt;
          delete s.startedAt;
        }
      }
      if (state.cancelRequested) cancelPending(index, state, event.at);
      else for (const id of index.order) dispatchIfReady(index, state, id, event.at, fx);
      break;
    }
    case 'started': {
      const s = state.instances[event.id];
      if (s === undefined || s.attempts !== event.attempt || s.state !== 'queued') break;
      s.state = 'running';
      s.startedAt = event.at;
      if (event.worker !== undefined) s.worker = event.worker;
      break;
    }
    case 'succeeded': {
      const s = state.instances[event.id];
      if (s === undefined || s.attempts !== event.attempt || (s.state !== 'queued' && s.state !== 'running')) break;
      settle(state, s, event.result.memoized ? 'skipped' : 'succeeded');
      if (event.result.memoized) s.skipReason = 'memoized';
      s.finishedAt = event.at;
      s.startedAt ??= event.at;
      // The worker that finished it (a redelivered attempt's is not the one that started it).
      if (event.result.worker !== undefined) s.worker = event.result.worker;
      s.result = event.result;
      delete s.error;
      delete s.errorCode;
      // Convergence first: the next round must be skipped before this completion releases it.
      checkConvergence(index, state, event.id, event.at, fx);
      prune(index, state, event.id, event.result.prune, event.at, fx);
      onDone(index, state, event.id, event.at, fx);
      break;
    }
    case 'failed': {
      const s = state.instances[event.id];
      if (s === undefined || s.attempts !== event.attempt || (s.state !== 'queued' && s.state !== 'running')) break;
      s.error = event.error;
      s.errorCode = event.code;
      s.finishedAt = event.at;
      s.failedAttempts = [...(s.failedAttempts ?? []), { attempt: event.attempt, at: event.at, code: event.code, error: event.error, ...(event.log === undefined ? {} : { log: event.log }) }].slice(-MAX_FAILED_ATTEMPTS);
      const plan = index.byId.get(event.id);
      const policy = plan !== undefined ? index.policies[plan.task] : undefined;
      const retries = policy?.retries ?? 0;
      const retryable = event.retryable && !NON_RETRYABLE_CODES.has(event.code) && !state.cancelRequested;
      if (retryable && s.attempts <= retries) {
        const base = policy?.backoffMs ?? 1000;
        const delay = Math.min(policy?.backoffMaxMs ?? 300_000, base * 2 ** (s.attempts - 1));
        s.state = 'pending';
        s.notBefore = event.at + delay;
        delete s.queuedAt;
        fx.wake(s.notBefore);
      } else if (state.cancelRequested && event.code === 'TASK_CANCELLED') {
        settle(state, s, 'cancelled');
      } else {
        settle(state, s, 'failed');
        failDownstream(index, state, event.id);
      }
      break;
    }
    case 'tick': {
      if (!state.cancelRequested) {
        for (const id of index.order) {
          const s = get(state, id);
          if (s.state === 'pending' && s.notBefore !== undefined) {
            if (s.notBefore <= event.at) dispatchIfReady(index, state, id, event.at, fx);
            else fx.wake(s.notBefore);
          }
        }
      }
      break;
    }
    case 'cancel': {
      state.cancelRequested = true;
      cancelPending(index, state, event.at);
      const running = index.order.filter((id) => get(state, id).state === 'running' || get(state, id).state === 'queued');
      if (running.length > 0) fx.abort(running);
      break;
    }
    case 'reset': {
      for (const id of event.ids) {
        const s = state.instances[id];
        if (s === undefined) continue;
        const wasOk = DONE_OK.has(s.state);
        state.instances[id] = fresh(s);
        if (wasOk) for (const d of index.dependents.get(id) ?? []) get(state, d).pendingDeps++;
      }
      for (const id of index.order) {
        const s = get(state, id);
        if (s.state === 'upstream_failed' || s.state === 'failed' || s.state === 'cancelled') {
          state.instances[id] = fresh(s);
        }
      }
      // Recount: deps that are not done keep their dependents waiting.
      for (const id of index.order) {
        const p = index.byId.get(id);
        get(state, id).pendingDeps = (p?.deps ?? []).filter((d) => !DONE_OK.has(get(state, d).state)).length;
      }
      counters.delete(state);
      state.cancelRequested = false;
      state.phase = 'running';
      delete state.finishedAt;
      for (const id of index.order) dispatchIfReady(index, state, id, event.at, fx);
      break;
    }
  }
  finishIfDone(index, state, event.at, fx);
  return fx.list();
}

/**
 * Derived counters (not part of the stored state): instances not yet terminal, and failed or
 * upstream_failed ones. Computed by one scan the first time a state object is seen, then kept up to
 * date by `settle`, so deciding whether the run is finished costs O(1) per event instead of O(n).
 */
interface Counters {
  open: number;
  bad: number;
}
const counters = new WeakMap<RunState, Counters>();

function countersOf(state: RunState): Counters {
  let c = counters.get(state);
  if (c === undefined) {
    c = { open: 0, bad: 0 };
    for (const s of Object.values(state.instances)) {
      if (!TERMINAL_STATES.has(s.state)) c.open++;
      else if (s.state === 'failed' || s.state === 'upstream_failed') c.bad++;
    }
    counters.set(state, c);
  }
  return c;
}

/** Moves a non-terminal instance to a terminal state, keeping the counters. */
function settle(state: RunState, s: Status, to: 'succeeded' | 'skipped' | 'failed' | 'upstream_failed' | 'cancelled'): void {
  const c = countersOf(state);
  if (!TERMINAL_STATES.has(s.state)) c.open--;
  if (to === 'failed' || to === 'upstream_failed') c.bad++;
  s.state = to;
}

/** A reset instance: pending, no attempts; its failed attempts' records are kept. */
function fresh(s: Status): Status {
  return s.failedAttempts === undefined ? { state: 'pending', attempts: 0, pendingDeps: 0 } : { state: 'pending', attempts: 0, pendingDeps: 0, failedAttempts: s.failedAttempts };
}

function get(state: RunState, id: string): Status {
  const s = state.instances[id];
  if (s === undefined) throw new Error(`reducer: unknown instance ${id}`);
  return s;
}

function dispatchIfReady(index: PlanIndex, state: RunState, id: string, at: number, fx: Effects): void {
  const s = get(state, id);
  if (s.state !== 'pending' || s.pendingDeps > 0 || state.cancelRequested || state.phase !== 'running') return;
  if (s.notBefore !== undefined && s.notBefore > at) {
    fx.wake(s.notBefore);
    return;
  }
  void index;
  s.state = 'queued';
  s.attempts++;
  s.queuedAt = at;
  delete s.notBefore;
  fx.dispatch(id);
}

function onDone(index: PlanIndex, state: RunState, id: string, at: number, fx: Effects): void {
  for (const d of index.dependents.get(id) ?? []) {
    const s = get(state, d);
    s.pendingDeps--;
    dispatchIfReady(index, state, d, at, fx);
  }
}

function failDownstream(index: PlanIndex, state: RunState, id: string): void {
  const stack = [...(index.dependents.get(id) ?? [])];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    const s = get(state, d);
    if (TERMINAL_STATES.has(s.state) || s.state === 'running' || s.state === 'queued') continue;
    settle(state, s, 'upstream_failed');
    s.error = `upstream ${id} failed`;
    s.errorCode = 'UPSTREAM_FAILED';
    stack.push(...(index.dependents.get(d) ?? []));
  }
}

/** Pending instances are cancelled at once; queued and running ones get an abort effect instead. */
function cancelPending(index: PlanIndex, state: RunState, at: number): void {
  for (const id of index.order) {
    const s = get(state, id);
    if (s.state === 'pending') {
      settle(state, s, 'cancelled');
      s.finishedAt = at;
    }
  }
}

/** After the last instance of an iterative round succeeds: stop iterating when its metric sums to 0. */
function checkConvergence(index: PlanIndex, state: RunState, id: string, at: number, fx: Effects): void {
  const p = index.byId.get(id);
  if (p === undefined || p.rounds <= 1 || p.iterateMetric === undefined) return;
  const group = index.rounds.get(roundKey(p)) ?? [];
  let sum = 0;
  for (const g of group) {
    const s = get(state, g);
    if (!DONE_OK.has(s.state)) return;
    sum += s.result?.metrics[p.iterateMetric] ?? 0;
  }
  if (sum > 0 || p.round >= p.rounds) return;
  // Skip every later round first, then release only dependents outside those rounds: releasing
  // round r+2 because round r+1 was skipped would run it.
  const skipped = new Set<string>();
  for (let r = p.round + 1; r <= p.rounds; r++) {
    for (const g of index.rounds.get(roundKey({ task: p.task, stage: p.stage, round: r })) ?? []) {
      const s = get(state, g);
      if (s.state !== 'pending') continue;
      settle(state, s, 'skipped');
      s.skipReason = 'converged';
      s.finishedAt = at;
      skipped.add(g);
    }
  }
  releaseSkipped(index, state, skipped, at, fx);
}

/** The dependents of instances just skipped, outside that set, stop waiting for them. */
function releaseSkipped(index: PlanIndex, state: RunState, skipped: ReadonlySet<string>, at: number, fx: Effects): void {
  for (const g of skipped) {
    for (const d of index.dependents.get(g) ?? []) {
      if (skipped.has(d)) continue;
      get(state, d).pendingDeps--;
      dispatchIfReady(index, state, d, at, fx);
    }
  }
}

/**
 * Skips the instances a result prunes, then releases their dependents outside the pruned set. Only
 * pending work instances of a later stage of the same task qualify (a result cannot skip work that
 * has started, another task's, or its own stage's); other ids are ignored.
 */
function prune(index: PlanIndex, state: RunState, id: string, ids: readonly string[] | undefined, at: number, fx: Effects): void {
  const p = index.byId.get(id);
  if (p === undefined || ids === undefined || ids.length === 0) return;
  const skipped = new Set<string>();
  for (const g of ids) {
    const q = index.byId.get(g);
    const s = state.instances[g];
    if (q === undefined || s === undefined || q.kind !== 'work' || q.task !== p.task || q.stageIndex <= p.stageIndex || s.state !== 'pending' || skipped.has(g)) continue;
    settle(state, s, 'skipped');
    s.skipReason = 'pruned';
    s.finishedAt = at;
    delete s.notBefore;
    skipped.add(g);
  }
  releaseSkipped(index, state, skipped, at, fx);
}

function finishIfDone(_index: PlanIndex, state: RunState, at: number, fx: Effects): void {
  if (state.phase !== 'running') return;
  const c = countersOf(state);
  if (c.open > 0) return;
  state.phase = state.cancelRequested ? 'cancelled' : c.bad > 0 ? 'failed' : 'succeeded';
  state.finishedAt = at;
  fx.finished(state.phase);
}

class Effects {
  private dispatched: string[] = [];
  private aborted: string[] = [];
  private wakeAt: number | undefined;
  private done: Effect | undefined;
  dispatch(id: string): void {
    this.dispatched.push(id);
  }
  abort(ids: string[]): void {
    this.aborted.push(...ids);
  }
  wake(at: number): void {
    if (this.wakeAt === undefined || at < this.wakeAt) this.wakeAt = at;
  }
  finished(phase: 'succeeded' | 'failed' | 'cancelled' | 'pending' | 'running'): void {
    this.done = { type: 'finished', phase };
  }
  list(): Effect[] {
    const out: Effect[] = [];
    if (this.dispatched.length > 0) out.push({ type: 'dispatch', ids: this.dispatched });
    if (this.aborted.length > 0) out.push({ type: 'abort', ids: this.aborted });
    if (this.wakeAt !== undefined && this.done === undefined) out.push({ type: 'wake', at: this.wakeAt });
    if (this.done !== undefined) out.push(this.done);
    return out;
  }
}

/** Merges effect lists from several events: one dispatch/abort list, the earliest wake. */
export function mergeEffects(effects: readonly Effect[]): Effect[] {
  const fx = new Effects();
  let finished: Effect | undefined;
  for (const e of effects) {
    if (e.type === 'dispatch') for (const id of e.ids) fx.dispatch(id);
    else if (e.type === 'abort') fx.abort(e.ids);
    else if (e.type === 'wake') fx.wake(e.at);
    else finished = e;
  }
  const out = fx.list();
  if (finished !== undefined) return [...out.filter((e) => e.type !== 'wake'), finished];
  return out;
}
