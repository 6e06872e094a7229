/**
 * Operator modules (a DAG's own operators, `operators: { name: ./ops/x.ts }`), through the real CLI:
 *  - a TypeScript bot filter (with a local import) over an access log the test writes runs embedded;
 *    the rows it drops and keeps equal an independent count over the log lines;
 *  - `plan` costs it and `dagctl operators --dag` lists it;
 *  - its code is in the fingerprint: an unchanged re-run is memoized; editing the file it imports
 *    recomputes exactly its instances and its dependents; a comment-only edit of the module
 *    recomputes its instances, and its dependents stay memoized (their inputs are unchanged);
 *  - bad modules are coded issues at the DAG's `operators:` line (or the task's params line), and
 *    an operator that throws fails its task with OPERATOR_FAILED naming the module and DAG line.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StatusView } from '../../scheduler/status-view.js';
import { runCli, viewRows, type Workspace } from './support.js';

const AGENTS_TS = `// Words that mark a crawler's user agent.
export const BOT_WORDS: readonly string[] = ['bot', 'spider', 'crawl'];
export function isBot(agent: unknown, extra: readonly string[]): boolean {
  if (typeof agent !== 'string') return false;
  const a = agent.toLowerCase();
  return [...BOT_WORDS, ...extra].some((w) => a.includes(w));
}
`;

const BOT_FILTER_TS = `import { defineOperator, z } from 'dagctl';
import type { Row } from 'dagctl';
import { isBot } from './lib/agents.js';

enum Kind { Kept, Dropped }

export default defineOperator({
  summary: 'Drops requests whose user agent looks like a bot',
  params: z.object({ extra: z.array(z.string()).default([]), failOn: z.string().optional() }).strict(),
  cost: { overheadMs: 20, perUnitMs: 2, driver: 'rows' },
  async run(ctx) {
    const input = ctx.inputs[0]!;
    const schema = await input.schema();
    if (schema === null) return { metrics: { dropped: 0, kept: 0 } };
    const out = ctx.outputs[0]!.open(schema);
    const counts = [0, 0];
    for await (const batch of input.batches()) {
      const keep: Row[] = [];
      for (const r of batch) {
        if (ctx.params.failOn !== undefined && r.url === ctx.params.failOn) throw new Error('refusing ' + String(r.url));
        const k = isBot(r.agent, ctx.params.extra) ? Kind.Dropped : Kind.Kept;
        counts[k]!++;
        if (k === Kind.Kept) keep.push(r);
      }
      await out.write(keep);
    }
    return { metrics: { kept: counts[Kind.Kept]!, dropped: counts[Kind.Dropped]! } };
  },
});
`;

const AGENT_POOL = ['Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0', 'Googlebot/2.1 (+http://www.google.com/bot.html)', 'python-requests/2.31', 'Mozilla/5.0 (compatible; bingbot/2.0)', 'curl/8.4.0', 'Mozilla/5.0 (Macintosh) Safari/605.1', 'Baiduspider', 'AhrefsCrawler/1.0', '-'];
const DAYS = ['2024-10-10', '2024-10-11'];

/** Deterministic log lines per day (a few malformed), with the agent of each well-formed line. */
function logLines(day: string, n: number, seed: number): { lines: string[]; agents: string[] } {
  let s = seed;
  const rnd = (k: number): number => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % k;
  const [y, m, d] = day.split('-');
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(m) - 1]!;
  const lines: string[] = [];
  const agents: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 97 === 13) {
      lines.push('this is not a log line');
      continue;
    }
    const agent = AGENT_POOL[rnd(AGENT_POOL.length)]!;
    const hh = String(rnd(24)).padStart(2, '0'), mm = String(rnd(60)).padStart(2, '0');
    lines.push(`10.1.${rnd(4)}.${rnd(50)} - - [${d}/${mon}/${y}:${hh}:${mm}:07 +0000] "GET /page/${rnd(40)} HTTP/1.1" ${[200, 304, 404][rnd(3)]} ${rnd(5000)} "-" "${agent}"`);
    agents.push(agent);
  }
  return { lines, agents };
}

const dagText = (extra: string[], moduleSpec = './ops/bot-filter.ts'): string => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: bots }
defaults: { retries: 0, timeout: 2m }
operators:
  bot-filter: ${moduleSpec}
datasets:
  log: { uri: ./logs, format: text, partitionBy: date }
  raw: { uri: ./data/raw, partitionBy: date }
  raw-norm: { uri: ./data/raw-norm, partitionBy: date }
  norm-rejects: { uri: ./data/norm-rejects, partitionBy: date }
  humans: { uri: ./data/humans, view: true }
  distinct: { uri: ./data/distinct, view: true }
tasks:
  - { name: parse, operator: parse-access-log, inputs: [log], outputs: [raw], params: { statusFilter: [], methods: [] } }
  - { name: norm, operator: normalize, inputs: [raw], outputs: [raw-norm, norm-rejects], params: { urlColumns: [url] } }
  - name: bots
    operator: bot-filter
    inputs: [raw]
    outputs: [humans]
    params: { extra: ${JSON.stringify(extra)} }
  - { name: dedupe, operator: dedupe, inputs: [humans], outputs: [distinct], params: { key: [url, person, ts], buckets: 2 } }
`;

const ran = (v: StatusView, task: string): string[] => v.tasks.filter((t) => t.name === task && t.stage !== 'publish' && t.state === 'succeeded').map((t) => `${t.stage}:${t.partition}:${t.bucket}`).sort();
const skipped = (v: StatusView, task: string): boolean => v.tasks.filter((t) => t.name === task).every((t) => t.state === 'skipped');
const metric = (v: StatusView, task: string, m: string): number => v.tasks.filter((t) => t.name === task).reduce((n, t) => n + (t.metrics?.[m] ?? 0), 0);

describe('operator modules (TypeScript operators a DAG declares)', function () {
  this.timeout(240_000);
  let ws: Workspace;
  const agents: string[] = [];

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dagctl-opmod-'));
    ws = { dir, dag: path.join(dir, 'bots.yaml'), dataUri: pathToFileURL(path.join(dir, 'data')).href, home: path.join(dir, '.dagctl') };
    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, '.bundles');
    await mkdir(path.join(dir, 'ops/lib'), { recursive: true });
    await writeFile(path.join(dir, 'ops/lib/agents.ts'), AGENTS_TS);
    await writeFile(path.join(dir, 'ops/bot-filter.ts'), BOT_FILTER_TS);
    for (const [i, day] of DAYS.entries()) {
      const g = logLines(day, 700 + i * 150, 11 + i);
      await mkdir(path.join(dir, `logs/date=${day}`), { recursive: true });
      await writeFile(path.join(dir, `logs/date=${day}/access.log`), g.lines.join('\n') + '\n');
      agents.push(...g.agents);
    }
    await writeFile(ws.dag, dagText(['curl']));
  });
  after(() => {
    delete process.env.DAGCTL_BUNDLE_CACHE;
  });

  const run = async (): Promise<StatusView> => {
    const r = await runCli(ws, ['run', ws.dag, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return JSON.parse(r.stdout) as StatusView;
  };
  /** The independent reference: agents containing a bot word, compared case-insensitively. */
  const bots = (words: string[]): number => agents.filter((a) => a !== '-' && words.some((w) => a.toLowerCase().includes(w))).length;

  it('runs embedded: the rows it drops equal an independent count; plan and operators know it', async () => {
    const first = await run();
    const words = ['bot', 'spider', 'crawl', 'curl'];
    assert.equal(metric(first, 'bots', 'dropped'), bots(words));
    assert.ok(bots(words) > 0 && bots(words) < agents.length);
    const humans = await viewRows(pathToFileURL(path.join(ws.dir, 'data/humans')).href);
    assert.equal(humans.length, agents.length - bots(words));
    assert.ok(humans.every((r) => { const a = (JSON.parse(r) as { agent: string | null }).agent; return a === null || !words.some((w) => a.toLowerCase().includes(w)); }));

    const plan = await runCli(ws, ['plan', ws.dag, '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /"bots"/);
    const ops = await runCli(ws, ['operators', '--dag', ws.dag, '--json']);
    assert.equal(ops.code, 0, ops.stderr);
    const listed = (JSON.parse(ops.stdout) as Array<{ name: string; module?: string; cost: { overheadMs: number } }>).find((o) => o.name === 'bot-filter');
    assert.equal(listed?.module, './ops/bot-filter.ts');
    assert.equal(listed?.cost.overheadMs, 20);
  });

  it('an unchanged re-run is memoized; editing an imported file recomputes exactly the operator and its dependents', async () => {
    const again = await run();
    assert.ok(again.tasks.every((t) => t.state === 'skipped'), 'an unchanged re-run executed work');

    const lib = path.join(ws.dir, 'ops/lib/agents.ts');
    await writeFile(lib, (await readFile(lib, 'utf8')).replace("'crawl']", "'crawl', 'python']"));
    const edited = await run();
    assert.ok(skipped(edited, 'parse') && skipped(edited, 'norm'), 'tasks that do not use the module re-ran');
    assert.deepEqual(ran(edited, 'bots'), DAYS.map((d) => `main:${d}:-1`));
    assert.ok(ran(edited, 'dedupe').length > 0, 'the dependent did not recompute');
    assert.equal(metric(edited, 'bots', 'dropped'), bots(['bot', 'spider', 'crawl', 'curl', 'python']));

    const mod = path.join(ws.dir, 'ops/bot-filter.ts');
    await writeFile(mod, '// a comment changes the code hash, not the output\n' + (await readFile(mod, 'utf8')));
    const commented = await run();
    assert.deepEqual(ran(commented, 'bots'), DAYS.map((d) => `main:${d}:-1`));
    assert.ok(skipped(commented, 'parse') && skipped(commented, 'norm') && skipped(commented, 'dedupe'));
  });

  it('reports bad modules as coded issues at the DAG line, and an operator that throws as OPERATOR_FAILED', async () => {
    const ops = path.join(ws.dir, 'ops');
    await writeFile(path.join(ops, 'throws.ts'), "throw new Error('broken at import');\nexport default 1;\n");
    await writeFile(path.join(ops, 'nothing.ts'), 'export const x: number = 1;\n');
    await writeFile(path.join(ops, 'syntax.ts'), 'export default defineOperator({ run( });\n');
    const line = dagText([]).split('\n').findIndex((l) => l.startsWith('  bot-filter:')) + 1;
    const cases: Array<[string, string, string]> = [
      ['./ops/throws.ts', 'OPERATOR_MODULE_FAILED', 'operators.bot-filter'],
      ['./ops/nothing.ts', 'OPERATOR_INVALID', 'operators.bot-filter'],
      ['./ops/syntax.ts', 'OPERATOR_MODULE_FAILED', 'operators.bot-filter'],
      ['./ops/missing.ts', 'OPERATOR_MODULE_FAILED', 'operators.bot-filter'],
    ];
    for (const [spec, code, where] of cases) {
      const file = path.join(ws.dir, `bad-${path.basename(spec, '.ts')}.yaml`);
      await writeFile(file, dagText([], spec));
      const r = await runCli(ws, ['validate', file, '--json']);
      assert.equal(r.code, 2, `${spec}: ${r.stdout}`);
      const issues = (JSON.parse(r.stdout) as { issues: Array<{ code: string; path: string; line: number; message: string }> }).issues;
      assert.deepEqual(issues.map((i) => [i.code, i.path, i.line]), [[code, where, line]], `${spec}: ${r.stdout}`);
      assert.ok(issues[0]!.message.includes(spec), issues[0]!.message);
    }
    const badParams = path.join(ws.dir, 'bad-params.yaml');
    await writeFile(badParams, dagText([]).replace('params: { extra: [] }', 'params: { extra: 7 }'));
    const p = await runCli(ws, ['validate', badParams, '--json']);
    const pi = (JSON.parse(p.stdout) as { issues: Array<{ code: string; path: string; line: number }> }).issues;
    assert.deepEqual(pi.map((i) => [i.code, i.path]), [['OPERATOR_PARAMS_INVALID', 'tasks[2].params.extra']]);
    assert.equal(pi[0]!.line, dagText([]).split('\n').findIndex((l) => l.includes('params: { extra:')) + 1);

    const taken = path.join(ws.dir, 'bad-taken.yaml');
    await writeFile(taken, dagText([]).replace('  bot-filter: ./ops/bot-filter.ts', '  bot-filter: ./ops/bot-filter.ts\n  dedupe: ./ops/bot-filter.ts'));
    const t = await runCli(ws, ['validate', taken, '--json']);
    assert.ok((JSON.parse(t.stdout) as { issues: Array<{ code: string }> }).issues.some((i) => i.code === 'OPERATOR_NAME_TAKEN'));

    const throwing = path.join(ws.dir, 'throwing.yaml');
    await writeFile(throwing, dagText([]).replace('params: { extra: [] }', 'params: { extra: [], failOn: "http://localhost/page/3" }'));
    const r = await runCli(ws, ['run', throwing, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const failed = (JSON.parse(r.stdout) as StatusView).tasks.filter((x) => x.state === 'failed');
    assert.ok(failed.length > 0 && failed.every((x) => x.name === 'bots' && x.errorCode === 'OPERATOR_FAILED'), r.stdout);
    assert.ok(failed[0]!.error!.includes('./ops/bot-filter.ts') && failed[0]!.error!.includes(`throwing.yaml:${line}`), failed[0]!.error!);
  });
});
