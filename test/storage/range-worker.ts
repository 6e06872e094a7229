/**
 * Worker thread for the LocalObjectStore getRange test: on a worker thread the store reads
 * synchronously (readSync), a path the main-thread conformance suite never takes. Reads each
 * [offset, length] of `key` under `dir` (workerData) and posts the bytes back, or the error's code.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LocalObjectStore } from '../../storage/local/store.js';

const { dir, key, ranges } = workerData as { dir: string; key: string; ranges: Array<[number, number]> };
const store = new LocalObjectStore(dir);
const out: Array<number[] | string> = [];
for (const [off, len] of ranges) {
  try {
    out.push([...(await store.getRange(key, off, len))]);
  } catch (e) {
    out.push(String((e as { code?: unknown }).code));
  }
}
parentPort?.postMessage(out);
