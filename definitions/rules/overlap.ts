/**
 * DATASET_OVERLAP: no dataset a task writes may equal, lie inside, or contain another dataset of
 * the DAG — above all a source (a dataset no task produces, e.g. the master dataset), which runs
 * only read. URIs are compared canonically (definitions/canonical-uri.ts: scheme case, `file://`, `.`,
 * `..`, duplicate and trailing slashes, S3 bucket case) and, when the draft carries a realpath
 * port (definitions/load.ts), with local symlinks resolved. Two sources may overlap (both are only read).
 * The issue is placed on the written dataset's `uri` (the later one when both are written).
 */
import { canonicalizeUri, formatCanonical, overlap, withRealpath } from '../canonical-uri.js';
import type { CanonicalLocation, Overlap } from '../canonical-uri.js';
import type { Rule } from './types.js';

const RELATION: Record<Overlap, string> = { equal: 'is the same location as', inside: 'lies inside', around: 'contains' };

export const datasetsDisjoint: Rule = {
  name: 'datasets-disjoint',
  check(draft, report) {
    const written = new Set<string>();
    for (const t of draft.tasks) for (const d of t.decl.outputs) written.add(d);
    const located: { name: string; loc: CanonicalLocation }[] = [];
    for (const [name, d] of draft.datasets) {
      const r = canonicalizeUri(d.uri, draft.dagDir);
      if (!r.ok) continue; // BAD_URI, reported by valid-uris
      located.push({ name, loc: draft.realpath !== undefined ? withRealpath(r.location, draft.realpath) : r.location });
    }
    for (let j = 0; j < located.length; j++) {
      const b = located[j];
      if (b === undefined) continue;
      for (let i = 0; i < j; i++) {
        const a = located[i];
        if (a === undefined || (!written.has(a.name) && !written.has(b.name))) continue;
        // Report on the written one (the later one when both are written), relative to the other.
        const [out, other] = written.has(b.name) ? [b, a] : [a, b];
        const rel = overlap(out.loc, other.loc);
        if (rel === null) continue;
        const kind = written.has(other.name) ? 'dataset' : 'source dataset (read-only to runs)';
        report.add(
          'DATASET_OVERLAP',
          ['datasets', out.name, 'uri'],
          `output dataset "${out.name}" (${formatCanonical(out.loc)}) ${RELATION[rel]} ${kind} "${other.name}" (${formatCanonical(other.loc)}): give each dataset its own folder`,
        );
      }
    }
  },
};
