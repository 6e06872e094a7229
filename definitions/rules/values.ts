/**
 * Value rules over single fields:
 *   BAD_DURATION  defaults.*, tasks[i].timeout and deadline must parse (core/duration.ts) and be
 *                 ≥ 0; timeouts and the deadline must also be > 0 (a zero one fails every run);
 *   BAD_URI       dataset URIs must be a path, file:// or s3:// (definitions/uri.ts).
 */
import path from 'node:path';
import { durationMs } from '../durations.js';
import { resolveDatasetUri } from '../uri.js';
import type { IssueReporter } from '../reporter.js';
import type { Rule } from './types.js';

function checkDuration(value: string | number | undefined, segments: PropertyKey[], positive: boolean, report: IssueReporter): void {
  if (value === undefined) return;
  const ms = durationMs(value);
  if (ms === null) report.add('BAD_DURATION', segments, `"${value}" is not a duration (e.g. 500ms, 30s, 10m, 2h, 1d, 1h30m)`);
  else if (positive && ms === 0) report.add('BAD_DURATION', segments, `${String(segments.at(-1))} must be greater than zero`);
}

export const validDurations: Rule = {
  name: 'valid-durations',
  check(draft, report) {
    if (draft.defaults !== undefined) {
      checkDuration(draft.defaults.timeout, ['defaults', 'timeout'], true, report);
      checkDuration(draft.defaults.retryBackoff, ['defaults', 'retryBackoff'], false, report);
      checkDuration(draft.defaults.retryBackoffMax, ['defaults', 'retryBackoffMax'], false, report);
    }
    for (const t of draft.tasks) checkDuration(t.decl.timeout, ['tasks', t.index, 'timeout'], true, report);
    checkDuration(draft.deadline, ['deadline'], true, report);
  },
};

export const validUris: Rule = {
  name: 'valid-uris',
  check(draft, report) {
    // The directory only matters for resolution, not for validity: any absolute one will do.
    const dir = path.resolve('/');
    for (const [name, d] of draft.datasets) {
      const r = resolveDatasetUri(d.uri, dir);
      if (!r.ok) report.add('BAD_URI', ['datasets', name, 'uri'], `dataset "${name}": ${r.reason}`);
    }
  },
};
