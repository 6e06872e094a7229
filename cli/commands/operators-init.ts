/**
 * `dagctl operators init NAME [--dir DIR]`: scaffolds an operator module (DIR/NAME.ts, made with
 * defineOperator) and its test (DIR/NAME.test.mjs: node:test over dagctl/testing, loading the
 * TypeScript module the way a run does). Create-only: an existing file is never overwritten.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DagctlError } from '../../core/errors.js';
import { NAME_PATTERN } from '../../definitions/schema.js';
import type { CliIO } from '../command.js';

export function moduleTemplate(name: string): string {
  return `// ${name}: an operator module. A DAG uses it with
//   operators: { ${name}: ./${name}.ts }
//   tasks: [{ name: ..., operator: ${name}, inputs: [a-dataset], outputs: [b-dataset], params: { column: kind, drop: [x] } }]
// Its code (and every local file it imports) is part of each instance's fingerprint: edit it and
// the next run recomputes its instances and what depends on them.
import { defineOperator, z } from 'dagctl';
import type { Row } from 'dagctl';

export default defineOperator({
  summary: 'Keeps the rows whose column value is not listed in drop',
  params: z.object({ column: z.string(), drop: z.array(z.string()).default([]) }).strict(),
  // Defaults: one instance per partition of the first input, 1 input, 1 output.
  async run(ctx) {
    const input = ctx.inputs[0]!;
    const schema = await input.schema();
    if (schema === null) return { metrics: { dropped: 0 } };
    const out = ctx.outputs[0]!.open(schema);
    const drop = new Set(ctx.params.drop);
    let dropped = 0;
    for await (const batch of input.batches()) {
      const keep: Row[] = [];
      for (const row of batch) {
        if (drop.has(String(row[ctx.params.column]))) dropped++;
        else keep.push(row);
      }
      await out.write(keep);
    }
    return { metrics: { dropped } };
  },
});
`;
}

export function testTemplate(name: string): string {
  return `// Tests of ${name}.ts: node --test ${name}.test.mjs (dagctl/testing runs its stages on in-memory rows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOperator, runOperator } from 'dagctl/testing';

const op = await loadOperator(new URL('./${name}.ts', import.meta.url));

test('${name} drops the listed values and counts them', async () => {
  const rows = [{ kind: 'a', n: 1 }, { kind: 'b', n: 2 }, { kind: 'a', n: 3 }];
  const r = await runOperator(op, { column: 'kind', drop: ['a'] }, { inputs: [{ rows }] });
  assert.deepEqual(r.outputs[0].rows, [{ kind: 'b', n: 2 }]);
  assert.equal(r.metrics.dropped, 2);
});
`;
}

export async function initOperator(io: CliIO, name: string | undefined, dir: string): Promise<string[]> {
  if (name === undefined || !NAME_PATTERN.test(name)) throw new DagctlError('USAGE', `operators init: NAME must match ${String(NAME_PATTERN)}, got ${name ?? 'nothing'}`);
  const folder = path.resolve(io.cwd, dir);
  await mkdir(folder, { recursive: true });
  const files: Array<[string, string]> = [[path.join(folder, `${name}.ts`), moduleTemplate(name)], [path.join(folder, `${name}.test.mjs`), testTemplate(name)]];
  for (const [f, text] of files) {
    try {
      await writeFile(f, text, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DagctlError('USAGE', `operators init: ${f} exists; nothing overwritten`, { file: f });
      throw e;
    }
  }
  return files.map(([f]) => f);
}
