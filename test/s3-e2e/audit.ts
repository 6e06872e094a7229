/**
 * auditTree(store): checks the commit protocol's invariants over everything under a store root
 * that holds many datasets (a DAG's data root on S3), object by object, after runs are done:
 *
 *  - a dataset root is any folder holding `_commits/`, `_versions/` or `_CURRENT` (task work areas
 *    `<output>/_work/<task>/` are roots of their own); each data file belongs to the deepest root
 *    above it, and only keys with no `_`/`.` segment below that root are data files;
 *  - every file a marker lists exists with the recorded size and sha256 (bytes re-hashed here);
 *  - no data file is listed by two markers of its root (no row counted twice);
 *  - data files no marker lists are leftovers of attempts that lost the first-commit race — legal
 *    (vacuum's job), counted and returned;
 *  - every manifest's files exist with the recorded size and sha256 and were committed by a marker
 *    (a view never names an uncommitted file); `_CURRENT` names an existing manifest.
 * Violations are collected as { kind, key, detail } (the caller asserts the list is empty) so one run reports all.
 * Reads go straight to the server (`store` must not be behind a fault proxy).
 */
import { sha256Hex } from '../../core/hash.js';
import { CURRENT_KEY, isVisibleDataKey, MANIFEST_NAME, parseJson } from '../../storage/dataset/layout.js';
import type { CommitMarker, CurrentPointer, FileEntry, Manifest, ObjectInfo, ObjectStore } from '../../storage/types.js';

export type ProblemKind = 'double-commit' | 'missing' | 'size' | 'sha256' | 'no-sha256' | 'published-uncommitted' | 'dangling-current' | 'outside-dataset';
export interface Problem {
  kind: ProblemKind;
  key: string;
  detail: string;
}

export interface AuditReport {
  roots: string[];
  dataFiles: number;
  referenced: number;
  /** Keys of data files no marker lists (losing attempts' garbage). */
  leftovers: string[];
  markers: number;
  manifests: number;
  problems: Problem[];
}

/** Root of a bookkeeping key: the part before its `_commits/`, `_versions/` or `_CURRENT` segment. */
function rootOf(key: string): string | null {
  const segs = key.split('/');
  const i = segs.findIndex((s) => s === '_commits' || s === '_versions' || s === CURRENT_KEY);
  return i < 0 ? null : segs.slice(0, i).map((s) => `${s}/`).join('');
}

export async function auditTree(store: ObjectStore): Promise<AuditReport> {
  const objects = await store.list('');
  const byKey = new Map<string, ObjectInfo>(objects.map((o) => [o.key, o]));
  const roots = [...new Set(objects.map((o) => rootOf(o.key)).filter((r): r is string => r !== null))].sort((a, b) => b.length - a.length);
  const report: AuditReport = { roots: [...roots].sort(), dataFiles: 0, referenced: 0, leftovers: [], markers: 0, manifests: 0, problems: [] };
  const problem = (kind: ProblemKind, key: string, detail: string): void => void report.problems.push({ kind, key, detail });
  const shaCache = new Map<string, string>();
  const sha = async (key: string): Promise<string> => {
    let h = shaCache.get(key);
    if (h === undefined) {
      h = sha256Hex(await store.get(key));
      shaCache.set(key, h);
    }
    return h;
  };
  const checkFile = async (root: string, f: FileEntry, owner: string): Promise<void> => {
    const key = root + f.path;
    const info = byKey.get(key);
    if (info === undefined) return void problem('missing', key, `listed by ${owner}`);
    if (info.size !== f.bytes) problem('size', key, `${info.size} bytes, ${owner} records ${f.bytes}`);
    if (f.sha256 === '') problem('no-sha256', key, `recorded by ${owner} without sha256`);
    else if ((await sha(key)) !== f.sha256) problem('sha256', key, `content differs from the sha256 ${owner} records`);
  };

  // Data files, each assigned to the deepest root above it (roots are sorted longest first).
  const dataOf = new Map<string, string[]>(roots.map((r) => [r, []]));
  for (const o of objects) {
    const root = roots.find((r) => o.key.startsWith(r));
    if (root === undefined) {
      if (isVisibleDataKey(o.key)) problem('outside-dataset', o.key, 'data file outside any dataset');
      continue;
    }
    if (isVisibleDataKey(o.key.slice(root.length))) dataOf.get(root)?.push(o.key);
  }

  for (const root of roots) {
    const markerKeys = objects.filter((o) => o.key.startsWith(`${root}_commits/`) && o.key.endsWith('.json')).map((o) => o.key);
    const refs = new Map<string, string>();
    for (const mk of markerKeys) {
      const m = parseJson<CommitMarker>(await store.get(mk), mk);
      report.markers += 1;
      for (const f of m.files) {
        const prev = refs.get(f.path);
        if (prev !== undefined) problem('double-commit', root + f.path, `listed by ${prev} and ${mk}`);
        refs.set(f.path, mk);
        await checkFile(root, f, mk);
      }
    }
    for (const key of dataOf.get(root) ?? []) {
      report.dataFiles += 1;
      if (refs.has(key.slice(root.length))) report.referenced += 1;
      else {
        report.leftovers.push(key);
        await store.get(key); // verifies the object against its own sha256 metadata: no torn file
      }
    }
    const manifestKeys = objects.filter((o) => o.key.startsWith(`${root}_versions/`) && o.key.endsWith(`/${MANIFEST_NAME}`)).map((o) => o.key);
    for (const k of manifestKeys) {
      const man = parseJson<Manifest>(await store.get(k), k);
      report.manifests += 1;
      for (const f of man.files) {
        await checkFile(root, f, k);
        if (!refs.has(f.path)) problem('published-uncommitted', root + f.path, `published by ${k}, committed by no marker`);
      }
    }
    if (byKey.has(`${root}${CURRENT_KEY}`)) {
      const p = parseJson<CurrentPointer>(await store.get(`${root}${CURRENT_KEY}`), CURRENT_KEY);
      if (!byKey.has(`${root}${p.path}/${MANIFEST_NAME}`)) problem('dangling-current', `${root}${CURRENT_KEY}`, `names missing ${p.path}`);
    }
  }
  return report;
}
