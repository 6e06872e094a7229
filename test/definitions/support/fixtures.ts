/**
 * Reading the DAG fixture corpus from the source tree (test/fixtures is not compiled). Mocha runs
 * from the repository root, so paths are relative to process.cwd().
 *
 * Invalid fixtures declare what they expect in header comments:
 *   # expect: CODE, CODE     the exact set of issue codes (errors and warnings) reported
 *   # at: CODE line:col      an issue with that code at that position (repeatable)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.join(process.cwd(), 'test', 'fixtures');

export interface Fixture {
  name: string;
  file: string;
  text: string;
  expect: string[];
  at: { code: string; line: number; column: number }[];
}

export function readFixtures(kind: 'valid' | 'invalid'): Fixture[] {
  const dir = path.join(FIXTURES, kind);
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      const text = readFileSync(file, 'utf8');
      const expect = [...text.matchAll(/^# expect: (.+)$/gm)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
      const at = [...text.matchAll(/^# at: ([A-Z_]+) (\d+):(\d+)$/gm)].map((m) => ({ code: m[1] ?? '', line: Number(m[2]), column: Number(m[3]) }));
      return { name, file, text, expect, at };
    });
}
