/**
 * INVALID_NAME: the DAG, task and dataset names become folder names, instance ids and queue job
 * ids, so they are restricted to ^[a-z0-9][a-z0-9-]{0,62}$ (DNS-label-like, no ':' or '.').
 */
import { NAME_PATTERN } from '../schema.js';
import type { Rule } from './types.js';

export const validNames: Rule = {
  name: 'valid-names',
  check(draft, report) {
    const why = ' (lowercase letters, digits and -, starting with a letter or digit, at most 63)';
    if (draft.name !== undefined && !NAME_PATTERN.test(draft.name)) report.add('INVALID_NAME', ['metadata', 'name'], `DAG name "${draft.name}" is not valid${why}`);
    for (const name of draft.datasetNames) {
      if (!NAME_PATTERN.test(name)) report.add('INVALID_NAME', ['datasets', name], `dataset name "${name}" is not valid${why}`, { onKey: true });
    }
    for (const t of draft.tasks) {
      if (!NAME_PATTERN.test(t.decl.name)) report.add('INVALID_NAME', ['tasks', t.index, 'name'], `task name "${t.decl.name}" is not valid${why}`);
    }
  },
};
