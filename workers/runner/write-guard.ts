/**
 * Defence in depth for read-only sources: before an instance writes anything (data files, commit
 * markers, its work area, a published version), the task runner checks that no target lies at,
 * inside or around a source dataset of the run's DAG (a dataset no task produces, e.g. the master
 * dataset). Validation already rejects such DAGs (definitions/rules/overlap.ts); this refuses a run
 * record or job that was edited after validation, or a symlink created since.
 *
 * Throws SOURCE_WRITE_REFUSED (never retried) naming the target, the source and its URI.
 * Locations are compared canonically (definitions/canonical-uri.ts) with local symlinks resolved.
 */
import { DagctlError } from '../../core/errors.js';
import { canonicalizeUri, formatCanonical, overlap, withRealpath } from '../../definitions/canonical-uri.js';
import type { CanonicalLocation } from '../../definitions/canonical-uri.js';
import type { DagSpec } from '../../definitions/types.js';
import { realpathExisting } from '../../storage/local/realpath.js';

function locate(uri: string): CanonicalLocation | null {
  const r = canonicalizeUri(uri, process.cwd(), { memory: true });
  return r.ok ? withRealpath(r.location, realpathExisting) : null;
}

const sourcesOf = new WeakMap<DagSpec, { name: string; uri: string }[]>();

/** The read-only datasets of a DAG: declared, and produced by no task (computed once per DAG: a run checks every instance). */
export function sourceDatasets(dag: DagSpec): { name: string; uri: string }[] {
  let out = sourcesOf.get(dag);
  if (out === undefined) {
    const produced = new Set(dag.tasks.flatMap((t) => t.outputs));
    out = Object.values(dag.datasets)
      .filter((d) => d.producer === undefined && !produced.has(d.name))
      .map((d) => ({ name: d.name, uri: d.uri }));
    sourcesOf.set(dag, out);
  }
  return out;
}

/** Throws SOURCE_WRITE_REFUSED when any of `targets` overlaps a source dataset of `dag`. */
export function assertOutsideSources(dag: DagSpec, targets: readonly string[], what: string): void {
  const sources = sourceDatasets(dag).map((s) => ({ ...s, loc: locate(s.uri) }));
  for (const target of targets) {
    const t = locate(target);
    if (t === null) throw new DagctlError('SOURCE_WRITE_REFUSED', `${what}: refusing to write to unparseable URI ${target}`, { target });
    for (const s of sources) {
      if (s.loc === null || overlap(t, s.loc) === null) continue;
      throw new DagctlError(
        'SOURCE_WRITE_REFUSED',
        `${what}: refusing to write ${formatCanonical(t)}: it overlaps source dataset "${s.name}" (${s.uri}), which runs only read`,
        { target, dataset: s.name, sourceUri: s.uri },
      );
    }
  }
}
