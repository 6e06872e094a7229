/**
 * "Did you mean": edit distance against a plain reference, and the suggestions validate attaches to
 * an unknown operator and an unknown operator param (codes asserted; the hint is part of the message).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closest, editDistance } from '../../core/suggest.js';
import { validateDagText } from '../../definitions/validate.js';

/** Plain reference: Levenshtein with adjacent swaps, by full recursion on short strings. */
function reference(a: string, b: string): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    const k = `${i},${j}`;
    const hit = memo.get(k);
    if (hit !== undefined) return hit;
    let d: number;
    if (i === 0) d = j;
    else if (j === 0) d = i;
    else {
      d = Math.min(go(i - 1, j) + 1, go(i, j - 1) + 1, go(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, go(i - 2, j - 2) + 1);
    }
    memo.set(k, d);
    return d;
  };
  return go(a.length, b.length);
}

describe('did you mean', () => {
  it('edit distance equals the reference', () => {
    fc.assert(fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (a, b) => editDistance(a, b) === reference(a, b)), { numRuns: 500 });
  });

  it('suggests only plausible typos', () => {
    assert.equal(closest('normalise', ['normalize', 'dedupe']), 'normalize');
    assert.equal(closest('dedpue', ['normalize', 'dedupe']), 'dedupe');
    assert.equal(closest('xyz', ['normalize', 'dedupe']), null);
  });

  it('validate suggests the operator and the param', () => {
    const r = validateDagText('tasks:\n  - name: a\n    operator: noopp\n  - name: b\n    operator: noop\n    params: { sleepMS: 5 }\n', 'x.yaml');
    const unknown = r.issues.find((i) => i.code === 'UNKNOWN_OPERATOR');
    assert.match(unknown?.message ?? '', /did you mean "noop"/);
    const param = r.issues.find((i) => i.code === 'OPERATOR_PARAMS_INVALID');
    assert.match(param?.message ?? '', /did you mean "sleepMs"/);
  });
});
