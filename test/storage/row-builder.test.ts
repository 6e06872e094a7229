/**
 * RowBuilder (storage/row-builder.ts): rows from decoded columns, plain and dictionary-encoded,
 * including column names that an object literal or a keyed store would mistreat (`__proto__`),
 * and names with quotes (they must not reach the generated code as code).
 */
import assert from 'node:assert/strict';
import { RowBuilder } from '../../storage/row-builder.js';

describe('RowBuilder', () => {
  it('builds rows from plain and dictionary columns, for any range', () => {
    const b = new RowBuilder(['url', 'n'], [{ kind: 'dict', dict: ['/a', '/b'], idx: [1, 0, 1] }, { kind: 'values', values: new Float64Array([3, 4, 5]) }]);
    assert.deepEqual(b.rows(0, 3), [{ url: '/b', n: 3 }, { url: '/a', n: 4 }, { url: '/b', n: 5 }]);
    assert.deepEqual(b.rows(1, 2), [{ url: '/a', n: 4 }]);
  });

  it('a column named __proto__ becomes an own property, not the prototype', () => {
    const b = new RowBuilder(['__proto__', 'x'], [{ kind: 'values', values: [new Uint8Array([1, 2]), null] }, { kind: 'dict', dict: ['p', 'q'], idx: [1, 0] }]);
    const rows = b.rows(0, 2);
    assert.equal(Object.getPrototypeOf(rows[0]), Object.prototype);
    assert.deepEqual(Object.keys(rows[0]!), ['__proto__', 'x']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value, new Uint8Array([1, 2]));
    assert.equal(Object.getOwnPropertyDescriptor(rows[1], '__proto__')?.value, null);
    assert.equal(rows[1]!.x, 'p');
  });

  it('names with quotes and code-like text are only keys', () => {
    const name = '"]; globalThis.__hit = 1; //';
    const rows = new RowBuilder([name], [{ kind: 'values', values: [7] }]).rows(0, 1);
    assert.equal(rows[0]![name], 7);
    assert.equal((globalThis as Record<string, unknown>).__hit, undefined);
  });
});
