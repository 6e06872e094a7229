/**
 * History and rollback of a published dataset (the human-fault tolerance of the batch layer: bad
 * data in, roll the view back).
 *
 *   history(store) → HistoryEntry[]   every recorded publication, oldest first, the current one last
 *   rollback(store, to, now?) → PublishResult   a new publication making an earlier version current
 *
 * History comes from the `_CURRENT` pointer (publish.ts keeps its publication records), with each
 * publication a view's Delta log records taking its Delta version, files and rows from the log; each entry
 * says whether its version can still be restored (its manifest not vacuumed). `to` is a publication
 * number (seq) or a version name. Rollback checks the version's manifest and every file it lists
 * before swapping: VERSION_VACUUMED naming the first missing one; nothing changes then.
 */
import { DagctlError } from '../../core/errors.js';
import type { Manifest, ObjectStore, Producer, Publication } from '../types.js';
import { deltaHistory, type DeltaHistoryEntry } from './delta-log.js';
import { currentProducer } from './guards.js';
import { manifestKey } from './layout.js';
import { publications, publishVersion, readManifest, readPointer, readPublished, type PublishResult } from './publish.js';

export interface HistoryEntry extends Publication {
  current: boolean;
  /** The Delta version logging this publication (views with a Delta log; absent when not logged). */
  deltaVersion?: number;
  /** Its manifest is still stored (vacuum has not removed the version). */
  restorable: boolean;
}

export async function history(store: ObjectStore): Promise<HistoryEntry[]> {
  const pointer = await readPointer(store);
  if (pointer === null) throw new DagctlError('DATASET_NOT_FOUND', `${store.rootUri} has no published version (_CURRENT)`, { root: store.rootUri });
  const all = publications(pointer);
  // A view with a Delta log: each logged publication's files and rows as the log has them.
  const logged = new Map<number, DeltaHistoryEntry>();
  if (pointer.delta !== false) for (const d of (await deltaHistory(store)) ?? []) if (d.info !== null) logged.set(d.info.seq, d);
  const manifests = new Map<string, Manifest | null>();
  const out: HistoryEntry[] = [];
  for (const [i, p] of all.entries()) {
    if (!manifests.has(p.version)) manifests.set(p.version, await readManifest(store, p.version));
    const m = manifests.get(p.version) ?? null;
    const e: HistoryEntry = { ...p, current: i === all.length - 1, restorable: m !== null };
    // Pointers of older dagctl versions carry no publication record: fill it from the manifest.
    if (m !== null && e.rows < 0) e.rows = m.rows;
    if (m !== null && e.files < 0) e.files = m.files.length;
    if (m !== null && e.publishedAt === '') e.publishedAt = m.createdAt;
    if (e.producer === undefined && m?.producer !== undefined) e.producer = m.producer;
    const d = logged.get(p.seq);
    if (d !== undefined) {
      e.deltaVersion = d.version;
      e.files = d.files;
      if (d.rows >= 0) e.rows = d.rows;
    }
    out.push(e);
  }
  return out;
}

export async function rollback(store: ObjectStore, to: string, now = new Date()): Promise<PublishResult & { restored: Publication; alreadyCurrent: boolean }> {
  const entries = await history(store);
  const target = /^\d+$/.test(to) ? entries.find((e) => e.seq === Number(to)) : entries.filter((e) => e.version === to).at(-1);
  if (target === undefined) {
    throw new DagctlError('VERSION_NOT_FOUND', `${store.rootUri} has no publication ${to}; \`dagctl dataset history\` lists ${entries.map((e) => e.seq).join(', ')}`, { root: store.rootUri, to, known: entries.map((e) => ({ seq: e.seq, version: e.version })) });
  }
  const key = manifestKey(target.version);
  const manifest = await readManifest(store, target.version);
  if (manifest === null) throw new DagctlError('VERSION_VACUUMED', `version ${target.version} (publication ${target.seq}) of ${store.rootUri} was removed by vacuum (${key} is gone): it cannot be restored`, { root: store.rootUri, seq: target.seq, version: target.version, missing: key });
  for (const f of manifest.files) {
    if ((await store.head(f.path)) === null) {
      throw new DagctlError('VERSION_VACUUMED', `version ${target.version} (publication ${target.seq}) of ${store.rootUri} lists ${f.path}, which storage no longer has (vacuumed): it cannot be restored`, { root: store.rootUri, seq: target.seq, version: target.version, missing: f.path });
    }
  }
  const cur = await readPublished(store);
  if (cur !== null && cur.pointer.version === target.version) return { pointer: cur.pointer, manifest: cur.manifest, swapped: false, attempts: 0, restored: target, alreadyCurrent: true };
  // The dataset keeps its owner: the DAG that published the current version (else the restored one's).
  const owner = currentProducer(cur) ?? manifest.producer;
  const opts: Parameters<typeof publishVersion>[1] = { version: target.version, dataset: manifest.dataset, files: manifest.files, restore: { seq: target.seq }, now };
  if (owner !== undefined) {
    const producer: Producer = { dag: owner.dag, dagHash: owner.dagHash, runId: `rollback-${now.toISOString().replace(/[-:.]/g, '')}`, runCreatedAt: now.toISOString() };
    opts.producer = producer;
  }
  return { ...(await publishVersion(store, opts)), restored: target, alreadyCurrent: false };
}

