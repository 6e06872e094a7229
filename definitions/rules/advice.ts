/**
 * Warnings (they never make a DAG invalid):
 *   UNUSED_DATASET          declared but neither read nor written by any task;
 *   VIEW_PRODUCED_BY_NONE   a view (published batch view) that no task writes;
 *   RETENTION_WITHOUT_VIEW  retention only applies to views;
 *   UNUSED_PARAM            a declared param no ${params.x} refers to.
 */
import { producers } from './producers.js';
import type { Rule } from './types.js';

export const usedDatasets: Rule = {
  name: 'used-datasets',
  check(draft, report) {
    const used = new Set<string>();
    for (const t of draft.tasks) for (const d of [...t.decl.inputs, ...t.decl.outputs]) used.add(d);
    for (const name of draft.datasets.keys()) {
      if (!used.has(name)) report.add('UNUSED_DATASET', ['datasets', name], `dataset "${name}" is not read or written by any task`, { onKey: true });
    }
  },
};

export const viewsHaveProducers: Rule = {
  name: 'views-have-producers',
  check(draft, report) {
    const prod = producers(draft);
    for (const [name, d] of draft.datasets) {
      if (d.view && !prod.has(name)) report.add('VIEW_PRODUCED_BY_NONE', ['datasets', name, 'view'], `view "${name}" is not written by any task`);
      if (!d.view && d.retention !== undefined) report.add('RETENTION_WITHOUT_VIEW', ['datasets', name, 'retention'], `retention has no effect: "${name}" is not a view`);
    }
  },
};

export const usedParams: Rule = {
  name: 'used-params',
  check(draft, report) {
    for (const name of Object.keys(draft.params)) {
      if (!draft.usedParams.has(name)) report.add('UNUSED_PARAM', ['params', name], `param "${name}" is not used`, { onKey: true });
    }
  },
};
