/**
 * The key index is built over key bytes decoded strictly (serving/key-index.ts buildViewIndex,
 * serving/view-rows.ts strictText): a view file whose key column holds bytes that are not UTF-8 is
 * PARQUET_INVALID_UTF8 naming the file, the column and the row — two different invalid keys would
 * otherwise both become U+FFFD and share one key. Hand-made files (hyparquet-writer given raw bytes
 * for a REQUIRED string column, the layout rollup writes); the same file with valid keys builds.
 */
import assert from 'node:assert/strict';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { isDagctlError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { buildViewIndex, lookupKey } from '../../serving/key-index.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import type { FileEntry } from '../../storage/types.js';

const BAD = new Uint8Array([...Buffer.from('http://example.com/'), 0xff, 0xfe, 0x41]);

/** 30 rows (3 keys × 10 hours) in row groups of 8, sorted by url; row `badRow`'s url holds BAD (-1: none). */
async function viewFile(store: MemoryObjectStore, badRow: number): Promise<FileEntry> {
  const url: Array<string | Uint8Array> = Array.from({ length: 30 }, (_, i) => `http://example.com/${Math.floor(i / 10)}`);
  if (badRow >= 0) url[badRow] = BAD;
  const req = { nullable: false } as const;
  const bytes = new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'url', data: url, type: 'STRING', ...req },
      { name: 'granularity', data: Array.from({ length: 30 }, () => 'h'), type: 'STRING', ...req },
      { name: 'bucket', data: Array.from({ length: 30 }, (_, i) => BigInt(1_709_251_200 + (i % 10) * 3600)), type: 'INT64', ...req },
      { name: 'pageviews', data: Array.from({ length: 30 }, () => 1n), type: 'INT64', ...req },
    ],
    rowGroupSize: 8,
  }));
  const path = `part-${badRow}.parquet`;
  await store.putIfAbsent(path, bytes);
  return { path, rows: 30, bytes: bytes.length, sha256: sha256Hex(bytes) };
}

describe('serving key index: strict UTF-8 keys', () => {
  it('a key that is not UTF-8: PARQUET_INVALID_UTF8 naming file, column and row', async () => {
    const store = new MemoryObjectStore();
    const f = await viewFile(store, 13);
    await assert.rejects(buildViewIndex(store, 'v1', [f]), (e: unknown) => {
      assert.ok(isDagctlError(e, 'PARQUET_INVALID_UTF8'), String(e));
      assert.deepEqual([e.details.column, e.details.row, e.details.rowGroup, e.details.bytes], ['url', 13, 1, Buffer.from(BAD).toString('hex')]);
      assert.match(String(e.details.file), /part-13\.parquet$/);
      return true;
    });
  });

  it('the same file with valid keys builds, every key where it is', async () => {
    const store = new MemoryObjectStore();
    const f = await viewFile(store, -1);
    const { keyIndex, bucketExtent } = await buildViewIndex(store, 'v1', [f]);
    assert.equal(keyIndex.keys, 3);
    assert.deepEqual(bucketExtent, { h: { min: 1_709_251_200, max: 1_709_251_200 + 9 * 3600 } });
    for (let k = 0; k < 3; k++) assert.deepEqual((await lookupKey(store, keyIndex, [f], { url: `http://example.com/${k}` })).runs, [{ file: 0, start: k * 10, end: k * 10 + 10 }]);
  });
});
