/**
 * A bucket-stage instance's shuffle commit on the local filesystem: ShuffleFileWriter over B = 8
 * buckets of K KB each (16 KB and 200 KB: a propagate instance at 1M pageviews writes ~225 KB per
 * bucket), then close(). dagctl's way — the buckets' last files as sections of one object, one
 * fsync — against its peer measured in the same run, a file per bucket (what a store without
 * ranged reads gets, and what every store got before), alternated, medians of 30: wall and process
 * CPU of close(), and the time to read every bucket's bytes back (readEntry: ranged reads).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '../storage/local/store.js';
import { ShuffleFileWriter } from '../storage/shuffle/writer.js';
import { readEntry } from '../storage/dataset/read.js';
import type { ObjectStore } from '../storage/types.js';
import { median, type BenchResult } from './types.js';

/** The same local store without getRange: the writer then writes a file per bucket. */
function withoutRanges(s: LocalObjectStore): ObjectStore {
  return { rootUri: s.rootUri, list: (p) => s.list(p), listDirs: (p) => s.listDirs(p), head: (k) => s.head(k), get: (k) => s.get(k), putIfAbsent: (k, b) => s.putIfAbsent(k, b), putIfMatch: (k, b, e) => s.putIfMatch(k, b, e), delete: (k) => s.delete(k) };
}

export async function benchShuffleCommit(): Promise<BenchResult> {
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-shuffle-commit-'));
  const reps = Number(process.env.DAGCTL_BENCH_REPEAT ?? 30);
  try {
    let seed = 1;
    const chunk = (): Uint8Array => {
      const b = new Uint8Array(64 * 1024);
      for (let i = 0; i < b.length; i++) b[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
      return b;
    };
    for (const kb of [16, 200]) {
      const r = { shared: { wall: [] as number[], cpu: [] as number[], read: [] as number[] }, perBucket: { wall: [] as number[], cpu: [] as number[], read: [] as number[] } };
      for (let i = 0; i < reps; i++) {
        for (const way of i % 2 === 0 ? (['shared', 'perBucket'] as const) : (['perBucket', 'shared'] as const)) {
          const local = new LocalObjectStore(join(dir, `${kb}-${way}-${i}`));
          const store = way === 'shared' ? local : withoutRanges(local);
          const w = new ShuffleFileWriter({ store, schema: [{ name: 'edges', type: 'bytes' }], buckets: 8, folder: 'propagate/r1/', salt: `i${i}` });
          for (let b = 0; b < 8; b++) for (let n = 0; n < kb; n += 64) await w.write(b, [{ edges: chunk().subarray(0, Math.min(64, kb - n) * 1024) }]);
          const c0 = process.cpuUsage(), t0 = performance.now();
          const files = await w.close();
          r[way].wall.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          r[way].cpu.push((c.user + c.system) / 1000);
          const t1 = performance.now();
          for (const f of files) await readEntry(local, f);
          r[way].read.push(performance.now() - t1);
        }
      }
      const m = (way: 'shared' | 'perBucket', k: 'wall' | 'cpu' | 'read'): number => median(r[way][k]);
      for (const k of ['wall', 'cpu', 'read'] as const) {
        metrics[`${kb}kb.shared.${k}_ms`] = m('shared', k);
        metrics[`${kb}kb.per_bucket.${k}_ms`] = m('perBucket', k);
      }
      lines.push(`shuffle commit, 8 buckets × ${kb} KB (medians of ${reps}, alternated): close wall ${m('shared', 'wall').toFixed(1)} ms shared object vs ${m('perBucket', 'wall').toFixed(1)} ms a file per bucket (×${(m('perBucket', 'wall') / m('shared', 'wall')).toFixed(2)}), CPU ${m('shared', 'cpu').toFixed(1)} vs ${m('perBucket', 'cpu').toFixed(1)} ms (×${(m('perBucket', 'cpu') / m('shared', 'cpu')).toFixed(2)}); reading all buckets back ${m('shared', 'read').toFixed(1)} vs ${m('perBucket', 'read').toFixed(1)} ms`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { name: 'shuffle-commit', lines, metrics };
}
