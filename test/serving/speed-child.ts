/**
 * Child process for the speed layer's crash test: runs startSpeed (serving/speed/service.ts) as its
 * own process so the test can SIGKILL it, and holds every micro-batch right after Redis applied it
 * (before the advisory offset commit) at the test's barrier (test/helpers/barrier.ts protocol:
 * an arrival file `<pid>.b<n>.a1.applied` under `<dir>/arrived/`, then wait for `<dir>/open`).
 *
 *   node dist/test/serving/speed-child.js <brokers> <topic> <group> <redisUrl> <viewUri> <barrierDir>
 * Preconditions: built (dist/), a reachable broker and Redis, a published view at viewUri.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectRedis } from '../../scheduler/redis/connection.js';
import { startSpeed } from '../../serving/speed/service.js';
import { currentVersion } from '../../serving/view.js';
import { openObjectStore } from '../../storage/open.js';

const [brokers, topic, group, redisUrl, viewUri, barrier] = process.argv.slice(2) as [string, string, string, string, string, string];
const redis = await connectRedis(redisUrl, 'worker');
const viewStore = await openObjectStore(viewUri);
const view = (await currentVersion(viewStore))!.dataset;
mkdirSync(join(barrier, 'arrived'), { recursive: true });
const h = await startSpeed({
  brokers: brokers.split(','), topic, groupId: group, redis, view, viewStore, pollMs: 200, ttlSeconds: 10 * 365 * 86_400,
  onStep: async (step, b) => {
    if (step !== 'applied') return;
    writeFileSync(join(barrier, 'arrived', `${process.pid}.b${b.n}.a1.applied`), '');
    while (!existsSync(join(barrier, 'open'))) await new Promise((r) => setTimeout(r, 20));
  },
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
await h.done;
