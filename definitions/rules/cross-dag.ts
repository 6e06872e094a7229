/**
 * A rule across DAG files (what `dagctl validate A.yaml B.yaml` sees at once): one dataset URI
 * produced by two DAGs (by metadata.name) is DATASET_PRODUCED_BY_TWO_DAGS, reported in each file
 * that produces it, unless that file's dataset declares `takeOver: true`. At run time the second
 * producer is refused with DATASET_PRODUCER_CONFLICT (storage/dataset/guards.ts). Pure.
 */
import type { ValidationIssue } from '../issues.js';
import { severityOf } from '../issues.js';
import type { DagSpec } from '../types.js';

export function crossDagProducers(dags: readonly { file: string; dag: DagSpec }[]): ValidationIssue[] {
  const byUri = new Map<string, { file: string; dag: string; dataset: string; takeOver: boolean }[]>();
  for (const { file, dag } of dags) {
    for (const ds of Object.values(dag.datasets)) {
      if (ds.producer === undefined) continue;
      const list = byUri.get(ds.uri) ?? [];
      list.push({ file, dag: dag.name, dataset: ds.name, takeOver: ds.takeOver === true });
      byUri.set(ds.uri, list);
    }
  }
  const issues: ValidationIssue[] = [];
  for (const [uri, list] of byUri) {
    const names = [...new Set(list.map((p) => p.dag))];
    if (names.length < 2) continue;
    for (const p of list) {
      if (p.takeOver) continue;
      const others = names.filter((n) => n !== p.dag);
      issues.push({
        code: 'DATASET_PRODUCED_BY_TWO_DAGS',
        severity: severityOf('DATASET_PRODUCED_BY_TWO_DAGS'),
        message: `dataset ${p.dataset} (${uri}) is also produced by DAG ${others.map((n) => `"${n}"`).join(', ')}: their runs would replace each other's versions. Give it its own URI, or declare takeOver: true to take it over`,
        file: p.file,
        line: 0,
        column: 0,
        path: `datasets.${p.dataset}`,
      });
    }
  }
  return issues;
}
