/**
 * lib/columnar/utf8-pool.ts: ids dense in first-seen order, one id per value, ranges that hold the
 * value's UTF-8 bytes across growth, the string and byte forms agreeing, one key form per pool.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { Utf8Pool } from '../../operators/lib/columnar/utf8-pool.js';

describe('Utf8Pool', () => {
  const values = ['', 'a', 'http://x/é', '\uFEFFa', 'a', '日本', '', 'x'.repeat(9000), 'http://x/é'];
  const text = (p: Utf8Pool, id: number): string => Buffer.from(p.bytes.subarray(p.start[id], p.start[id]! + p.len[id]!)).toString('utf8');

  it('interns by string and by bytes alike: dense ids, equal ranges, through the buffer growing', () => {
    const byString = new Utf8Pool(), byBytes = new Utf8Pool();
    const a = values.map((v) => byString.idOfString(v));
    const b = values.map((v) => {
      const buf = Buffer.concat([Buffer.from('pad'), Buffer.from(v, 'utf8')]);
      return byBytes.idOfBytes(buf, 3, buf.length - 3);
    });
    assert.deepEqual(a, [0, 1, 2, 3, 1, 4, 0, 5, 2]);
    assert.deepEqual(b, a);
    for (const [i, v] of values.entries()) {
      assert.equal(text(byString, a[i]!), v);
      assert.equal(text(byBytes, b[i]!), v);
    }
    assert.equal(byString.used, byBytes.used);
  });

  it('one key form per pool; clear() starts ids again', () => {
    const p = new Utf8Pool();
    p.idOfString('a');
    assert.throws(() => p.idOfBytes(Buffer.from('a'), 0, 1), (e) => isDagctlError(e, 'INTERNAL'));
    p.clear();
    assert.equal(p.idOfString('b'), 0);
    assert.equal(p.used, 1);
  });
});
