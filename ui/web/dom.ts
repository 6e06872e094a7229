/**
 * Page helpers for dagctl ui's browser scripts: element building (text only: never innerHTML with
 * data), formatting of durations and times, state labels with a glyph and a word (colour is never
 * the only sign of a state), and JSON requests carrying the CSRF header.
 */
import type { UiError, UiInstanceState, UiRunListItem, UiRunPhase } from '../api-types.js';

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Array<Node | null>): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null) el.append(c);
  return el;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function fmtTime(t: number | null): string {
  if (t === null) return '–';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** actual ÷ predicted, as text ("×1.40"), or '–'. */
export function ratio(actual: number | null, predicted: number | null): string {
  if (actual === null || predicted === null || predicted <= 0) return '–';
  return `×${(actual / predicted).toFixed(2)}`;
}

const GLYPH: Record<UiInstanceState | UiRunPhase, string> = {
  pending: '○',
  queued: '◔',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  upstream_failed: '⊘',
  skipped: '↷',
  cancelled: '■',
};

/** A state badge: glyph + word, with a colour class as a third (never the only) sign. */
export function stateLabel(state: UiInstanceState | UiRunPhase): HTMLSpanElement {
  return h('span', { class: `st st-${state}`, 'data-state': state }, h('span', { 'aria-hidden': 'true', text: GLYPH[state] }), ` ${state.replace('_', ' ')}`);
}

export function stateText(state: UiInstanceState | UiRunPhase): string {
  return `${GLYPH[state]} ${state.replace('_', ' ')}`;
}

export function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-dagctl-csrf'] = meta('dagctl-csrf');
  }
  const res = await fetch(path, { method: init.method ?? 'GET', headers, credentials: 'same-origin', ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : init.method === 'POST' ? { body: '{}' } : {}) });
  const data = (await res.json()) as T | UiError;
  if (!res.ok) {
    const e = (data as UiError).error;
    throw new ApiError(e?.code ?? 'INTERNAL', e?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

/** Whether the server runs with --read-only (actions disabled). */
export function readOnlyMode(): boolean {
  return meta('dagctl-read-only') === '1';
}

/**
 * The confirmation of an action: a modal dialog (focus on "No"); on "Yes" `act` runs and its
 * message (or its error) goes to `result`, a live region.
 */
export function confirmThen(dialog: HTMLDialogElement, result: HTMLElement, title: string, body: string, keep: string, act: () => Promise<string>): void {
  const ok = h('button', { type: 'button', id: 'confirm-ok', text: 'Yes, do it' });
  const no = h('button', { type: 'button', id: 'confirm-no', text: keep });
  dialog.replaceChildren(h('h2', { id: 'confirm-h', text: title }), h('p', { text: body }), h('div', { class: 'buttons' }, no, ' ', ok));
  no.addEventListener('click', () => dialog.close());
  ok.addEventListener('click', () => {
    dialog.close();
    result.textContent = 'working…';
    act().then(
      (m) => (result.textContent = m),
      (e: unknown) => result.replaceChildren(errorBox(e)),
    );
  });
  dialog.showModal();
  no.focus();
}

export function errorBox(e: unknown): HTMLElement {
  const code = e instanceof ApiError ? e.code : 'INTERNAL';
  const msg = e instanceof Error ? e.message : String(e);
  return h('div', { class: 'error', role: 'alert' }, h('strong', { text: `${code}: ` }), msg);
}

export function runLink(store: string, runId: string): HTMLAnchorElement {
  return h('a', { href: `/runs/${encodeURIComponent(runId)}?store=${store}`, text: runId });
}

export function dagLink(store: string, name: string): HTMLAnchorElement {
  return h('a', { href: `/dags/${encodeURIComponent(name)}?store=${store}`, text: name });
}

export function table(caption: string, head: string[], rows: Child[][], attrs: Record<string, string> = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

/** The runs table of the home and DAG pages: phase, trigger, duration, predicted vs actual. */
export function runsTable(caption: string, runs: UiRunListItem[]): HTMLElement {
  if (runs.length === 0) return h('p', { class: 'empty', text: `${caption}: none yet.` });
  return table(
    caption,
    ['Run', 'DAG', 'Phase', 'Trigger', 'Created', 'Duration', 'Predicted', 'Actual ÷ predicted', 'Instances'],
    runs.map((r) => [
      runLink(r.store, r.runId),
      dagLink(r.store, r.dag),
      stateLabel(r.phase),
      r.trigger ?? '–',
      fmtTime(r.createdAt),
      fmtMs(r.durationMs),
      r.predictedMs === null ? '–' : `${fmtMs(r.predictedMs)} on ${r.predictedWorkers} worker${r.predictedWorkers === 1 ? '' : 's'}`,
      ratio(r.durationMs, r.predictedMs),
      `${r.instances} (${Object.entries(r.counts).map(([k, n]) => `${k.replace('_', ' ')} ${n}`).join(', ')})`,
    ]),
    { class: 'runs' },
  );
}
