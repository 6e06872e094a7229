/**
 * loadPlanningContext: the I/O half of planning — lists every source dataset the DAG reads (with
 * partition pruning by an optional date range) and loads the cost history. Everything after this
 * (expandDag, the cost model, makespan) is pure.
 */
import { openSource } from '../../storage/open.js';
import { listSource } from '../../storage/dataset/source.js';
import type { FileEntry } from '../../storage/types.js';
import type { DagSpec } from '../../spec/types.js';
import type { CostSample } from '../model.js';
import { LocalRunStore } from '../stores/local-run-store.js';
import type { RunStore } from '../ports.js';
import type { SourceSnapshot } from './sources.js';

export interface PlanningContext {
  sources: SourceSnapshot;
  /** Store roots of sources whose URI names a single file (access logs): its folder's URI. */
  sourceRoots: Record<string, string>;
  history: CostSample[];
}

export function dagctlHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const h = env.DAGCTL_HOME;
  if (h !== undefined && h !== '') return h.startsWith('/') ? h : `${cwd}/${h}`;
  return `${cwd}/.dagctl`;
}

export async function snapshotSources(dag: DagSpec, range?: { from?: string; to?: string }): Promise<{ sources: SourceSnapshot; sourceRoots: Record<string, string> }> {
  const out: SourceSnapshot = {};
  const roots: Record<string, string> = {};
  const read = new Set(dag.tasks.flatMap((t) => t.inputs));
  for (const name of [...read].sort()) {
    const ds = dag.datasets[name];
    if (ds === undefined || ds.producer !== undefined) continue;
    const loc = await openSource(ds.uri);
    let files: FileEntry[];
    try {
      const opts: Parameters<typeof listSource>[1] = { format: ds.format, committed: 'auto' };
      if (ds.partitionBy !== undefined) opts.partitionBy = ds.partitionBy;
      if (range !== undefined) opts.range = range;
      if (loc.only !== undefined) {
        opts.only = loc.only;
        roots[name] = ds.uri.slice(0, ds.uri.length - loc.only.length).replace(/\/+$/, '');
      }
      files = await listSource(loc.store, opts);
    } catch (e) {
      if ((e as { code?: string }).code === 'DATASET_NOT_FOUND' || (e as { code?: string }).code === 'STORAGE_NOT_FOUND') files = [];
      else throw e;
    }
    out[name] = files;
  }
  return { sources: out, sourceRoots: roots };
}

export async function loadPlanningContext(dag: DagSpec, home?: string, store?: RunStore): Promise<PlanningContext> {
  const { sources, sourceRoots } = await snapshotSources(dag);
  const s = store ?? new LocalRunStore(home ?? dagctlHome());
  const history = await s.history({ limit: 20_000 });
  return { sources, sourceRoots, history };
}
