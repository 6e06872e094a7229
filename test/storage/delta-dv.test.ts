/**
 * Delta deletion vectors (storage/dataset/delta-dv.ts): the RoaringBitmapArray serialisation and
 * Z85 round-trip any set of row positions (fast-check, array and bitmap containers), a hand-built
 * run-container bitmap parses, and corrupt descriptors (bad magic, truncated, wrong cardinality,
 * a character outside Z85, on-disk storage) are DELTA_LOG_INVALID. delta-rs reading dagctl's
 * vectors is tested in test/integration/delta-lake.test.ts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { descriptorPositions, DV_MAGIC, inlineDescriptor, parseRoaringArray, serializeRoaringArray, z85Decode, z85Encode } from '../../storage/dataset/delta-dv.js';

const positions = fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 0x7fffffff })), { maxLength: 400 }).map((a) => a.sort((x, y) => x - y));

function throwsInvalid(f: () => unknown): void {
  assert.throws(f, (e: unknown) => isDagctlError(e, 'DELTA_LOG_INVALID'));
}

describe('Delta deletion vectors (RoaringBitmapArray, Z85)', () => {
  it('inline descriptors round-trip any sorted positions (fast-check)', () => {
    fc.assert(fc.property(positions, (p) => {
      const d = inlineDescriptor(p);
      assert.equal(d.storageType, 'i');
      assert.equal(d.cardinality, p.length);
      assert.equal(d.pathOrInlineDv.length, Math.ceil(d.sizeInBytes / 4) * 5);
      assert.deepEqual(descriptorPositions(d, 'x'), p);
    }), { numRuns: 200 });
  });

  it('a dense container is a bitmap container (8 KiB), read back exactly', () => {
    const p = Array.from({ length: 20_000 }, (_, i) => 3 * i); // 21,846 per 64k container: > 4096
    const bytes = serializeRoaringArray(p);
    assert.ok(bytes.length < 4 * 8192 + 100, `${bytes.length} bytes`);
    assert.deepEqual(parseRoaringArray(bytes, 'x'), p);
  });

  it('Z85 round-trips bytes of any length (padded to 4)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      assert.deepEqual([...z85Decode(z85Encode(b), b.length, 'x')], [...b]);
    }));
  });

  it('parses run containers (cookie 12347), as other writers may produce', () => {
    // One bucket (key 0), one run container: runs [5..7] and [100..100] → 5, 6, 7, 100.
    const b = new Uint8Array(4 + 8 + 4 + 4 + 1 + 4 + 2 + 8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, DV_MAGIC, true);
    dv.setBigUint64(4, 1n, true);
    dv.setUint32(12, 0, true);
    dv.setUint32(16, 12347 | (0 << 16), true); // run cookie, 1 container
    b[20] = 1; // container 0 is a run container
    dv.setUint16(21, 0, true); // key
    dv.setUint16(23, 3, true); // cardinality - 1
    dv.setUint16(25, 2, true); // 2 runs
    dv.setUint16(27, 5, true);
    dv.setUint16(29, 2, true);
    dv.setUint16(31, 100, true);
    dv.setUint16(33, 0, true);
    assert.deepEqual(parseRoaringArray(b, 'x'), [5, 6, 7, 100]);
  });

  it('corrupt vectors are DELTA_LOG_INVALID', () => {
    const d = inlineDescriptor([1, 5, 9]);
    throwsInvalid(() => descriptorPositions({ ...d, cardinality: 4 }, 'x'));
    throwsInvalid(() => descriptorPositions({ ...d, pathOrInlineDv: `~${d.pathOrInlineDv.slice(1)}` }, 'x'));
    throwsInvalid(() => descriptorPositions({ ...d, storageType: 'u' }, 'x'));
    const bytes = serializeRoaringArray([1, 5, 9]);
    throwsInvalid(() => parseRoaringArray(bytes.subarray(0, bytes.length - 1), 'x'));
    const bad = bytes.slice();
    bad[0] = bad[0]! ^ 1;
    throwsInvalid(() => parseRoaringArray(bad, 'x'));
  });
});
