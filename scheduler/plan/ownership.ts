/**
 * checkOwnership: before a run starts, refuse to write datasets another DAG publishes (by DAG name,
 * from the producer their current version records) unless the run or the dataset takes them over —
 * the same DATASET_PRODUCER_CONFLICT the publish instance raises under compare-and-swap, found
 * before any work is done. I/O: reads each output dataset's `_CURRENT`.
 */
import { checkProducer } from '../../storage/dataset/guards.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import type { DagSpec } from '../../spec/types.js';

export async function checkOwnership(dag: DagSpec, takeOver: readonly string[] = []): Promise<void> {
  const me = { dag: dag.name, dagHash: dag.sourceHash, runId: '(planned)', runCreatedAt: new Date(0).toISOString() };
  for (const ds of Object.values(dag.datasets)) {
    if (ds.producer === undefined || ds.takeOver === true || takeOver.includes(ds.name)) continue;
    const cur = await readCurrent(await openObjectStore(ds.uri));
    checkProducer({ dataset: ds.name, uri: ds.uri }, cur, me, false);
  }
}
