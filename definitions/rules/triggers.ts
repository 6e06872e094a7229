/**
 * The `triggers` rule and the `partitions:` of datasets:
 *   BAD_TRIGGER     a trigger names no declared dataset, a dataset some task writes (only sources
 *                   — master data — trigger), or the same dataset twice; `minInterval` / `debounce`
 *                   not a duration ≥ 0; the file uses ${run.changedPartitions} but has no trigger
 *                   (only a data-triggered run gives it); `newData` naming no declared dataset, a
 *                   dataset some task writes, the trigger's own dataset or another trigger's
 *                   newData, or set on a trigger whose dataset is not `partitionBy: date`;
 *   BAD_PARTITIONS  `partitions:` on a dataset that is not a date-partitioned source, or an entry
 *                   that is not YYYY-MM-DD.
 */
import { isDate } from '../../storage/dataset/layout.js';
import { durationMs } from '../durations.js';
import { splitPartitions } from '../resolve.js';
import { TRIGGER_RUN_VARS } from '../run-vars.js';
import type { Rule } from './types.js';

export const validTriggers: Rule = {
  name: 'valid-triggers',
  check(draft, report) {
    const written = new Set<string>();
    for (const t of draft.tasks) for (const d of t.decl.outputs) written.add(d);
    const seen = new Set<string>();
    const newData = new Set<string>();
    for (const { index, decl } of draft.triggers ?? []) {
      const at = ['triggers', index, 'dataset'];
      if (!draft.datasetNames.has(decl.dataset)) report.add('BAD_TRIGGER', at, `trigger on "${decl.dataset}": no such dataset is declared under datasets`);
      else if (written.has(decl.dataset)) report.add('BAD_TRIGGER', at, `trigger on "${decl.dataset}": a task of this DAG writes it; only source datasets (master data) trigger runs`);
      else if (seen.has(decl.dataset)) report.add('BAD_TRIGGER', at, `a second trigger on "${decl.dataset}": give each dataset one trigger`);
      seen.add(decl.dataset);
      const nd = decl.newData;
      if (nd !== undefined) {
        const ndAt = ['triggers', index, 'newData'];
        if (!draft.datasetNames.has(nd)) report.add('BAD_TRIGGER', ndAt, `newData "${nd}": no such dataset is declared under datasets`);
        else if (written.has(nd)) report.add('BAD_TRIGGER', ndAt, `newData "${nd}": a task of this DAG writes it; newData replaces a source dataset`);
        else if (nd === decl.dataset) report.add('BAD_TRIGGER', ndAt, `newData "${nd}" is the trigger's own dataset: name the source that stands for the new batch`);
        else if (newData.has(nd)) report.add('BAD_TRIGGER', ndAt, `newData "${nd}" is already the newData of another trigger`);
        else if (draft.datasets.get(decl.dataset)?.partitionBy !== 'date') report.add('BAD_TRIGGER', ndAt, `newData needs the trigger's dataset "${decl.dataset}" to be \`partitionBy: date\` (it reads the changed partitions)`);
        newData.add(nd);
      }
      for (const key of ['minInterval', 'debounce'] as const) {
        const v = decl[key];
        if (v !== undefined && durationMs(v) === null) report.add('BAD_TRIGGER', ['triggers', index, key], `"${v}" is not a duration (e.g. 500ms, 10s, 5m)`);
      }
    }
    const triggerVars = [...(draft.runVarsUsed ?? [])].filter((v) => TRIGGER_RUN_VARS.includes(v));
    if (triggerVars.length > 0 && draft.triggers === undefined) {
      report.add('BAD_TRIGGER', [], `\${run.${triggerVars[0] ?? ''}} is only given to data-triggered runs: declare \`triggers:\` on a source dataset`);
    }
    for (const [name, d] of draft.datasets) {
      if (d.partitions === undefined) continue;
      const at = ['datasets', name, 'partitions'];
      if (d.partitionBy !== 'date') report.add('BAD_PARTITIONS', at, `dataset "${name}": \`partitions\` needs \`partitionBy: date\``);
      else if (written.has(name)) report.add('BAD_PARTITIONS', at, `dataset "${name}": \`partitions\` selects what a run reads of a source; a task writes "${name}"`);
      const bad = splitPartitions(d.partitions).find((p) => !isDate(p));
      if (bad !== undefined) report.add('BAD_PARTITIONS', at, `dataset "${name}": "${bad}" is not a YYYY-MM-DD date`);
    }
  },
};
