/**
 * Shared set-up of the UI tests: DAG files written to a temp folder and loaded like `dagctl run`
 * does (so runs record the real DAG text), embedded runs driven in this process by the real
 * EmbeddedExecutor on a LocalRunStore (a test-owned AbortController is the barrier that ends a
 * held run), a synthetic run of N finished instances applied through the store's reducer, and the
 * Chromium the browser tests drive (DAGCTL_TEST_CHROMIUM, else /usr/bin/chromium; missing: skip
 * locally, fail under CI).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createRunRecord, newRunId } from '../../scheduler/create-run.js';
import { driveRun } from '../../scheduler/driver.js';
import { initialState, type RunState } from '../../scheduler/engine/state.js';
import type { RunEvent } from '../../scheduler/engine/events.js';
import { loadPlanningContext } from '../../scheduler/plan/context.js';
import type { RunRecord, RunStore } from '../../scheduler/ports.js';
import { loadDag } from '../../definitions/load.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A noop DAG: `fan` (buckets, reads dataset `logs`) → `hold` (sleeps sleepMs) → `after`. */
export function holdDagYaml(name: string, root: string, opts: { buckets?: number; sleepMs?: number; failBucket?: number; schedule?: string } = {}): string {
  const fanParams = [`buckets: ${opts.buckets ?? 3}`, ...(opts.failBucket !== undefined ? [`failBucket: ${opts.failBucket}`] : [])].join(', ');
  return `apiVersion: dagctl/v1
kind: Dag
metadata:
  name: ${name}
  description: a noop DAG for the UI tests
${opts.schedule !== undefined ? `schedule: ${opts.schedule}\n` : ''}datasets:
  logs:
    uri: ${root}/logs
    format: text
    partitionBy: date
    allowEmpty: true
tasks:
  - name: fan
    operator: noop
    inputs: [logs]
    params: { ${fanParams} }
  - name: hold
    operator: noop
    dependsOn: [fan]
    timeout: 2h
    params: { sleepMs: ${opts.sleepMs ?? 0} }
  - name: after
    operator: noop
    dependsOn: [hold]
`;
}

/** Writes, loads and plans a DAG file; stores the run (not started). */
export async function createRun(store: RunStore, dir: string, yaml: string, executor: 'embedded' | 'bullmq' = 'embedded'): Promise<RunRecord> {
  const file = join(dir, `${Math.random().toString(36).slice(2, 8)}.yaml`);
  await writeFile(file, yaml);
  const loaded = await loadDag(file);
  if (loaded.dag === undefined) throw new Error(`test DAG invalid: ${JSON.stringify(loaded.issues)}`);
  const ctx = await loadPlanningContext(loaded.dag, undefined, store);
  const now = Date.now();
  const { record, state } = createRunRecord({
    dag: loaded.dag,
    text: loaded.text,
    ctx,
    options: { force: true, params: {}, executor, concurrency: 2 },
    now,
    runId: newRunId(loaded.dag.name, now, Math.random().toString(16).slice(2)),
  });
  await store.createRun(record, state);
  return record;
}

/** Drives an embedded run in this process; aborting `cancel` cancels it. */
export function drive(store: RunStore, record: RunRecord, cancel?: AbortSignal): Promise<RunState> {
  return driveRun({ store, record, ...(cancel !== undefined ? { cancel } : {}), makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, { concurrency: 2, graceMs: 300 }) });
}

/** A finished run of `n` noop instances (one bucket task), its events applied through the store. */
export async function syntheticRun(store: RunStore, n: number, name = 'wide'): Promise<RunRecord> {
  const dag = dagOf(name, [noopTask('fan', { params: { buckets: n } })]);
  const t0 = Date.now();
  const record = recordOf(dag, `${name}-${t0}-${Math.random().toString(16).slice(2, 8)}`, t0);
  await store.createRun(record, initialState(record.runId, dag.name, record.plan, t0));
  await store.apply(record.runId, [{ type: 'start', at: t0 }]);
  const events: RunEvent[] = [];
  record.plan.forEach((p, i) => {
    const at = t0 + 10 + i;
    events.push({ type: 'started', id: p.id, attempt: 1, at, worker: `w${i % 4}` });
    events.push({ type: 'succeeded', id: p.id, attempt: 1, at: at + 5 + (i % 7), result: { memoized: false, fingerprint: `f${i}`, outputs: [], metrics: {}, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: 5 + (i % 7), setupMs: 1 } });
  });
  await store.apply(record.runId, events);
  return record;
}

export const CHROMIUM = process.env.DAGCTL_TEST_CHROMIUM !== undefined && process.env.DAGCTL_TEST_CHROMIUM !== '' ? process.env.DAGCTL_TEST_CHROMIUM : '/usr/bin/chromium';

/** Call at the top of a describe(): skips (locally) or fails (CI) without Chromium. */
export function requireChromium(ctx: Mocha.Suite): void {
  ctx.beforeAll(function () {
    if (existsSync(CHROMIUM)) return;
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') throw new Error(`no Chromium at ${CHROMIUM} but CI is set: run scripts/provision/chromium.sh`);
    this.skip();
  });
}

/** The launch flags of every browser test and screenshot: headless, offline, no GPU (the fresh --user-data-dir is launchPersistentContext's folder). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's Chromium driven by playwright-core, on a fresh profile folder (removed by close()). */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await tempDir('dagctl-chromium-');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
