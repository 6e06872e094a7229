/**
 * The DAG page: the layered graph of tasks (boxes) and datasets (rounded, dashed) as SVG — every
 * node a focusable, labelled element — the plan numbers of `dagctl plan` for the latest run's plan
 * (makespan on N workers, workers a deadline needs; recomputed by the server on submit), the DAG
 * file text as recorded, and the DAG's runs.
 */
import type { UiDag, UiPlanNumbers } from '../api-types.js';
import { api, confirmThen, fmtMs, h, readOnlyMode, runLink, runsTable, svg, table } from './dom.js';

const NODE_W = 170;
const NODE_H = 44;

export async function renderDagPage(main: HTMLElement, name: string, store: string): Promise<void> {
  const base = `/api/dags/${encodeURIComponent(name)}`;
  const q = (extra: Record<string, string>): string => {
    const p = new URLSearchParams(store === '' ? extra : { store, ...extra });
    const s = p.toString();
    return s === '' ? '' : `?${s}`;
  };
  const dag = await api<UiDag>(base + q({}));
  document.title = `dagctl — DAG ${dag.name}`;
  const planBox = h('div', { class: 'plan', 'aria-live': 'polite' }, planView(dag.plan));
  const workers = h('input', { id: 'plan-workers', type: 'number', min: 1, value: dag.plan.workers, required: true });
  const deadline = h('input', { id: 'plan-deadline', type: 'text', placeholder: 'e.g. 90s, 2h', size: 10 });
  const form = h('form', { class: 'plan-form' }, h('label', { for: 'plan-workers', text: 'Workers ' }), workers, ' ', h('label', { for: 'plan-deadline', text: 'Deadline ' }), deadline, ' ', h('button', { type: 'submit', text: 'Plan' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const extra: Record<string, string> = { workers: workers.value };
    if (deadline.value.trim() !== '') extra.deadline = deadline.value.trim();
    api<UiDag>(base + q(extra)).then(
      (d) => planBox.replaceChildren(planView(d.plan)),
      (err: unknown) => planBox.replaceChildren(h('div', { class: 'error', role: 'alert', text: err instanceof Error ? err.message : String(err) })),
    );
  });
  main.replaceChildren(
    h('h1', {}, 'DAG ', h('code', { text: dag.name })),
    h('p', { class: 'description', text: dag.description ?? '' }),
    h('p', {}, `${dag.store === 'local' ? 'Embedded' : 'Redis'} store · as recorded by run `, runLink(dag.store, dag.runId), ` · ${dag.sourceFile} · sha256 ${dag.dagHash.slice(0, 12)}`),
    h('section', { 'aria-labelledby': 'graph-h' }, h('h2', { id: 'graph-h', text: 'Graph' }), graphView(dag)),
    h('section', { 'aria-labelledby': 'plan-h' }, h('h2', { id: 'plan-h', text: 'Plan (cost model T = O + P×H)' }), form, planBox),
    h('section', { 'aria-labelledby': 'schedule-h' }, h('h2', { id: 'schedule-h', text: 'Schedule' }), scheduleView(dag), pauseControl(dag, base + q({}))),
    dag.views.length === 0 ? h('p', { class: 'empty', text: 'This DAG declares no view datasets.' }) : h('section', { 'aria-labelledby': 'views-h' }, h('h2', { id: 'views-h', text: 'Views' }), h('ul', { class: 'views' }, ...dag.views.map((v) => h('li', {}, h('a', { href: `/views/${encodeURIComponent(dag.name)}/${encodeURIComponent(v)}?store=${dag.store}`, text: v }))))),
    h('section', { 'aria-labelledby': 'issues-h', class: 'issues' }, h('h2', { id: 'issues-h', text: 'Validation' }), issuesView(dag)),
    h('section', { 'aria-labelledby': 'file-h' }, h('h2', { id: 'file-h', text: 'DAG file' }), h('pre', { class: 'dag-text', tabindex: 0, 'aria-label': 'DAG file text' }, h('code', { text: dag.text === '' ? '(no text recorded)' : dag.text }))),
    h('section', { 'aria-labelledby': 'runs-h' }, h('h2', { id: 'runs-h', text: 'Runs' }), runsTable(`Runs of ${dag.name}`, dag.runs)),
  );
}

/** Pause / unpause the DAG's schedule (`dagctl pause|unpause`), confirmed; disabled in read-only mode. */
function pauseControl(dag: UiDag, url: string): HTMLElement | null {
  const s = dag.schedule;
  if (s === null || s.paused === null) return null;
  let paused = s.paused;
  const state = h('p', { id: 'schedule-paused', role: 'status', text: paused ? '‖ paused: its ticks are dropped' : '▶ active' });
  const btn = h('button', { type: 'button', id: 'pause-schedule', text: paused ? 'Unpause…' : 'Pause…' });
  const result = h('p', { class: 'action-result', role: 'status' });
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-h' });
  if (readOnlyMode()) {
    btn.disabled = true;
    btn.title = 'read-only mode (dagctl ui --read-only)';
  }
  btn.addEventListener('click', () => {
    const next = !paused;
    confirmThen(dialog, result, next ? 'Pause this schedule?' : 'Unpause this schedule?', next ? `DAG ${dag.name}: its ticks are dropped (not caught up) until it is unpaused.` : `DAG ${dag.name}: runs start again from its next tick.`, 'No, leave it', async () => {
      const r = await api<{ paused: boolean }>(url.replace(/(\?|$)/, '/pause$1'), { method: 'POST', body: { paused: next } });
      paused = r.paused;
      state.textContent = paused ? '‖ paused: its ticks are dropped' : '▶ active';
      btn.textContent = paused ? 'Unpause…' : 'Pause…';
      return paused ? 'schedule paused' : 'schedule unpaused';
    });
  });
  return h('div', { class: 'schedule-actions' }, state, btn, result, dialog);
}

function scheduleView(dag: UiDag): HTMLElement {
  const s = dag.schedule;
  if (s === null) return h('p', { class: 'empty', text: 'Not scheduled: runs start with `dagctl run` (or add `schedule:` and run `dagctl scheduler`).' });
  return h(
    'dl',
    { class: 'facts', id: 'schedule' },
    h('dt', { text: 'When' }), h('dd', { text: `${s.spec} (${s.timezone})` }),
    h('dt', { text: 'Next tick' }), h('dd', { id: 'next-tick', text: s.nextTick === null ? 'none (the expression never fires again)' : s.nextTick }),
    h('dt', { text: 'Catch-up / overlap' }), h('dd', { text: `${s.catchup} / ${s.overlap}` }),
  );
}

function issuesView(dag: UiDag): HTMLElement {
  if (dag.issues === null) return h('p', { class: 'empty', text: 'No DAG text was recorded with this run.' });
  if (dag.issues.length === 0) return h('p', { text: '✓ The recorded file is valid against today\'s operators and rules.' });
  return h(
    'ul',
    { class: 'issue-list' },
    ...dag.issues.map((i) => h('li', { class: `issue issue-${i.severity}` }, h('strong', { text: `${i.severity === 'error' ? '✗ error' : '⚠ ' + i.severity} ${i.code}` }), ` ${i.line > 0 ? `line ${i.line}:${i.column}` : ''}${i.path === '' ? '' : ` at ${i.path}`}: ${i.message}`)),
  );
}

function graphView(dag: UiDag): SVGSVGElement {
  const g = dag.graph;
  const at = new Map(g.nodes.map((n) => [n.id, n]));
  const root = svg('svg', { class: 'graph', width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, role: 'group', 'aria-label': `Graph of ${dag.name}: ${g.nodes.filter((n) => n.kind === 'task').length} tasks, ${g.nodes.filter((n) => n.kind === 'dataset').length} datasets` });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }))));
  for (const e of g.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (a === undefined || b === undefined) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    root.append(svg('path', { class: 'edge', d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`, 'marker-end': 'url(#arrow)' }));
  }
  for (const n of g.nodes) {
    const ins = g.edges.filter((e) => e.to === n.id).map((e) => at.get(e.from)?.label ?? e.from);
    const outs = g.edges.filter((e) => e.from === n.id).map((e) => at.get(e.to)?.label ?? e.to);
    const label = `${n.kind} ${n.label} (${n.detail}); from: ${ins.join(', ') || 'none'}; to: ${outs.join(', ') || 'none'}`;
    const node = svg('g', { class: `node node-${n.kind}`, transform: `translate(${n.x},${n.y})`, tabindex: 0, role: 'img', 'aria-label': label, 'data-id': n.id });
    node.append(
      svg('title', {}, document.createTextNode(label)),
      svg('rect', { width: NODE_W, height: NODE_H, rx: n.kind === 'dataset' ? 18 : 3 }),
      svg('text', { x: 10, y: 18, class: 'node-label' }, document.createTextNode(`${n.kind === 'task' ? '⚙' : '▤'} ${n.label}`)),
      svg('text', { x: 10, y: 35, class: 'node-detail' }, document.createTextNode(`${n.kind} · ${n.detail}`)),
    );
    root.append(node);
  }
  return root;
}

function planView(p: UiPlanNumbers): HTMLElement {
  const dl = (k: string, v: string): HTMLElement[] => [h('dt', { text: k }), h('dd', { text: v })];
  const d = p.deadline;
  return h(
    'div',
    {},
    h(
      'dl',
      { class: 'facts', id: 'plan-numbers' },
      ...dl('Instances', String(p.instances)),
      ...dl('Total work', fmtMs(p.totalWorkMs)),
      ...dl('Critical path', `${fmtMs(p.criticalPathMs)} (${p.criticalTasks.join(' → ')})`),
      ...dl('Makespan', `${fmtMs(p.makespanMs)} on ${p.workers} worker${p.workers === 1 ? '' : 's'}`),
      ...(d === null ? [] : dl('Deadline', d.feasible ? `${fmtMs(d.deadlineMs)}: needs at least ${d.workers} worker(s) (makespan ${fmtMs(d.makespanMs)})` : `${fmtMs(d.deadlineMs)}: cannot be met — ${d.reason ?? ''}`)),
    ),
    table('Per task: O, P×H and T summed over its instances', ['Task', 'Operator', 'Instances', 'O', 'P×H', 'T', 'Source'], p.tasks.map((t) => [t.task, t.operator, String(t.instances), fmtMs(t.overheadMs), fmtMs(t.workMs), fmtMs(t.predictedMs), t.costSource])),
  );
}
