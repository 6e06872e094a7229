/**
 * The BullMQ side of dispatch: one Queue object per dagctl queue (opened lazily), the options every
 * instance job gets, and adding jobs with deterministic ids.
 *
 * BullMQ's own retries are off (attempts: 1): dagctl's reducer owns retries and backoff. A job id
 * names one attempt (keys.jobId), so adding a job that exists is a no-op — enqueueing twice (a
 * crash between apply and enqueue, the sweeper racing a worker) duplicates nothing.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { DagctlError, errorMessage } from '../../core/errors.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import { BULL_PREFIX, jobId, queueName } from '../../scheduler/redis/keys.js';

export const JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  // A finished job is removed at once: the run state is the source of truth, and `reset` (retry)
  // numbers attempts from 1 again, so the id must be free for the new attempt 1. Safe: an attempt
  // is dispatched once (pending → queued happens once per attempt in the apply script), its report
  // is applied before its job completes, and a job re-added after that finds the attempt finished.
  removeOnComplete: true,
  // Failed jobs (the processor could not report) are kept for inspection; the sweeper removes one
  // before re-adding its attempt.
  removeOnFail: { age: 24 * 3600, count: 10_000 },
};

export interface InstanceJobSpec {
  queue: string;
  job: InstanceJob;
}

export class Queues {
  private readonly open = new Map<string, Queue>();

  /** Connection options (BullMQ opens its own) or a shared ioredis client. */
  constructor(private readonly connection: ConnectionOptions) {}

  get(queue: string): Queue {
    let q = this.open.get(queue);
    if (q === undefined) {
      q = new Queue(queueName(queue), { connection: this.connection, prefix: BULL_PREFIX, skipMetasUpdate: false });
      q.on('error', () => {});
      this.open.set(queue, q);
    }
    return q;
  }

  /** Adds the jobs (grouped per queue, one round trip per queue). Existing ids are no-ops. */
  async add(specs: readonly InstanceJobSpec[]): Promise<void> {
    const byQueue = new Map<string, InstanceJobSpec[]>();
    for (const s of specs) byQueue.set(s.queue, [...(byQueue.get(s.queue) ?? []), s]);
    try {
      await Promise.all(
        [...byQueue].map(([queue, list]) =>
          this.get(queue).addBulk(
            list.map(({ job }) => ({
              name: job.instanceId,
              data: job,
              opts: { ...JOB_OPTIONS, jobId: jobId(job.runId, job.instanceId, job.attempt) },
            })),
          ),
        ),
      );
    } catch (e) {
      throw new DagctlError('QUEUE_FAILED', `cannot enqueue ${specs.length} job(s): ${errorMessage(e)}`, {}, { cause: e });
    }
  }

  /** Redis key of a job's hash (to check, in one pipeline, which jobs exist and finished). */
  jobKey(queue: string, id: string): string {
    return this.get(queue).toKey(id);
  }

  names(): string[] {
    return [...this.open.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((q) => q.close().catch(() => undefined)));
    this.open.clear();
  }
}
