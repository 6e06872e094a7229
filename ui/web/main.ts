/**
 * dagctl ui's page script: picks the page from the path (`/`, `/runs/RUN_ID`, `/dags/NAME`,
 * `/views/DAG/DATASET`) and renders it from the JSON API. The home page lists, per store (embedded,
 * Redis), the DAGs and the recent runs with phase, trigger, duration and the cost model's predicted
 * duration vs actual.
 */
import type { UiHome } from '../api-types.js';
import { renderDagPage } from './dag-page.js';
import { api, dagLink, errorBox, h, runLink, runsTable } from './dom.js';
import { renderRunPage } from './run-page.js';
import { renderViewPage } from './view-page.js';

async function renderHome(main: HTMLElement): Promise<void> {
  document.title = 'dagctl — runs';
  const home = await api<UiHome>('/api/home');
  const parts: HTMLElement[] = [h('h1', { text: 'DAGs and runs' })];
  for (const s of home.stores) {
    const title = s.id === 'local' ? 'Embedded runs' : 'Distributed runs (Redis)';
    const sec = h('section', { class: `store store-${s.id}`, 'aria-labelledby': `store-${s.id}`, 'data-store': s.id }, h('h2', { id: `store-${s.id}`, text: title }), h('p', { class: 'store-label', text: s.label }));
    if (s.error !== null) sec.append(h('div', { class: 'error', role: 'alert', text: `cannot read this store: ${s.error}` }));
    sec.append(
      h('h3', { text: 'DAGs' }),
      s.dags.length === 0
        ? h('p', { class: 'empty', text: 'No DAGs have run here yet.' })
        : h('ul', { class: 'dags' }, ...s.dags.map((d) => h('li', {}, dagLink(s.id, d.name), ` — ${d.tasks} task${d.tasks === 1 ? '' : 's'}, ${d.runs} run${d.runs === 1 ? '' : 's'}, latest `, runLink(s.id, d.latestRunId)))),
      h('h3', { text: 'Recent runs' }),
      runsTable(`Recent runs (${title.toLowerCase()})`, s.runs),
    );
    parts.push(sec);
  }
  main.replaceChildren(...parts);
}

async function route(): Promise<void> {
  const main = document.getElementById('main');
  if (main === null) return;
  const path = location.pathname;
  const store = new URLSearchParams(location.search).get('store') ?? '';
  try {
    const run = /^\/runs\/([^/]+)$/.exec(path);
    const dag = /^\/dags\/([^/]+)$/.exec(path);
    const view = /^\/views\/([^/]+)\/([^/]+)$/.exec(path);
    if (view !== null) await renderViewPage(main, decodeURIComponent(view[1] ?? ''), decodeURIComponent(view[2] ?? ''), store);
    else if (run !== null) await renderRunPage(main, decodeURIComponent(run[1] ?? ''), store);
    else if (dag !== null) await renderDagPage(main, decodeURIComponent(dag[1] ?? ''), store);
    else await renderHome(main);
  } catch (e) {
    main.replaceChildren(h('h1', { text: 'dagctl' }), errorBox(e));
  }
  // After the next frame: what a user sees is laid out (the bench reads renderMs).
  requestAnimationFrame(() => {
    main.dataset.renderMs = performance.now().toFixed(1);
    main.dataset.ready = '1';
  });
}

void route();
