/**
 * `npm run bench [-- NAME...] [--json]`: runs the benchmarks (all, or the named ones) one after
 * another and prints each one's lines. Every benchmark measures a peer in the same run (raw
 * worker_threads, raw BullMQ, DuckDB, the local filesystem …) and reports ratios, since this
 * machine is shared and noisy: quote medians and ratios, never one absolute time.
 */
import type { BenchResult } from './types.js';

const BENCHES: Record<string, { module: string; fn: string }> = {
  plan: { module: './plan.js', fn: 'benchPlan' },
  costmodel: { module: './costmodel.js', fn: 'benchCostModel' },
  gen: { module: './gen.js', fn: 'benchGen' },
  embedded: { module: './embedded.js', fn: 'benchEmbedded' },
  parquet: { module: './parquet.js', fn: 'benchParquet' },
  operators: { module: './operators.js', fn: 'benchOperators' },
  'page-kernel': { module: './operators.js', fn: 'benchPageKernelAlone' },
  pipeline: { module: './pipeline.js', fn: 'benchPipeline' },
  memory: { module: './memory.js', fn: 'benchMemory' },
  scheduler: { module: './scheduler.js', fn: 'benchScheduler' },
  s3: { module: './s3.js', fn: 'benchS3' },
  serve: { module: './serve.js', fn: 'benchServe' },
  speed: { module: './speed.js', fn: 'benchSpeed' },
  'user-operators': { module: './user-operators.js', fn: 'benchUserOperators' },
  autoscale: { module: './autoscale.js', fn: 'benchAutoscale' },
  ui: { module: './ui.js', fn: 'benchUi' },
  schedule: { module: './schedule.js', fn: 'benchSchedule' },
  triggers: { module: './triggers.js', fn: 'benchTriggers' },
  delta: { module: './delta.js', fn: 'benchDelta' },
  startup: { module: './startup.js', fn: 'benchStartup' },
  orchestrators: { module: './peers/orchestrators.js', fn: 'benchOrchestrators' },
  peers: { module: './peers/index.js', fn: 'benchPeers' },
  'shuffle-commit': { module: './shuffle-commit.js', fn: 'benchShuffleCommit' },
};

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const names = argv.filter((a) => !a.startsWith('--'));
const selected = names.length > 0 ? names : Object.keys(BENCHES);
const results: BenchResult[] = [];
let failed = false;
for (const name of selected) {
  const b = BENCHES[name];
  if (b === undefined) {
    process.stderr.write(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(', ')})\n`);
    process.exitCode = 2;
    continue;
  }
  process.stderr.write(`== bench ${name}\n`);
  try {
    const mod = (await import(b.module)) as Record<string, () => Promise<BenchResult>>;
    const fn = mod[b.fn];
    if (fn === undefined) throw new Error(`${b.module} does not export ${b.fn}`);
    const r = await fn();
    results.push(r);
    if (!json) for (const l of r.lines) process.stdout.write(`${l}\n`);
  } catch (e) {
    failed = true;
    process.stderr.write(`bench ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
}
if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
if (failed) process.exitCode = 1;
