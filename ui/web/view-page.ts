/**
 * The view page (`/views/DAG/DATASET`): a view dataset's published versions, newest first — which
 * one `_CURRENT` names, when each was created, its rows, bytes and files — and the task producing it;
 * "Roll back to…" on an earlier version (confirmed; `dagctl dataset rollback`), disabled read-only.
 */
import type { UiView } from '../api-types.js';
import { api, confirmThen, dagLink, h, readOnlyMode, table } from './dom.js';

export async function renderViewPage(main: HTMLElement, dag: string, dataset: string, store: string): Promise<void> {
  const q = store === '' ? '' : `?store=${encodeURIComponent(store)}`;
  const url = `/api/views/${encodeURIComponent(dag)}/${encodeURIComponent(dataset)}`;
  const v = await api<UiView>(url + q);
  const result = h('p', { class: 'action-result', role: 'status' });
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-h' });
  const readOnly = readOnlyMode();
  const rollbackTo = (version: string): HTMLElement => {
    const b = h('button', { type: 'button', class: 'rollback', 'data-version': version, text: 'Roll back to this…' });
    if (readOnly) {
      b.disabled = true;
      b.title = 'read-only mode (dagctl ui --read-only)';
    }
    b.addEventListener('click', () =>
      confirmThen(dialog, result, `Roll ${v.dataset} back to ${version}?`, `A new publication makes version ${version} current again (readers see it at once); later versions stay and can be restored the same way.`, 'No, keep the current version', async () => {
        const r = await api<{ restored: string; alreadyCurrent: boolean }>(`${url}/rollback${q}`, { method: 'POST', body: { to: version } });
        await renderViewPage(main, dag, dataset, store);
        return r.alreadyCurrent ? `${r.restored} was already current` : `rolled back: ${r.restored} is current`;
      }),
    );
    return b;
  };
  document.title = `dagctl — view ${v.dataset}`;
  main.replaceChildren(
    h('h1', {}, 'View ', h('code', { text: v.dataset })),
    h('p', {}, 'of DAG ', dagLink(v.store, v.dag), ` · produced by ${v.producer === null ? '(no task of this DAG)' : `task ${v.producer}`} · `, h('code', { text: v.uri })),
    h('p', { id: 'view-current', text: v.current === null ? 'Nothing published yet (no _CURRENT).' : `Current version: ${v.current}` }),
    v.versions.length === 0
      ? h('p', { class: 'empty', text: 'No versions.' })
      : table(
          `Versions of ${v.dataset}, newest first${v.more > 0 ? ` (${v.more} older not shown)` : ''}`,
          ['Version', 'Current', 'Created', 'Rows', 'Bytes', 'Files', 'Action'],
          v.versions.map((x) => [h('code', { text: x.version }), x.current ? '★ current' : '–', x.createdAt, x.rows.toLocaleString('en-US'), x.bytes.toLocaleString('en-US'), String(x.files), x.current ? '–' : rollbackTo(x.version)]),
          { class: 'versions' },
        ),
    result,
    dialog,
  );
}
