/**
 * The run page: the header (phase, times, predicted vs actual), actions (cancel, retry-from-task,
 * each confirmed in a dialog), the per-task table, and a virtualised grid + Gantt of every
 * instance: only the rows in view exist in the DOM (a pool reused on scroll), so a 10,000-instance
 * run renders at once. The grid is one tab stop; arrows, Page Up/Down, Home/End move the active
 * row and Enter shows its details. Live: a server-sent event stream gives a snapshot, then
 * patches (changed rows only). `main.dataset.seq` holds the last applied sequence number.
 */
import type { UiInstanceRow, UiInstanceTexts, UiRun, UiRunHeader, UiRunPatch, UiTaskRow } from '../api-types.js';
import { api, confirmThen, dagLink, fmtMs, fmtTime, h, ratio, stateLabel, stateText, table } from './dom.js';

const ROW_H = 28;
const OVERSCAN = 8;

interface Page {
  main: HTMLElement;
  run: UiRun;
  index: Map<string, number>;
  filtered: number[];
  active: number;
  filterText: string;
  filterState: string;
  receivedAt: number;
  header: HTMLElement;
  actions: HTMLElement;
  tasks: HTMLElement;
  grid: HTMLElement;
  spacer: HTMLElement;
  pool: HTMLElement[];
  detail: HTMLElement;
  status: HTMLElement;
  count: HTMLElement;
}

export function renderRunPage(main: HTMLElement, runId: string, store: string): Promise<void> {
  const q = store === '' ? '' : `?store=${encodeURIComponent(store)}`;
  return new Promise((resolve, reject) => {
    let page: Page | null = null;
    const es = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events${q}`);
    es.addEventListener('snapshot', (ev) => {
      const run = JSON.parse((ev as MessageEvent<string>).data) as UiRun;
      if (page === null) {
        page = build(main, run, q);
        resolve();
      } else {
        replaceAll(page, run);
      }
    });
    es.addEventListener('patch', (ev) => {
      if (page !== null) applyPatch(page, JSON.parse((ev as MessageEvent<string>).data) as UiRunPatch);
    });
    es.addEventListener('error', (ev) => {
      const data = (ev as MessageEvent<string>).data;
      if (typeof data === 'string' && data !== '') {
        const e = JSON.parse(data) as { error: { code: string; message: string } };
        if (page === null) {
          es.close();
          reject(Object.assign(new Error(e.error.message), { code: e.error.code }));
        } else page.status.textContent = `live updates: ${e.error.code}: ${e.error.message}`;
        return;
      }
      if (page === null) {
        es.close();
        // The stream could not open (e.g. no such run): ask the API for the reason.
        api<UiRun>(`/api/runs/${encodeURIComponent(runId)}${q}`).then(() => reject(new Error('live updates are unavailable')), reject);
      } else page.status.textContent = 'live updates interrupted; reconnecting…';
    });
  });
}

function build(main: HTMLElement, run: UiRun, q: string): Page {
  document.title = `dagctl — ${run.runId}`;
  const grid = h('div', { class: 'grid', role: 'grid', tabindex: 0, 'aria-label': 'Instances', 'aria-rowcount': run.instances.length + 1, 'aria-colcount': 8 });
  const spacer = h('div', { class: 'grid-spacer', role: 'presentation' });
  const head = h(
    'div',
    { class: 'grid-row grid-head', role: 'row', 'aria-rowindex': 1 },
    ...['Instance', 'State', 'Att.', 'Worker', 'Predicted (O + P×H)', 'Actual', 'Act ÷ pred', 'Timeline (bar: actual, outline: predicted)'].map((c, i) => h('div', { class: `c c${i}`, role: 'columnheader', text: c })),
  );
  grid.append(head, spacer);
  const page: Page = {
    main,
    run,
    index: new Map(),
    filtered: [],
    active: 0,
    filterText: '',
    filterState: '',
    receivedAt: Date.now(),
    header: h('section', { class: 'run-header', 'aria-label': 'Run' }),
    actions: h('section', { class: 'actions', 'aria-label': 'Actions' }),
    tasks: h('section', { class: 'tasks', 'aria-label': 'Tasks' }),
    grid,
    spacer,
    pool: [],
    detail: h('section', { class: 'detail', 'aria-live': 'polite', 'aria-label': 'Selected instance' }),
    status: h('p', { class: 'live', role: 'status' }),
    count: h('span', { class: 'count' }),
  };
  const filterInput = h('input', { type: 'search', id: 'filter', placeholder: 'instance, task or worker' });
  const stateSelect = h('select', { id: 'state-filter' }, h('option', { value: '', text: 'any state' }), ...['pending', 'queued', 'running', 'succeeded', 'failed', 'upstream_failed', 'skipped', 'cancelled'].map((s) => h('option', { value: s, text: stateText(s as UiInstanceRow['state']) })));
  filterInput.addEventListener('input', () => {
    page.filterText = filterInput.value.trim().toLowerCase();
    refilter(page);
  });
  stateSelect.addEventListener('change', () => {
    page.filterState = stateSelect.value;
    refilter(page);
  });
  const filters = h('div', { class: 'filters' }, h('label', { for: 'filter', text: 'Filter ' }), filterInput, ' ', h('label', { for: 'state-filter', text: 'State ' }), stateSelect, ' ', page.count);
  main.replaceChildren(
    h('h1', {}, 'Run ', h('code', { text: run.runId })),
    page.status,
    page.header,
    page.actions,
    page.tasks,
    h('section', { class: 'instances', 'aria-labelledby': 'inst-h' }, h('h2', { id: 'inst-h', text: 'Instances' }), filters, grid, h('p', { class: 'hint', text: 'Keyboard: focus the grid, then ↑ ↓ Page Up/Down Home End move, Enter shows details.' })),
    page.detail,
  );
  grid.addEventListener('scroll', () => renderRows(page));
  grid.addEventListener('keydown', (e) => onKey(page, e));
  grid.addEventListener('click', (e) => {
    const row = (e.target as HTMLElement).closest<HTMLElement>('.grid-row[data-pos]');
    if (row !== null) {
      page.active = Number(row.dataset.pos);
      renderRows(page);
      showDetail(page);
    }
  });
  renderActions(page, q);
  replaceAll(page, run);
  // Running instances' durations grow between events.
  setInterval(() => {
    if (page.run.phase === 'running' || page.run.phase === 'pending') {
      renderHeader(page);
      renderRows(page);
    }
  }, 1000);
  return page;
}

function replaceAll(page: Page, run: UiRun): void {
  page.run = run;
  page.receivedAt = Date.now();
  page.index = new Map(run.instances.map((r, i) => [r.id, i]));
  refilter(page);
  renderHeader(page);
  renderTasks(page);
  updateActions(page);
  page.main.dataset.seq = String(run.seq);
  page.main.dataset.phase = run.phase;
}

function applyPatch(page: Page, p: UiRunPatch): void {
  const { tasks, instances, ...header } = p;
  Object.assign(page.run, header);
  page.run.tasks = tasks;
  page.receivedAt = Date.now();
  let added = false;
  for (const r of instances) {
    const i = page.index.get(r.id);
    if (i === undefined) {
      page.index.set(r.id, page.run.instances.length);
      page.run.instances.push(r);
      added = true;
    } else page.run.instances[i] = r;
  }
  if (added || page.filterState !== '') refilter(page);
  else renderRows(page);
  renderHeader(page);
  renderTasks(page);
  updateActions(page);
  page.status.textContent = `live: updated ${new Date().toLocaleTimeString()} (${instances.length} instance${instances.length === 1 ? '' : 's'} changed)`;
  page.main.dataset.seq = String(p.seq);
  page.main.dataset.phase = p.phase;
}

function runDuration(page: Page): number | null {
  const r = page.run;
  if (r.durationMs === null) return null;
  return r.finishedAt === null ? r.durationMs + (Date.now() - page.receivedAt) : r.durationMs;
}

function renderHeader(page: Page): void {
  const r: UiRunHeader = page.run;
  const actual = runDuration(page);
  const dl = (k: string, v: Node | string): HTMLElement[] => [h('dt', { text: k }), h('dd', {}, v)];
  page.header.replaceChildren(
    h(
      'dl',
      { class: 'facts' },
      ...dl('Phase', h('span', {}, stateLabel(r.phase), r.cancelRequested && r.phase === 'running' ? ' (cancelling)' : '')),
      ...dl('DAG', h('span', {}, dagLink(r.store, r.dag), ` ${r.dagHash.slice(0, 12)}`)),
      ...dl('Store', `${r.store === 'local' ? 'embedded' : 'Redis'} (${r.executor})`),
      ...dl('Trigger', r.trigger ?? '–'),
      ...dl('Created', fmtTime(r.createdAt)),
      ...dl('Started', fmtTime(r.startedAt)),
      ...dl('Finished', fmtTime(r.finishedAt)),
      ...dl('Duration', fmtMs(actual)),
      ...dl('Predicted', `${fmtMs(r.predictedMs)} on ${r.predictedWorkers} worker${r.predictedWorkers === 1 ? '' : 's'} (actual ÷ predicted ${ratio(actual, r.predictedMs)})`),
      ...dl('Instances', Object.entries(r.counts).map(([k, n]) => `${k.replace('_', ' ')} ${n}`).join(', ')),
    ),
  );
}

function renderTasks(page: Page): void {
  const rows = page.run.tasks.map((t: UiTaskRow) => [
    t.name,
    t.operator,
    stateLabel(t.state),
    String(t.instances),
    Object.entries(t.counts).map(([k, n]) => `${k.replace('_', ' ')} ${n}`).join(', '),
    fmtMs(t.predictedMs),
    fmtMs(t.actualMs),
    ratio(t.actualMs, t.predictedMs),
  ]);
  page.tasks.replaceChildren(h('h2', { text: 'Tasks' }), table('Per task: predicted T = Σ(O + P×H) vs actual Σ durations', ['Task', 'Operator', 'State', 'Instances', 'States', 'Predicted Σ', 'Actual Σ', 'Act ÷ pred'], rows, { class: 'task-table' }));
}

function refilter(page: Page): void {
  const t = page.filterText;
  const s = page.filterState;
  const out: number[] = [];
  page.run.instances.forEach((r, i) => {
    if (s !== '' && r.state !== s) return;
    if (t !== '' && !r.id.toLowerCase().includes(t) && !(r.worker ?? '').toLowerCase().includes(t)) return;
    out.push(i);
  });
  page.filtered = out;
  page.active = Math.min(page.active, Math.max(0, out.length - 1));
  page.spacer.style.height = `${out.length * ROW_H}px`;
  page.grid.setAttribute('aria-rowcount', String(out.length + 1));
  page.count.textContent = `${out.length} of ${page.run.instances.length} instances`;
  renderRows(page);
}

/** The timeline's span: the run so far, or everything any instance (or its prediction) covers. */
function span(page: Page): number {
  let m = runDuration(page) ?? 1;
  for (const r of page.run.instances) {
    const end = r.endMs ?? (r.startMs !== null ? r.startMs + r.predictedMs : 0);
    if (end > m) m = end;
  }
  return Math.max(1, m);
}

function actualOf(page: Page, r: UiInstanceRow): number | null {
  if (r.durationMs !== null) return r.durationMs;
  if (r.startMs === null || page.run.startedAt === null) return null;
  return Math.max(0, Date.now() - (page.run.startedAt + r.startMs));
}

function rowEl(page: Page): HTMLElement {
  const cells = [0, 1, 2, 3, 4, 5, 6].map((i) => h('div', { class: `c c${i}`, role: 'gridcell' }));
  const bar = h('div', { class: 'bar' });
  const pred = h('div', { class: 'pred' });
  const tl = h('div', { class: 'c c7 timeline', role: 'gridcell' }, pred, bar);
  const el = h('div', { class: 'grid-row', role: 'row' }, ...cells, tl);
  page.spacer.append(el);
  return el;
}

function renderRows(page: Page): void {
  const top = page.grid.scrollTop;
  const height = page.grid.clientHeight || 600;
  const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
  const last = Math.min(page.filtered.length, Math.ceil((top + height) / ROW_H) + OVERSCAN);
  const need = last - first;
  while (page.pool.length < need) page.pool.push(rowEl(page));
  const total = span(page);
  page.pool.forEach((el, k) => {
    const pos = first + k;
    const idx = page.filtered[pos];
    const r = idx === undefined ? undefined : page.run.instances[idx];
    if (k >= need || r === undefined) {
      el.hidden = true;
      el.removeAttribute('id');
      return;
    }
    el.hidden = false;
    el.id = `row-${pos}`;
    el.dataset.pos = String(pos);
    el.dataset.id = r.id;
    el.dataset.state = r.state;
    el.style.transform = `translateY(${pos * ROW_H}px)`;
    el.setAttribute('aria-rowindex', String(pos + 2));
    el.setAttribute('aria-selected', pos === page.active ? 'true' : 'false');
    el.classList.toggle('active', pos === page.active);
    const c = el.children;
    const actual = actualOf(page, r);
    (c[0] as HTMLElement).textContent = r.id;
    (c[0] as HTMLElement).title = r.id;
    const st = c[1] as HTMLElement;
    st.className = `c c1 st st-${r.state}`;
    st.textContent = stateText(r.state);
    (c[2] as HTMLElement).textContent = String(r.attempts);
    (c[3] as HTMLElement).textContent = r.worker ?? '–';
    (c[4] as HTMLElement).textContent = `${fmtMs(r.predictedMs)} = ${fmtMs(r.overheadMs)} + ${fmtMs(r.workMs)}`;
    (c[5] as HTMLElement).textContent = fmtMs(actual);
    (c[6] as HTMLElement).textContent = ratio(actual, r.predictedMs);
    const bar = c[7]?.lastElementChild as HTMLElement;
    const pred = c[7]?.firstElementChild as HTMLElement;
    if (r.startMs === null) {
      bar.style.display = 'none';
      pred.style.display = 'none';
    } else {
      bar.style.display = '';
      pred.style.display = '';
      bar.className = `bar st-${r.state}`;
      bar.style.left = `${(100 * r.startMs) / total}%`;
      bar.style.width = `${Math.max(0.3, (100 * (actual ?? 0)) / total)}%`;
      pred.style.left = `${(100 * r.startMs) / total}%`;
      pred.style.width = `${Math.max(0.3, (100 * r.predictedMs) / total)}%`;
    }
  });
  const activeIdx = page.filtered[page.active];
  if (activeIdx !== undefined && page.active >= first && page.active < last) page.grid.setAttribute('aria-activedescendant', `row-${page.active}`);
  else page.grid.removeAttribute('aria-activedescendant');
}

function onKey(page: Page, e: KeyboardEvent): void {
  const n = page.filtered.length;
  if (n === 0) return;
  const pageRows = Math.max(1, Math.floor(page.grid.clientHeight / ROW_H) - 1);
  const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: pageRows, PageUp: -pageRows };
  let next = page.active;
  if (e.key in moves) next = page.active + (moves[e.key] ?? 0);
  else if (e.key === 'Home') next = 0;
  else if (e.key === 'End') next = n - 1;
  else if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    showDetail(page);
    return;
  } else return;
  e.preventDefault();
  page.active = Math.max(0, Math.min(n - 1, next));
  const y = page.active * ROW_H;
  const headH = ROW_H;
  if (y < page.grid.scrollTop) page.grid.scrollTop = y;
  else if (y + ROW_H + headH > page.grid.scrollTop + page.grid.clientHeight) page.grid.scrollTop = y + ROW_H + headH - page.grid.clientHeight;
  renderRows(page);
}

function showDetail(page: Page): void {
  const idx = page.filtered[page.active];
  const r = idx === undefined ? undefined : page.run.instances[idx];
  if (r === undefined) return;
  renderDetail(page, r);
}

/** The visible sign of a text the page was sent cut (views.ts UI_TEXT_CAP_BYTES). */
function truncated(more: number | undefined): Node | null {
  return more === undefined || more <= 0 ? null : h('span', { class: 'truncated', text: ` … truncated, ${more.toLocaleString('en-US')} bytes more` });
}

/** Fetches the instance's texts in full and shows them in place of the cut ones. */
async function showFullTexts(page: Page, r: UiInstanceRow): Promise<void> {
  const q = `?store=${encodeURIComponent(page.run.store)}`;
  const t = await api<UiInstanceTexts>(`/api/runs/${encodeURIComponent(page.run.runId)}/instances/${encodeURIComponent(r.id)}${q}`);
  const { errorMore: _e, logMore: _l, whyMore: _w, earlierAttempts: _a, log: _log, ...rest } = r;
  const full: UiInstanceRow = { ...rest, why: t.why, error: t.error, ...(t.log === null ? {} : { log: t.log }), ...(t.earlierAttempts.length === 0 ? {} : { earlierAttempts: t.earlierAttempts }) };
  // Only while the same instance is still shown.
  if (page.detail.dataset.instance === r.id) renderDetail(page, full);
}

function renderDetail(page: Page, r: UiInstanceRow): void {
  const cut = (r.errorMore ?? 0) > 0 || (r.logMore ?? 0) > 0 || (r.whyMore ?? 0) > 0 || (r.earlierAttempts ?? []).some((a) => (a.errorMore ?? 0) > 0 || (a.logMore ?? 0) > 0);
  const more = cut ? h('button', { type: 'button', class: 'full-texts', text: 'Show the full texts' }) : null;
  more?.addEventListener('click', () => void showFullTexts(page, r).catch((e: unknown) => more.replaceWith(h('span', { class: 'error', text: `cannot load the full texts: ${e instanceof Error ? e.message : String(e)}` }))));
  page.detail.dataset.instance = r.id;
  const actual = actualOf(page, r);
  const dl = (k: string, v: string | Node): HTMLElement[] => [h('dt', { text: k }), h('dd', {}, v)];
  page.detail.replaceChildren(
    h('h2', {}, 'Instance ', h('code', { text: r.id })),
    h(
      'dl',
      { class: 'facts' },
      ...dl('State', stateLabel(r.state)),
      ...dl('Task / stage', `${r.task} / ${r.stage}${r.partition === '' ? '' : ` (${r.partition})`}`),
      ...dl('Attempts', String(r.attempts)),
      ...dl('Worker', r.worker ?? '–'),
      ...dl('Predicted', `T = O + P×H = ${fmtMs(r.overheadMs)} + ${fmtMs(r.workMs)} = ${fmtMs(r.predictedMs)}`),
      ...dl('Actual', `${fmtMs(actual)} (${ratio(actual, r.predictedMs)})`),
      ...dl('Why', r.why === null ? '–' : h('span', {}, r.why, truncated(r.whyMore))),
      ...dl('Error', r.error === null ? '–' : h('span', { class: 'instance-error' }, `${r.errorCode ?? ''} ${r.error}`.trim(), truncated(r.errorMore))),
      ...dl(`Log (attempt ${r.attempts})`, r.log === undefined ? '–' : h('div', {}, truncated(r.logMore), h('pre', { class: 'attempt-log', tabindex: 0, 'aria-label': 'log tail of the last attempt' }, h('code', { text: r.log })))),
    ),
    ...(more === null ? [] : [h('p', {}, more)]),
    ...earlierAttempts(r),
  );
}

/** The instance's earlier failed attempts, newest first: when, its error and its log tail. */
function earlierAttempts(r: UiInstanceRow): HTMLElement[] {
  const list = r.earlierAttempts ?? [];
  if (list.length === 0) return [];
  return [
    h('h3', { text: `Earlier attempts (${list.length})` }),
    h(
      'ol',
      { class: 'earlier-attempts', reversed: true, 'aria-label': 'earlier failed attempts, newest first' },
      ...[...list].reverse().map((a) =>
        h(
          'li',
          { class: 'earlier-attempt' },
          h('p', {}, h('strong', { text: `Attempt ${a.attempt}` }), ' ', stateLabel('failed'), ` ${fmtTime(a.at)} — ${a.code}: ${a.error}`, truncated(a.errorMore)),
          a.log === undefined ? h('p', { class: 'hint', text: 'no log lines' }) : h('div', {}, truncated(a.logMore), h('pre', { class: 'attempt-log', tabindex: 0, 'aria-label': `log tail of attempt ${a.attempt}` }, h('code', { text: a.log }))),
        ),
      ),
    ),
  ];
}

function renderActions(page: Page, q: string): void {
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-h' });
  const cancelBtn = h('button', { type: 'button', id: 'cancel-run', text: 'Cancel run…' });
  const fromSel = h('select', { id: 'retry-from' }, h('option', { value: '', text: 'failed and cancelled instances' }), ...page.run.tasks.map((t) => h('option', { value: t.name, text: `from task ${t.name} (and downstream)` })));
  const retryBtn = h('button', { type: 'button', id: 'retry-run', text: 'Retry…' });
  const note = h('p', { class: 'action-note' });
  const result = h('p', { class: 'action-result', role: 'status' });
  const confirm = (title: string, body: string, act: () => Promise<string>): void => confirmThen(dialog, result, title, body, 'No, keep the run as it is', act);
  const id = encodeURIComponent(page.run.runId);
  const sq = q === '' ? `?store=${page.run.store}` : q;
  cancelBtn.addEventListener('click', () =>
    confirm('Cancel this run?', `Run ${page.run.runId}: pending and queued instances are cancelled at once; running attempts are asked to stop.`, async () => {
      const r = await api<{ note: string }>(`/api/runs/${id}/cancel${sq}`, { method: 'POST' });
      return r.note;
    }),
  );
  retryBtn.addEventListener('click', () => {
    const from = fromSel.value;
    confirm('Retry this run?', from === '' ? `Run ${page.run.runId}: its failed, upstream-failed and cancelled instances start over.` : `Run ${page.run.runId}: task ${from} and everything downstream of it run again (unchanged work is memoized), plus failed and cancelled instances.`, async () => {
      const r = await api<{ dispatched: number }>(`/api/runs/${id}/retry${sq}`, { method: 'POST', body: from === '' ? {} : { from } });
      return `retry started: ${r.dispatched} instance(s) dispatched`;
    });
  });
  page.actions.replaceChildren(h('h2', { text: 'Actions' }), h('div', { class: 'action-row' }, cancelBtn, ' ', h('label', { for: 'retry-from', text: 'Retry ' }), fromSel, ' ', retryBtn), note, result, dialog);
}

function updateActions(page: Page): void {
  const a = page.run.actions;
  const cancel = page.actions.querySelector<HTMLButtonElement>('#cancel-run');
  const retry = page.actions.querySelector<HTMLButtonElement>('#retry-run');
  const sel = page.actions.querySelector<HTMLSelectElement>('#retry-from');
  if (cancel !== null) cancel.disabled = !a.cancel;
  if (retry !== null) retry.disabled = !a.retry;
  if (sel !== null) sel.disabled = !a.retry;
  const note = page.actions.querySelector<HTMLElement>('.action-note');
  if (note !== null) note.textContent = a.reason ?? '';
}
