/**
 * The view page (`/views/DAG/DATASET`): a view dataset's published versions, newest first — which
 * one `_CURRENT` names, when each was created, its rows, bytes and files — and the task producing it.
 */
import type { UiView } from '../api-types.js';
import { api, dagLink, h, table } from './dom.js';

export async function renderViewPage(main: HTMLElement, dag: string, dataset: string, store: string): Promise<void> {
  const q = store === '' ? '' : `?store=${encodeURIComponent(store)}`;
  const v = await api<UiView>(`/api/views/${encodeURIComponent(dag)}/${encodeURIComponent(dataset)}${q}`);
  document.title = `dagctl — view ${v.dataset}`;
  main.replaceChildren(
    h('h1', {}, 'View ', h('code', { text: v.dataset })),
    h('p', {}, 'of DAG ', dagLink(v.store, v.dag), ` · produced by ${v.producer === null ? '(no task of this DAG)' : `task ${v.producer}`} · `, h('code', { text: v.uri })),
    h('p', { id: 'view-current', text: v.current === null ? 'Nothing published yet (no _CURRENT).' : `Current version: ${v.current}` }),
    v.versions.length === 0
      ? h('p', { class: 'empty', text: 'No versions.' })
      : table(
          `Versions of ${v.dataset}, newest first${v.more > 0 ? ` (${v.more} older not shown)` : ''}`,
          ['Version', 'Current', 'Created', 'Rows', 'Bytes', 'Files'],
          v.versions.map((x) => [h('code', { text: x.version }), x.current ? '★ current' : '–', x.createdAt, x.rows.toLocaleString('en-US'), x.bytes.toLocaleString('en-US'), String(x.files)]),
          { class: 'versions' },
        ),
  );
}
