/**
 * The raw-BullMQ baseline worker of bench/scheduler.ts: a plain BullMQ Worker whose processor does
 * nothing, on the given queue. Argv: REDIS_URL QUEUE CONCURRENCY. Exits on SIGTERM.
 */
import { Worker } from 'bullmq';

const [url, queue, conc] = process.argv.slice(2);
if (url === undefined || queue === undefined) throw new Error('usage: scheduler-raw-worker URL QUEUE CONCURRENCY');
const u = new URL(url);
const w = new Worker(queue, async () => undefined, {
  connection: { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null },
  concurrency: Number(conc ?? '1'),
  removeOnComplete: { count: 0 },
  drainDelay: 1,
});
w.on('error', () => {});
await w.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void w.close().then(() => process.exit(0)));
