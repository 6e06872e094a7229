/**
 * The run page of a finished embedded run, kept on disk beside the run (runs/<runId>/ui-view.json),
 * so a page's first load sends it without reading the run: no parse of the record and snapshot
 * (megabytes for a 10,000-instance run), no prediction, no view build, no serialisation.
 *
 * Written by `dagctl run` when a big run finishes (after its store closed) and by `dagctl ui` the
 * first time it builds a finished run's page. The file is two lines: a header
 * `{"token": T, "seq": N}` and the page (UiRun JSON without `actions`, which depend on the server).
 * T is the run files' change token (size and mtime of state.json, size of events.jsonl, taken
 * before the page was built): any later event (a reset, a resume) appends to the journal or
 * rewrites the snapshot, so a cached page whose token no longer matches is never used.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunState } from '../../scheduler/engine/state.js';
import type { RunRecord } from '../../scheduler/ports.js';
import type { UiActions, UiRun } from '../api-types.js';

/** Runs with fewer instances are cheap to read: `dagctl run` writes no cached page for them. */
export const VIEW_CACHE_MIN_INSTANCES = 1000;

const FILE = 'ui-view.json';

/** The change token of a local run's files, or null when it has no snapshot. */
export async function runFilesToken(home: string, runId: string): Promise<string | null> {
  const dir = join(home, 'runs', runId);
  try {
    const s = await stat(join(dir, 'state.json'));
    const j = await stat(join(dir, 'events.jsonl')).catch(() => null);
    return `${s.size}:${s.mtimeMs}:${j?.size ?? -1}`;
  } catch {
    return null;
  }
}

/** Writes the page of a finished run (`token`: runFilesToken taken before its state was read). */
export async function writeViewCache(home: string, token: string, view: UiRun): Promise<void> {
  const { actions: _serverSide, ...page } = view;
  const path = join(home, 'runs', view.runId, FILE);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ token, seq: view.seq })}\n${JSON.stringify(page)}`);
  await rename(tmp, path);
}

/** The cached page's JSON text (without `actions`), its seq and token, when present and current. */
export async function readViewCache(home: string, runId: string): Promise<{ text: string; seq: number; token: string } | null> {
  let raw: string;
  try {
    raw = await readFile(join(home, 'runs', runId, FILE), 'utf8');
  } catch {
    return null;
  }
  const nl = raw.indexOf('\n');
  if (nl < 0) return null;
  let head: { token?: unknown; seq?: unknown };
  try {
    head = JSON.parse(raw.slice(0, nl)) as { token?: unknown; seq?: unknown };
  } catch {
    return null;
  }
  if (typeof head.token !== 'string' || typeof head.seq !== 'number' || head.token !== (await runFilesToken(home, runId))) return null;
  return { text: raw.slice(nl + 1), seq: head.seq, token: head.token };
}

/** The cached page's text with this server's actions added (a UiRun as JSON). */
export function withActions(text: string, actions: UiActions): string {
  return `{"actions":${JSON.stringify(actions)},${text.slice(1)}`;
}

/**
 * `dagctl run`'s part: after a big embedded run finished and its store closed (the final
 * snapshot written), keeps its page. `cores`: the embedded default of the prediction, as the UI's.
 * The page code is loaded only here (small runs do not pay for it).
 */
export async function keepRunPage(home: string, record: RunRecord, state: RunState, cores: number): Promise<void> {
  if (record.plan.length < VIEW_CACHE_MIN_INSTANCES || (state.phase !== 'succeeded' && state.phase !== 'failed' && state.phase !== 'cancelled')) return;
  const token = await runFilesToken(home, record.runId);
  if (token === null) return;
  const { buildRunView, runBrief } = await import('./views.js');
  await writeViewCache(home, token, buildRunView('local', record, state, Date.now(), { cancel: false, retry: false, reason: null }, runBrief(record, cores)));
}
