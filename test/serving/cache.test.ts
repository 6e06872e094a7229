/**
 * serving/view.ts BlockCache: an LRU bounded in bytes — never above its budget, least recently
 * used evicted first, a block larger than the budget not kept, a snapshot's blocks dropped at once.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlockCache, type KeyBlock } from '../../serving/view.js';

const block = (bytes: number): KeyBlock => ({ first: new Int32Array(5), hour: new Int32Array(0), pageviews: new Float64Array(0), sketches: new Uint8Array(0), sketchAt: new Int32Array(1), sketchKind: new Uint8Array(0), precision: 0, bytes });

describe('serving BlockCache', () => {
  it('stays within its budget and evicts the least recently used', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 200 })), { maxLength: 200 }), (max, ops) => {
        const c = new BlockCache(max);
        const model: Array<[string, number]> = []; // LRU order, oldest first
        for (const [isGet, k, size] of ops) {
          const id = `k${k}`;
          const at = model.findIndex(([x]) => x === id);
          if (isGet) {
            const got = c.get(id);
            assert.equal(got !== undefined, at >= 0);
            if (at >= 0) model.push(model.splice(at, 1)[0]!);
          } else {
            c.set(id, block(size));
            if (at >= 0) model.splice(at, 1);
            if (size <= max) model.push([id, size]);
            while (model.reduce((n, [, b]) => n + b, 0) > max) model.shift();
          }
          assert.ok(c.bytes <= max);
          assert.equal(c.bytes, model.reduce((n, [, b]) => n + b, 0));
          assert.equal(c.size, model.length);
        }
      }),
    );
  });

  it('drops one snapshot’s blocks', () => {
    const c = new BlockCache(1000);
    c.set('s1\u0000a', block(10));
    c.set('s2\u0000a', block(20));
    c.drop('s1\u0000');
    assert.equal(c.get('s1\u0000a'), undefined);
    assert.equal(c.bytes, 20);
  });
});
