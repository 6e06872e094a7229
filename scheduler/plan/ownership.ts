/**
 * checkOwnership: before a run starts, refuse to write datasets another DAG publishes (by DAG name,
 * from the producer their current version records) unless the run or the dataset takes them over —
 * the same DATASET_PRODUCER_CONFLICT the publish instance raises under compare-and-swap, found
 * before any work is done. Every conflicting dataset is named, with the flags that take them over.
 * I/O: reads each output dataset's `_CURRENT`.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import { checkProducer } from '../../storage/dataset/guards.js';
import { readPublished } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import type { DagSpec } from '../../definitions/types.js';

export async function checkOwnership(dag: DagSpec, takeOver: readonly string[] = []): Promise<void> {
  const me = { dag: dag.name, dagHash: dag.sourceHash, runId: '(planned)', runCreatedAt: new Date(0).toISOString() };
  const conflicts: DagctlError[] = [];
  for (const ds of Object.values(dag.datasets)) {
    if (ds.producer === undefined || ds.takeOver === true || takeOver.includes(ds.name)) continue;
    const cur = await readPublished(await openObjectStore(ds.uri));
    try {
      checkProducer({ dataset: ds.name, uri: ds.uri }, cur, me, false);
    } catch (e) {
      if (!isDagctlError(e, 'DATASET_PRODUCER_CONFLICT')) throw e;
      conflicts.push(e);
    }
  }
  const [first] = conflicts;
  if (first === undefined) return;
  if (conflicts.length === 1) throw first;
  const names = conflicts.map((c) => String(c.details.dataset));
  throw new DagctlError(
    'DATASET_PRODUCER_CONFLICT',
    `${conflicts.length} datasets of DAG "${dag.name}" are published by other DAGs: ${conflicts.map((c) => `${String(c.details.dataset)} (by "${String((c.details.producer as { dag?: string } | undefined)?.dag)}")`).join(', ')}. ` +
      `Give this DAG its own URIs, or take them over: ${names.map((n) => `--take-over ${n}`).join(' ')}`,
    { ...first.details, conflicts: conflicts.map((c) => c.details) },
  );
}
