/**
 * exec: runs a program per instance (a Python script, a JVM job, spark-submit…) and commits what it
 * wrote through the same staged, create-only commit as any operator. One instance per partition of
 * the first input (a single instance when it is unpartitioned).
 *
 * The program's interface (docs/operators-sdk.md, "exec"):
 *  - it is started as `params.command` (argv; no shell) in a fresh working folder, in its own
 *    process group, with the worker's environment plus `params.env` and:
 *      DAGCTL_JOB         a JSON file: { inputs: [{ name, path, format, rows }], outputDir,
 *                         columns, params, partition, bucket, attempt }
 *      DAGCTL_INPUT_DIR   the input files: per input, `<k>-<name>.jsonl` (one JSON object per
 *                         row; bytes as base64 strings) or `<k>-<name>.txt` (line datasets: the lines)
 *      DAGCTL_OUTPUT_DIR  where it writes `out.jsonl` (one JSON object per row) or `out.csv`
 *                         (a header line, then records)
 *      DAGCTL_PARAMS      `params.args` as JSON
 *  - exit 0: the rows of its output file, as `params.columns` types (a row that does not fit fails
 *    the instance, naming the file and line), are the instance's output; nothing is committed
 *    before that.
 *  - a non-zero exit or a signal fails the instance with OPERATOR_FAILED, the exit code and the
 *    tails of stdout and stderr (the last 4 KiB of each, also logged on success).
 *  - `params.timeout` (ms) and the task's timeout or a cancel abort it: the whole process group is
 *    killed (SIGKILL), so children it started die too; so is it when the worker dies (the
 *    watchdog, operators/exec/exec-watchdog.ts, sees its stdin close).
 * The program runs with the worker's rights; it is not part of the run's code bundle (give a path
 * every worker has, e.g. in the worker image).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DagctlError } from '../../core/errors.js';
import type { Row, Schema } from '../../storage/types.js';
import { coerce, csvFields } from '../read-records.js';
import type { OperatorDef, StageResult } from '../types.js';
import { execDescriptor, type ExecParams } from './descriptor.js';

const TAIL = 4096;
const WATCHDOG = fileURLToPath(new URL('./exec-watchdog.js', import.meta.url));

/** Keeps the last TAIL bytes written to it. */
class Tail {
  private buf = '';
  push(d: Buffer): void {
    this.buf = (this.buf + d.toString('utf8')).slice(-TAIL);
  }
  toString(): string {
    return this.buf;
  }
}

const jsonValue = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? Number(v) : v);

export const exec: OperatorDef<ExecParams> = {
  ...execDescriptor,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    const work = await mkdtemp(path.join(tmpdir(), 'dagctl-exec-'));
    try {
      const inDir = path.join(work, 'in');
      const outDir = path.join(work, 'out');
      await mkdir(inDir);
      await mkdir(outDir);
      const inputs: Array<{ name: string; path: string; format: 'jsonl' | 'lines'; rows: number }> = [];
      for (const [k, input] of ctx.inputs.entries()) {
        const lineData = input.format === 'text' || input.format === 'csv' || input.format === 'jsonl';
        const file = path.join(inDir, `${k}-${input.name.replace(/[^\w.-]/g, '_')}.${lineData ? 'txt' : 'jsonl'}`);
        const parts: string[] = [];
        let rows = 0;
        if (lineData) for await (const lines of input.lines()) { parts.push(...lines.map((l) => l + '\n')); rows += lines.length; }
        else for await (const b of input.batches()) { for (const r of b) parts.push(JSON.stringify(r, (_k, v: unknown) => jsonValue(v)) + '\n'); rows += b.length; }
        await writeFile(file, parts.join(''));
        inputs.push({ name: input.name, path: file, format: lineData ? 'lines' : 'jsonl', rows });
      }
      const job = path.join(work, 'job.json');
      await writeFile(job, JSON.stringify({ inputs, outputDir: outDir, columns: p.columns, params: p.args, partition: ctx.partition, bucket: ctx.bucket, attempt: ctx.attempt }, null, 2));

      const [program, ...argv] = p.command as [string, ...string[]];
      const out = new Tail();
      const err = new Tail();
      // Through the watchdog (operators/exec/exec-watchdog.ts), leader of a new process group: a kill
      // of the group reaches the program's children, and the worker's death (the watchdog's stdin
      // closing) kills them all.
      const child = spawn(process.execPath, [WATCHDOG, program, ...argv], {
        cwd: work,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...p.env, DAGCTL_JOB: job, DAGCTL_INPUT_DIR: inDir, DAGCTL_OUTPUT_DIR: outDir, DAGCTL_PARAMS: JSON.stringify(p.args) },
      });
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      let killedFor: 'timeout' | 'abort' | null = null;
      const killGroup = (why: 'timeout' | 'abort'): void => {
        killedFor ??= why;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const onAbort = (): void => killGroup('abort');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const timer = p.timeout === undefined ? null : setTimeout(() => killGroup('timeout'), p.timeout);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', (e) => reject(new DagctlError('OPERATOR_FAILED', `exec: cannot start ${program}: ${e.message}`, { command: p.command })));
        child.once('close', (c, s) => resolve([c, s]));
      }).finally(() => {
        if (timer !== null) clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        // Whatever the program left running in its group goes with it.
        if (child.pid !== undefined) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ }
      });
      const tails = { stdoutTail: out.toString(), stderrTail: err.toString() };
      if (killedFor === 'abort') throw new DagctlError('TASK_CANCELLED', `exec: ${program} killed (instance aborted)`, { command: p.command, ...tails });
      if (killedFor === 'timeout') throw new DagctlError('TASK_TIMEOUT', `exec: ${program} killed after ${p.timeout} ms (params.timeout)\nstderr tail:\n${tails.stderrTail}`, { command: p.command, ...tails });
      if (code === 127) throw new DagctlError('OPERATOR_FAILED', `exec: cannot start ${program}\nstderr tail:\n${tails.stderrTail}`, { command: p.command, exitCode: code, ...tails });
      if (code !== 0) throw new DagctlError('OPERATOR_FAILED', `exec: ${program} exited with ${code === null ? `signal ${signal ?? '?'}` : `code ${code}`}\nstderr tail:\n${tails.stderrTail}`, { command: p.command, exitCode: code, signal, ...tails });
      ctx.log('exec finished', { command: p.command, ...tails });

      const schema: Schema = Object.entries(p.columns).map(([name, type]) => ({ name, type, nullable: true }));
      const writer = ctx.outputs[0]!.open(schema);
      const rows = await readOutput(outDir, schema);
      for (let i = 0; i < rows.length; i += 8192) await writer.write(rows.slice(i, i + 8192));
      return { metrics: { rowsOut: rows.length } };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};

/** The rows of out.jsonl or out.csv, as the declared columns (OPERATOR_FAILED naming file:line otherwise). */
async function readOutput(dir: string, schema: Schema): Promise<Row[]> {
  const read = async (name: string): Promise<string | null> => readFile(path.join(dir, name), 'utf8').catch(() => null);
  const jsonl = await read('out.jsonl');
  const csv = jsonl === null ? await read('out.csv') : null;
  if (jsonl === null && csv === null) throw new DagctlError('OPERATOR_FAILED', `exec: the program wrote neither out.jsonl nor out.csv in DAGCTL_OUTPUT_DIR`);
  const file = jsonl !== null ? 'out.jsonl' : 'out.csv';
  const lines = (jsonl ?? csv!).split('\n');
  const rows: Row[] = [];
  let header: string[] | null = null;
  const bad = (i: number, why: string): never => {
    throw new DagctlError('OPERATOR_FAILED', `exec: ${file}:${i + 1}: ${why}`, { file, line: i + 1 });
  };
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let values: Record<string, unknown>;
    if (jsonl !== null) {
      try {
        values = JSON.parse(line) as Record<string, unknown>;
      } catch {
        bad(i, 'not JSON');
      }
      if (values! === null || typeof values! !== 'object' || Array.isArray(values!)) bad(i, 'not a JSON object');
    } else {
      const f = csvFields(line, ',');
      if (f === null || f.length === 0) bad(i, 'malformed CSV');
      if (header === null) {
        header = f!;
        continue;
      }
      if (f!.length !== header.length) bad(i, `${f!.length} fields, the header has ${header.length}`);
      values = Object.fromEntries(header.map((h, k) => [h, f![k]]));
    }
    const row: Row = {};
    for (const k of Object.keys(values!)) if (!schema.some((f) => f.name === k)) bad(i, `column ${k} is not in params.columns`);
    for (const f of schema) {
      const v = coerce(values![f.name], f, jsonl === null);
      if (v === undefined) bad(i, `column ${f.name}: ${JSON.stringify(values![f.name])} is not ${f.type}`);
      row[f.name] = v!;
    }
    rows.push(row);
  }
  return rows;
}
