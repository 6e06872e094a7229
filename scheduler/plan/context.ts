/**
 * loadPlanningContext: the I/O half of planning — lists every source dataset the DAG reads (with
 * partition pruning by an optional date range) and loads the cost history. Everything after this
 * (expandDag, the cost model, makespan) is pure.
 *
 * The contention k the model scales CPU time by is, by default, what the latest samples met
 * (scheduler/plan/cost.ts recentContention); DAGCTL_CONTENTION=<k ≥ 1> sets it (a known machine,
 * or reproducible plans), DAGCTL_CONTENTION=probe measures it now (core/thread-cpu.ts
 * probeContention, ~100 ms of spinning on this thread; noisy on a loaded machine).
 */
import { DagctlError } from '../../core/errors.js';
import { probeContention } from '../../core/thread-cpu.js';
import { openSource } from '../../storage/open.js';
import { listSourceReport } from '../../storage/dataset/source.js';
import type { FileEntry } from '../../storage/types.js';
import type { DagSpec } from '../../definitions/types.js';
import type { CostSample } from '../model.js';
import { LocalRunStore } from '../stores/local-run-store.js';
import type { RunStore } from '../ports.js';
import type { SourceSnapshot } from './sources.js';

export interface PlanningContext {
  sources: SourceSnapshot;
  /** Store roots of sources whose URI names a single file (access logs): its folder's URI. */
  sourceRoots: Record<string, string>;
  history: CostSample[];
  /** The contention k given at plan time (planContention), and whether a probe measured it. */
  contention?: number;
  contentionProbed?: boolean;
  /** Sources that resolved to no files (only when planning without requireInputs). */
  emptyInputs?: EmptyInput[];
  /** Sources with data files no commit marker names: not read, and said so (warnings). */
  uncommitted?: UncommittedFiles[];
}

export interface UncommittedFiles {
  dataset: string;
  uri: string;
  count: number;
  /** A few of their paths, for the message. */
  sample: string[];
  message: string;
}

export function dagctlHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const h = env.DAGCTL_HOME;
  if (h !== undefined && h !== '') return h.startsWith('/') ? h : `${cwd}/${h}`;
  return `${cwd}/.dagctl`;
}

/**
 * Lists every source the DAG reads. A source with no files (and no `allowEmpty: true`) is
 * INPUT_EMPTY, naming the dataset, its URI and the params it came from — unless `requireInputs` is
 * false (`dagctl plan`'s what-if estimates), which returns them in `empty` instead.
 */
export async function snapshotSources(dag: DagSpec, range?: { from?: string; to?: string }, requireInputs = true): Promise<{ sources: SourceSnapshot; sourceRoots: Record<string, string>; empty: EmptyInput[]; uncommitted: UncommittedFiles[] }> {
  const out: SourceSnapshot = {};
  const roots: Record<string, string> = {};
  const read = new Set(dag.tasks.flatMap((t) => t.inputs));
  const empty: EmptyInput[] = [];
  const uncommitted: UncommittedFiles[] = [];
  for (const name of [...read].sort()) {
    const ds = dag.datasets[name];
    if (ds === undefined || ds.producer !== undefined) continue;
    const loc = await openSource(ds.uri);
    let files: FileEntry[];
    try {
      const opts: Parameters<typeof listSourceReport>[1] = { format: ds.format, committed: 'auto' };
      if (ds.partitionBy !== undefined) opts.partitionBy = ds.partitionBy;
      if (ds.partitions !== undefined) opts.dates = ds.partitions;
      if (range !== undefined) opts.range = range;
      if (loc.only !== undefined) {
        opts.only = loc.only;
        roots[name] = ds.uri.slice(0, ds.uri.length - loc.only.length).replace(/\/+$/, '');
      }
      const listing = await listSourceReport(loc.store, opts);
      files = listing.files;
      if (listing.uncommitted.length > 0) {
        const sample = listing.uncommitted.slice(0, 3).map((f) => f.path);
        const n = listing.uncommitted.length;
        uncommitted.push({
          dataset: name,
          uri: ds.uri,
          count: n,
          sample,
          message: `input dataset ${name} (${ds.uri}) has ${n} data file${n === 1 ? '' : 's'} no commit marker names, not read: ${sample.join(', ')}${n > sample.length ? ', …' : ''}. A writer crashed before its marker, or another tool wrote them; \`dagctl dataset check ${ds.uri}\` lists them`,
        });
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'DATASET_NOT_FOUND' || (e as { code?: string }).code === 'STORAGE_NOT_FOUND') files = [];
      else throw e;
    }
    out[name] = files;
    if (files.length === 0 && ds.allowEmpty !== true) empty.push(emptyInput(dag, name, range));
  }
  if (empty.length > 0 && requireInputs) {
    const first = empty[0];
    const more = empty.length > 1 ? ` (and ${empty.length - 1} more: ${empty.slice(1).map((e) => e.dataset).join(', ')})` : '';
    throw new DagctlError('INPUT_EMPTY', `${first?.message ?? 'an input resolves to no files'}${more}`, { inputs: empty.map((e) => ({ dataset: e.dataset, uri: e.uri, params: e.params })), ...(first === undefined ? {} : { dataset: first.dataset, uri: first.uri, params: first.params }) });
  }
  return { sources: out, sourceRoots: roots, empty, uncommitted };
}

export interface EmptyInput {
  dataset: string;
  uri: string;
  /** The params the URI came from, with their values in this run. */
  params: Record<string, string | number | boolean>;
  message: string;
}

/** INPUT_EMPTY's account of one source that resolved to no files: which param to fix, if any. */
function emptyInput(dag: DagSpec, name: string, range?: { from?: string; to?: string }): EmptyInput {
  const ds = dag.datasets[name];
  const uri = ds?.uri ?? '';
  const params: Record<string, string | number | boolean> = {};
  for (const p of ds?.uriParams ?? []) {
    const v = dag.params[p];
    if (v !== undefined) params[p] = v;
  }
  const from = Object.keys(params).length > 0 ? ` (from ${Object.entries(params).map(([k, v]) => `params.${k}=${String(v)}`).join(', ')})` : '';
  const inRange = range !== undefined ? ` in the range ${range.from ?? '…'}..${range.to ?? '…'}` : '';
  return {
    dataset: name,
    uri,
    params,
    message: `input dataset ${name} resolves to no files${inRange}: ${uri}${from}. Check the path (--param), or declare \`allowEmpty: true\` on the dataset if an empty input is expected`,
  };
}

export async function loadPlanningContext(dag: DagSpec, home?: string, store?: RunStore, opts: { requireInputs?: boolean } = {}): Promise<PlanningContext> {
  const { sources, sourceRoots, empty, uncommitted } = await snapshotSources(dag, undefined, opts.requireInputs ?? true);
  const s = store ?? new LocalRunStore(home ?? dagctlHome());
  const history = await s.history({ limit: 20_000 });
  const ctx: PlanningContext = { sources, sourceRoots, history, emptyInputs: empty, uncommitted };
  const load = planContention(history, process.env.DAGCTL_CONTENTION);
  if (load !== undefined) {
    ctx.contention = load.k;
    if (load.probed) ctx.contentionProbed = true;
  }
  return ctx;
}

/**
 * The contention k to plan with: DAGCTL_CONTENTION when a number (COST_INVALID unless from 1 to 1000), a probe
 * when it is `probe` and some sample recorded CPU times (nothing to scale otherwise), else
 * undefined (the model then uses what recent samples met).
 */
export function planContention(history: readonly CostSample[], env: string | undefined, probe: () => number | undefined = () => probeContention()?.contention): { k: number; probed: boolean } | undefined {
  if (env === undefined || env === '') return undefined;
  if (env === 'probe') {
    const k = history.some((h) => h.cpuMs !== undefined) ? probe() : undefined;
    return k === undefined ? undefined : { k, probed: true };
  }
  const k = Number(env);
  if (!Number.isFinite(k) || k < 1 || k > 1000) throw new DagctlError('COST_INVALID', `DAGCTL_CONTENTION must be a number from 1 to 1000 (wall time ÷ CPU time of CPU-bound work) or "probe", got "${env}"`, { variable: 'DAGCTL_CONTENTION' });
  return { k, probed: false };
}
