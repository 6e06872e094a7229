/**
 * noop: the built-in operator for tests and benchmarks. It reads nothing and writes nothing.
 * `sleepMs` waits (honouring the abort signal), `cpuMs` burns CPU in a tight loop (for CPU-bound
 * scaling benchmarks; it ignores the signal on purpose, to test that timeouts kill it),
 * `failTimes` fails the first N attempts and `failBucket` every attempt of that one bucket's
 * instance (one bad member among its siblings), each failing attempt logging one line first; `allocMb` holds that much live JS memory (to test heap
 * limits), and `buckets` fans the task out to that many instances.
 *
 * `barrier` (tests only) holds attempts at a barrier the test controls, so a fault is injected while
 * work is provably in flight instead of hoping a run is still going: a held attempt announces itself
 * by creating `<barrier>/arrived/<pid>.b<bucket>.a<attempt>.<random>` (pid of the process running it,
 * so a test knows which worker to kill), then waits until `<barrier>/open` exists, honouring its
 * abort signal (cancel, timeout). `barrierEvery: N` holds only buckets b with b % N === N - 1 (the
 * others pass at once), so a bundle's first members finish before one is held.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DagctlError } from '../core/errors.js';
import type { OperatorDef, StageSpec } from './types.js';

const NoopParams = z
  .object({
    sleepMs: z.number().int().min(0).default(0),
    cpuMs: z.number().int().min(0).default(0),
    failTimes: z.number().int().min(0).default(0),
    allocMb: z.number().int().min(0).max(65_536).default(0),
    buckets: z.number().int().min(1).max(1_000_000).optional(),
    failBucket: z.number().int().min(0).optional(),
    barrier: z.string().min(1).optional(),
    barrierEvery: z.number().int().min(1).optional(),
    /** Run on a worker thread even when trivial (benchmarks comparing thread-bound operators). */
    onThread: z.boolean().default(false),
  })
  .strict();
type NoopParams = z.infer<typeof NoopParams>;

export const noop: OperatorDef<NoopParams> = {
  name: 'noop',
  version: '1',
  summary: 'Does nothing (sleeps, burns CPU or fails on request): for tests and benchmarks.',
  params: NoopParams,
  cost: { overheadMs: 1, perUnitMs: 0, driver: 'rows' },
  inputs: { min: 0, max: 16 },
  outputs: { min: 0, max: 0 },
  stages(p): StageSpec[] {
    return [{ name: 'main', fanout: p.buckets !== undefined ? 'bucket' : 'partition' }];
  },
  inline(p) {
    return p.cpuMs === 0 && p.allocMb === 0 && !p.onThread;
  },
  async run(ctx) {
    if (ctx.params.failBucket !== undefined && ctx.bucket === ctx.params.failBucket) {
      ctx.log(`noop: attempt ${ctx.attempt} of bucket ${ctx.bucket} fails (failBucket)`, { attempt: ctx.attempt });
      throw new DagctlError('TASK_FAILED', `noop: bucket ${ctx.bucket} always fails (failBucket)`);
    }
    if (ctx.attempt <= ctx.params.failTimes) {
      ctx.log(`noop: attempt ${ctx.attempt} fails on purpose (failTimes ${ctx.params.failTimes})`, { attempt: ctx.attempt });
      throw new DagctlError('TASK_FAILED', `noop: failing attempt ${ctx.attempt} of ${ctx.params.failTimes} on purpose`);
    }
    if (ctx.params.allocMb > 0) {
      // Live objects (not one big buffer, which would live outside the V8 heap).
      const held: number[][] = [];
      for (let mb = 0; mb < ctx.params.allocMb; mb++) held.push(Array.from({ length: 131_072 }, (_, i) => i + mb));
      if (held.length < 0) ctx.log('unreachable');
    }
    if (ctx.params.cpuMs > 0) {
      const end = performance.now() + ctx.params.cpuMs;
      let x = 0;
      while (performance.now() < end) for (let i = 0; i < 10_000; i++) x = (x * 31 + i) | 0;
      if (x === 42) ctx.log('unlikely');
    }
    if (ctx.params.barrier !== undefined && (ctx.bucket < 0 || ctx.bucket % (ctx.params.barrierEvery ?? 1) === (ctx.params.barrierEvery ?? 1) - 1)) {
      await holdAtBarrier(ctx.params.barrier, `${process.pid}.b${ctx.bucket}.a${ctx.attempt}.${randomBytes(4).toString('hex')}`, ctx.signal);
    }
    if (ctx.params.sleepMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ctx.params.sleepMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new DagctlError('TASK_CANCELLED', 'noop: aborted'));
        }, { once: true });
      });
    }
    return { metrics: {} };
  },
};

/** Announces the attempt under `<dir>/arrived/`, then waits for `<dir>/open` (or the abort signal). */
async function holdAtBarrier(dir: string, name: string, signal: AbortSignal): Promise<void> {
  mkdirSync(join(dir, 'arrived'), { recursive: true });
  writeFileSync(join(dir, 'arrived', name), '');
  const open = join(dir, 'open');
  while (!existsSync(open)) {
    if (signal.aborted) throw new DagctlError('TASK_CANCELLED', 'noop: aborted at the barrier');
    await new Promise((r) => setTimeout(r, 10));
  }
}
