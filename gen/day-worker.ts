/**
 * The worker-thread half of parallel pageview generation (gen/generate.ts): generates whole days
 * of pageviews (gen/columns.ts pageviewBatches, with this thread's own PageviewTables) and encodes
 * each batch of `maxRows` rows with the registry codec named in workerData (its encodeColumns),
 * posting each file's bytes (transferred, not copied) to the main thread, which stores them in
 * order and writes the commit markers: a worker does no I/O. The bytes are those the main thread's
 * DataFileWriter.writeColumns would write for the same batch, so a parallel generation is
 * byte-identical to a serial one (tested).
 *
 * Protocol (DayWorkerIn / DayWorkerOut): workerData { seed, persons, maxRows, codec, days: [{ date,
 * rows }] } — days in the order the main thread consumes them; out: { type: 'file', date, rows,
 * bytes } per file, then { type: 'day', date } per finished day, or { type: 'error', code, message }
 * once. Back-pressure: at most AHEAD files posted and not yet acknowledged (in: { type: 'ack' } per
 * stored file), so memory is bounded by a few files per thread whatever --rows is.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isDagctlError } from '../core/errors.js';
import { getCodec } from '../storage/parquet/registry.js';
import { pageviewBatches, PageviewTables } from './columns.js';
import { SCHEMAS } from './kinds.js';

export interface DayWorkerData {
  seed: number;
  persons: number;
  maxRows: number;
  codec: string;
  days: { date: string; rows: number }[];
}
export type DayWorkerOut =
  | { type: 'file'; date: string; rows: number; bytes: Uint8Array }
  | { type: 'day'; date: string }
  | { type: 'error'; code: string; message: string };
export type DayWorkerIn = { type: 'ack' };

/** Files a worker may post ahead of the main thread's acknowledgements. */
export const AHEAD = 3;

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as DayWorkerData;
  let unacked = 0;
  let wake: (() => void) | null = null;
  port.on('message', (m: DayWorkerIn) => {
    if (m.type !== 'ack') return;
    unacked--;
    const w = wake;
    wake = null;
    w?.();
  });
  const post = (m: DayWorkerOut, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  try {
    const codec = getCodec(data.codec);
    const encode = codec.encodeColumns;
    if (encode === undefined) throw new Error(`codec ${data.codec} cannot write columns`);
    const tables = new PageviewTables(data.seed, data.persons);
    for (const day of data.days) {
      for (const batch of pageviewBatches({ seed: data.seed, date: day.date, rows: day.rows, persons: data.persons }, data.maxRows, tables)) {
        while (unacked >= AHEAD) await new Promise<void>((res) => (wake = res));
        // A copy of the encoder's view into its own buffer, so it can be transferred.
        const bytes = (await encode.call(codec, SCHEMAS.pageviews, batch)).slice();
        unacked++;
        post({ type: 'file', date: day.date, rows: batch.rows, bytes }, [bytes.buffer]);
      }
      post({ type: 'day', date: day.date });
    }
  } catch (e) {
    post({ type: 'error', code: isDagctlError(e) ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
  }
  port.removeAllListeners('message');
}

void main();
